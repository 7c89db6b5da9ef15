/**
 * Soak: N live streams for M minutes through one server process (local profile, the real pool), its
 * memory sampled from /metrics all along, and two heap snapshots (after the warm-up and at the end, each
 * written by the server after a full GC on SIGUSR2) compared kind by kind — so a rise in memory is
 * either explained (what grew, per chunk converted) or shown flat.
 *
 * Each stream uploads a chunk every chunk length, in real time, as the capture client does; the chunks
 * are `distinct` generated ones used in turn (each pass starts the media's clock again: the playlist
 * gets a discontinuity per pass, as for a restarted recorder). A chunk's latency runs from its cut to the
 * dashboard socket reporting its segment ready; the first and last fifth of the run are compared, so a
 * server that slows down over time shows it.
 */
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { heapGrowth, summarizeHeap } from '../heap-summary.ts';
import { LiveServer } from '../live-streams.ts';
import { until } from '../probe.ts';
import { generateChunks } from '../media.ts';
import { quantiles, type Quantiles } from '../quantiles.ts';

export interface SoakOptions {
  streams: number;
  minutes: number;
  chunkSeconds: number;
  width: number;
  height: number;
  /** Generated chunks, used in turn. */
  distinct: number;
  /** Seconds between memory samples. */
  sampleSeconds: number;
  /**
   * Heap snapshots after the warm-up and at the end. Writing one costs memory of its own (≈ 70–90 MiB
   * that glibc keeps) and V8's profiler keeps tracking object ids afterwards, so a run without them shows
   * RSS untouched by either.
   */
  heapSnapshots: boolean;
}

export interface MemorySample {
  /** Seconds since the streams started. */
  t: number;
  rssBytes: number;
  heapUsedBytes: number;
  externalBytes: number;
  /** The GPU pool's worker threads' own V8 heaps, summed (the process's heap figures are the main thread's). */
  workerHeapBytes: number;
  poolQueue: number;
}

export interface SoakResult {
  streams: number;
  minutes: number;
  size: string;
  chunks: { sent: number; ready: number; missing: number };
  /** Cut → ready, the first and the last fifth of the run. */
  latencyFirstMs: Quantiles;
  latencyLastMs: Quantiles;
  samples: MemorySample[];
  /** Least-squares slope after the warm-up (from the first sample after its heap snapshot), MiB per 10 minutes. */
  rssSlopeMiBPer10Min: number;
  heapSlopeMiBPer10Min: number;
  workerHeapSlopeMiBPer10Min: number;
  /** Live heap (after a full GC) at the two snapshots, and the kinds that grew most between them. */
  snapshots: {
    warmBytes: number;
    endBytes: number;
    chunksBetween: number;
    bytesPerChunk: number;
    grew: Array<{ kind: string; bytes: number; count: number }>;
  } | null;
}

const MiB = 1024 * 1024;

export function defaultSoakOptions(): SoakOptions {
  return { streams: 3, minutes: 30, chunkSeconds: 2, width: 640, height: 360, distinct: 30, sampleSeconds: 10, heapSnapshots: true };
}

/** Least-squares slope of y over t (per second). */
function slope(points: Array<{ t: number; y: number }>): number {
  if (points.length < 2) return 0;
  const n = points.length;
  const mt = points.reduce((s, p) => s + p.t, 0) / n;
  const my = points.reduce((s, p) => s + p.y, 0) / n;
  const num = points.reduce((s, p) => s + (p.t - mt) * (p.y - my), 0);
  const den = points.reduce((s, p) => s + (p.t - mt) ** 2, 0);
  return den === 0 ? 0 : num / den;
}

