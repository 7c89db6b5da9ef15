/**
 * Live latency, as a viewer experiences it: the server (local profile, real pool) and the capture
 * client streaming the test source in real time. Per chunk: cut → segment ready (processing latency),
 * and the age of the newest frame when its segment becomes available (glass-to-playlist latency,
 * before any player buffering).
 */
import { Writable } from 'node:stream';
import { CaptureRunner } from '../../capture-client/runner.ts';
import { parseOptions, type CaptureOptions } from '../../capture-client/options.ts';
import { startBenchServer } from '../../testkit/server.ts';
import { Cleanups } from '../../testkit/teardown.ts';
import { quantiles, type Quantiles } from '../quantiles.ts';

export interface LatencyOptions {
  seconds: number;
  chunkSeconds: number;
  size: string;
}

export interface LatencyResult {
  chunks: number;
  processingMs: Quantiles;
  glassToPlaylistMs: Quantiles;
}

export async function runLatency(options: LatencyOptions, log: (line: string) => void): Promise<LatencyResult> {
  const cleanups = new Cleanups();
  const server = await startBenchServer(cleanups);
  try {
    const events: Array<{ at: number; event: Record<string, unknown> }> = [];
    const stdout = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) events.push({ at: Date.now(), event: JSON.parse(line) });
        done();
      },
    });
    const capture = parseOptions([
      '--server',
      server.url,
      '--source',
      'test',
      '--size',
      options.size,
      '--duration',
      String(options.seconds),
      '--chunk-seconds',
      String(options.chunkSeconds),
      '--json',
      '--quiet',
    ]) as CaptureOptions;
    log(`streaming ${options.seconds} s of ${options.size} test source in ${options.chunkSeconds}-s chunks, in real time…`);
    const started = Date.now();
    await new CaptureRunner(capture, { stdout, stderr: process.stderr }).run();
    const processing: number[] = [];
    const glass: number[] = [];
    for (const { at, event } of events) {
      if (event.event !== 'segment') continue;
      const index = Number(event.index);
      if (typeof event.latency_ms === 'number') processing.push(event.latency_ms);
      // The chunk's newest frame was captured at ≈ start + (index + 1) · N.
      glass.push(at - (started + (index + 1) * options.chunkSeconds * 1000));
    }
    return { chunks: processing.length, processingMs: quantiles(processing), glassToPlaylistMs: quantiles(glass) };
  } finally {
    await cleanups.run();
  }
}
