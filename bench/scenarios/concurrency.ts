/**
 * Concurrency: how many simultaneous live streams one server (local profile, the real pool, all of this
 * machine's cores) converts in real time, and what happens past that. Levels of 1, 2, 3, … streams, each
 * for `seconds`, until one falls behind, then `past` more levels beyond it: a level is held when every
 * chunk is ready and the p95 cut → ready stays under two chunk lengths. For every level: the latency, the
 * pool's queue at its longest (bounded: past capacity the backlog must stop at the bound, not grow without
 * limit), chunks that failed or never became ready, and how fast the server still answered a playlist
 * GET meanwhile (the control plane must keep serving while conversion is overloaded).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { LiveServer } from '../live-streams.ts';
import { until } from '../probe.ts';
import { generateChunks } from '../media.ts';
import { quantiles, type Quantiles } from '../quantiles.ts';

export interface ConcurrencyOptions {
  seconds: number;
  chunkSeconds: number;
  width: number;
  height: number;
  maxStreams: number;
  /** Levels run past the first one lost. */
  past: number;
}

export interface ConcurrencyLevel {
  streams: number;
  held: boolean;
  /** Chunk cut → segment ready (ms). */
  latencyMs: Quantiles;
  /** The pool's queue at its longest during the level. */
  maxQueue: number;
  missing: number;
  failed: number;
  /** A playlist GET during the level (ms). */
  playlistMs: Quantiles;
}

export interface ConcurrencyResult {
  size: string;
  chunkSeconds: number;
  workers: number;
  /** The most streams held in real time. */
  capacity: number;
  levels: ConcurrencyLevel[];
}

export function defaultConcurrencyOptions(): ConcurrencyOptions {
  return { seconds: 30, chunkSeconds: 2, width: 640, height: 360, maxStreams: 16, past: 1 };
}

export async function runConcurrency(options: ConcurrencyOptions, log: (line: string) => void): Promise<ConcurrencyResult> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-bench-concurrency-'));
  let server: LiveServer | undefined;
  try {
    const perStream = Math.ceil(options.seconds / options.chunkSeconds);
    const chunks = await generateChunks({
      width: options.width,
      height: options.height,
      fps: 30,
      chunks: perStream,
      chunkSeconds: options.chunkSeconds,
    });
    server = await LiveServer.start(dir, { CHUNK_SECONDS: String(options.chunkSeconds) });
    const live = server;
    const workers = (await live.metrics()).get('stereospot_pool_threads') ?? NaN;
    log(
      `${options.width}×${options.height}@30 streams in ${options.chunkSeconds}-s chunks, ${options.seconds} s per level; ${workers} pool worker(s), ${os.cpus().length} CPU(s)`,
    );
    const levels: ConcurrencyLevel[] = [];
    let capacity = 0;
    let lostAt: number | null = null;
    for (let streams = 1; streams <= options.maxStreams; streams++) {
      if (lostAt !== null && streams > lostAt + options.past) break;
      const sessions = await live.createSessions(streams);
      const start = Date.now() + 500;
      let maxQueue = 0;
      const playlist: number[] = [];
      let sampling = true;
      const sampler = (async () => {
        while (sampling) {
          maxQueue = Math.max(maxQueue, (await live.metrics()).get('stereospot_pool_queue_size') ?? 0);
          const t0 = performance.now();
          await (await fetch(sessions[0]!.playlist_url)).text();
          playlist.push(performance.now() - t0);
          await new Promise((r) => setTimeout(r, 500));
        }
      })();
      const cuts = await live.stream(sessions, chunks, perStream, options.chunkSeconds, start);
      const missing = await live.settle(cuts, Math.max(10_000, 2 * options.seconds * 1000));
      sampling = false;
      await sampler;
      let failed = 0;
      for (const s of sessions)
        failed += ((await (await fetch(`${live.url}/stream_sessions/${s.session_id}`)).json()) as { failed: number }).failed;
      await live.end(sessions);
      const latencyMs = quantiles(live.latencies(cuts));
      const held = missing === 0 && failed === 0 && latencyMs.p95 <= 2 * options.chunkSeconds * 1000;
      const level: ConcurrencyLevel = { streams, held, latencyMs, maxQueue, missing, failed, playlistMs: quantiles(playlist) };
      levels.push(level);
      log(
        `${streams} stream(s): cut → ready p50 ${(latencyMs.p50 / 1000).toFixed(2)} s, p95 ${(latencyMs.p95 / 1000).toFixed(2)} s, max ${(latencyMs.max / 1000).toFixed(2)} s; ` +
          `pool queue ≤ ${maxQueue}; ${missing} never ready, ${failed} failed; playlist GET p95 ${level.playlistMs.p95.toFixed(1)} ms → ${held ? 'held' : 'falls behind'}`,
      );
      if (held && lostAt === null) capacity = streams;
      if (!held && lostAt === null) lostAt = streams;
      // The backlog drains before the next level.
      await until(
        async () =>
          ((await live.metrics()).get('stereospot_pool_queue_size') ?? 0) === 0 &&
          ((await live.metrics()).get('stereospot_sessions_live') ?? 0) === 0,
        'the previous level to drain',
        300_000,
      );
    }
    return { size: `${options.width}x${options.height}`, chunkSeconds: options.chunkSeconds, workers, capacity, levels };
  } finally {
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  }
}
