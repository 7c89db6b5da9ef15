/** The actor's chunk work: a stopped job finishes the segment write it began, and close waits for it. */
import t from 'tap';
import { createActor } from 'xstate';
import type { ChunkResult } from '../../gpu-pool/types.ts';
import type { ObjectStore } from '../adapters/ports.ts';
import { InitSegments } from '../init-segments.ts';
import { createLogger, memorySink } from '../log.ts';
import { chunkJob } from '../sessions/chunk-job.ts';

t.test('a job stopped during its segment write completes it, and drain waits until it has', async (t) => {
  const written: string[] = [];
  let releaseWrite!: () => void;
  let writeStarted!: () => void;
  const started = new Promise<void>((resolve) => (writeStarted = resolve));
  const gate = new Promise<void>((resolve) => (releaseWrite = resolve));
  const objects = {
    get: async (key: string) => (key.includes('chunk_') ? new Uint8Array([1, 2, 3]) : undefined),
    head: async () => undefined,
    put: async (key: string) => {
      if (key.includes('seg_')) {
        writeStarted();
        await gate;
      }
      written.push(key);
    },
  } as unknown as ObjectStore;
  const result = {
    init: new Uint8Array([9]),
    media: new Uint8Array([8]),
    codecs: 'avc1.42C01E',
    start: 0,
    duration: 0.5,
    origin: null,
    frames: 15,
    fps: 30,
    width: 64,
    height: 16,
    hasAudio: false,
    warmedUp: false,
    depthCarried: false,
    depthRuns: 15,
    depthInterval: 1,
    warmUpRuns: 0,
    timings: { decode: 1, depth: 1, stereo: 1, encode: 1, total: 4 },
  } satisfies ChunkResult;
  const jobs = chunkJob({
    config: { depthWarmupFrames: 0, outputHeight: 16 },
    objects,
    pool: { run: async () => result },
    inits: new InitSegments(objects),
    log: createLogger('test', memorySink('error')),
    uploadedAt: () => undefined,
  });
  const actor = createActor(jobs.logic, {
    input: { sessionId: 's1', mode: 'sbs', settings: { strength: 0.03, convergence: 0 }, index: 0, attempt: 1 },
  });
  actor.start();
  await started;
  actor.stop(); // the session closes: the job is aborted while its segment is being written
  let drained = false;
  const draining = jobs.drain().then(() => (drained = true));
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.notOk(drained, 'drain waits while the write is in progress');
  releaseWrite();
  await draining;
  t.ok(
    written.some((key) => key.endsWith('seg_00000.m4s')),
    'the write it began completed before drain resolved',
  );
  // With nothing running, drain resolves at once; a job that never ends does not hang it past its limit.
  await jobs.drain();
  const stuck = chunkJob({
    config: { depthWarmupFrames: 0, outputHeight: 16 },
    objects,
    inits: new InitSegments(objects),
    log: createLogger('test', memorySink('error')),
    pool: { run: () => new Promise<ChunkResult>(() => {}) },
    uploadedAt: () => undefined,
  });
  createActor(stuck.logic, { input: { sessionId: 's2', mode: 'sbs', settings: { strength: 0.03, convergence: 0 }, index: 0, attempt: 1 } })
    .start()
    .stop();
  const before = Date.now();
  await stuck.drain(100);
  t.ok(Date.now() - before < 2000, 'a pool that ignores its abort cannot hang a shutdown');
});