export async function runSoak(options: SoakOptions, log: (line: string) => void): Promise<SoakResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-bench-soak-'));
  const snapshots = path.join(dir, 'snapshots');
  await mkdir(snapshots);
  let server: LiveServer | undefined;
  try {
    const chunks = await generateChunks({
      width: options.width,
      height: options.height,
      fps: 30,
      chunks: options.distinct,
      chunkSeconds: options.chunkSeconds,
    });
    const nodeArgs = options.heapSnapshots ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshots}`] : [];
    server = await LiveServer.start(dir, { CHUNK_SECONDS: String(options.chunkSeconds) }, nodeArgs);
    const live = server;
    const sessions = await live.createSessions(options.streams);
    const perStream = Math.floor((options.minutes * 60) / options.chunkSeconds);
    log(
      `${options.streams} stream(s) of ${options.width}×${options.height}@30 in ${options.chunkSeconds}-s chunks for ${options.minutes} min (${perStream} chunks each); memory every ${options.sampleSeconds} s`,
    );

    const start = Date.now() + 500;
    const total = options.minutes * 60 * 1000;
    const warmUp = total / 5;
    const samples: MemorySample[] = [];
    let snapshotWarm: string | null = null;
    let readyAtWarm = 0;
    /** When the warm-up snapshot was written (s): writing it takes memory of its own, which the slope must not count. */
    let snapshotDoneAt = Infinity;
    let stopSampling = false;
    const sampler = (async () => {
      let next = start;
      while (!stopSampling) {
        await new Promise((r) => setTimeout(r, Math.max(0, next - Date.now())));
        next += options.sampleSeconds * 1000;
        const m = await live.metrics();
        const sample: MemorySample = {
          t: (Date.now() - start) / 1000,
          rssBytes: m.get('process_resident_memory_bytes') ?? NaN,
          heapUsedBytes: m.get('nodejs_heap_size_used_bytes') ?? NaN,
          externalBytes: m.get('nodejs_external_memory_bytes') ?? NaN,
          workerHeapBytes: m.get('stereospot_pool_worker_heap_used_bytes') ?? NaN,
          poolQueue: m.get('stereospot_pool_queue_size') ?? NaN,
        };
        samples.push(sample);
        if (samples.length % Math.max(1, Math.round(60 / options.sampleSeconds)) === 0) {
          log(
            `${Math.round(sample.t)} s: RSS ${(sample.rssBytes / MiB).toFixed(0)} MiB, heap ${(sample.heapUsedBytes / MiB).toFixed(0)} MiB, workers' heaps ${(sample.workerHeapBytes / MiB).toFixed(0)} MiB, pool queue ${sample.poolQueue}, ready ${live.readyAt.size}`,
          );
        }
        if (snapshotDoneAt === Infinity && Date.now() - start >= warmUp) {
          readyAtWarm = live.readyAt.size;
          if (options.heapSnapshots) snapshotWarm = await heapSnapshot(live.pid, snapshots, live.url);
          snapshotDoneAt = (Date.now() - start) / 1000;
        }
      }
    })();

    const cuts = await live.stream(sessions, chunks, perStream, options.chunkSeconds, start);
    const missing = await live.settle(cuts, 30_000);
    stopSampling = true;
    await sampler;
    const readyAtEnd = live.readyAt.size;
    // Summarized only now: reading a snapshot takes this process's attention for a while, which must not delay an upload.
    const snapshotEnd = options.heapSnapshots ? await summarizeHeap(await heapSnapshot(live.pid, snapshots, live.url)) : null;
    const warm = snapshotWarm ? await summarizeHeap(snapshotWarm) : null;

    const afterWarmUp = samples.filter((x) => x.t > snapshotDoneAt);
    const perTenMinutes = (key: 'rssBytes' | 'heapUsedBytes' | 'workerHeapBytes') =>
      (slope(afterWarmUp.map((x) => ({ t: x.t, y: x[key] }))) * 600) / MiB;
    const result: SoakResult = {
      streams: options.streams,
      minutes: options.minutes,
      size: `${options.width}x${options.height}`,
      chunks: { sent: cuts.size, ready: cuts.size - missing, missing },
      latencyFirstMs: quantiles(live.latencies(cuts, start, start + total / 5)),
      latencyLastMs: quantiles(live.latencies(cuts, start + (4 * total) / 5)),
      samples,
      rssSlopeMiBPer10Min: perTenMinutes('rssBytes'),
      heapSlopeMiBPer10Min: perTenMinutes('heapUsedBytes'),
      workerHeapSlopeMiBPer10Min: perTenMinutes('workerHeapBytes'),
      snapshots:
        warm && snapshotEnd
          ? {
              warmBytes: warm.totalBytes,
              endBytes: snapshotEnd.totalBytes,
              chunksBetween: readyAtEnd - readyAtWarm,
              bytesPerChunk: (snapshotEnd.totalBytes - warm.totalBytes) / Math.max(1, readyAtEnd - readyAtWarm),
              grew: heapGrowth(warm, snapshotEnd),
            }
          : null,
    };
    await live.end(sessions);
    const f = (q: Quantiles) => `p50 ${(q.p50 / 1000).toFixed(2)} s, p95 ${(q.p95 / 1000).toFixed(2)} s`;
    log(
      `chunks: ${result.chunks.ready}/${result.chunks.sent} ready${result.chunks.missing ? `, ${result.chunks.missing} missing` : ''}; cut → ready first fifth ${f(result.latencyFirstMs)}, last fifth ${f(result.latencyLastMs)}`,
    );
    log(
      `after the warm-up: RSS ${result.rssSlopeMiBPer10Min.toFixed(1)} MiB per 10 min, heap ${result.heapSlopeMiBPer10Min.toFixed(1)}, workers' heaps ${result.workerHeapSlopeMiBPer10Min.toFixed(1)} MiB per 10 min`,
    );
    if (result.snapshots) {
      const k = result.snapshots;
      log(
        `live heap ${(k.warmBytes / MiB).toFixed(1)} → ${(k.endBytes / MiB).toFixed(1)} MiB over ${k.chunksBetween} chunks: ${(k.bytesPerChunk / 1024).toFixed(1)} KiB per chunk; grew most:`,
      );
      for (const g of k.grew.slice(0, 8)) log(`  ${g.kind}: ${(g.bytes / 1024).toFixed(0)} KiB, ${g.count >= 0 ? '+' : ''}${g.count}`);
    }
    return result;
  } finally {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * Asks the server for a heap snapshot (it collects garbage first); resolves with its file. The server
 * writes it on its main thread: once the file is there, a request answered means the writing is done.
 */
async function heapSnapshot(pid: number, dir: string, url: string): Promise<string> {
  const before = new Set(await readdir(dir));
  process.kill(pid, 'SIGUSR2');
  let file: string | undefined;
  await until(
    async () => {
      file = (await readdir(dir)).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
      return file !== undefined;
    },
    'the heap snapshot',
    120_000,
  );
  await until(async () => (await fetch(`${url}/healthz`)).ok, 'the server after its heap snapshot', 120_000);
  return path.join(dir, file!);
}
