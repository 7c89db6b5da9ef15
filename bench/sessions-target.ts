/**
 * The process the `sessions` benchmark measures (run with --expose-gc so memory is read after a full
 * collection): our server (local profile; conversions replaced by an instant stand-in) given `--count`
 * sessions through its HTTP API. Prints one JSON line: the create rate, memory per idle session, memory
 * per active session (`--active` of them given `--chunks` ready segments each), the session list's latency
 * at `?limit=100`, and how long a restarted server takes to start over that folder (it reads every record
 * once). Clients run in this process too, so nothing they hold is counted: the memory figures are read
 * only after their requests have finished.
 */
import { BENCH_LIMITS } from './limits.ts';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { CreateSessionResponse } from '../protocol/messages.ts';
import { loadConfig } from '../server/config.ts';
import { createLogger, memorySink } from '../server/log.ts';
import { startServer } from '../server/server.ts';
import { FakePool } from '../testkit/fake-pool.ts';
import { giveSegments } from './fake-segments.ts';
import { quantiles, type Quantiles } from './quantiles.ts';

export interface SessionsMeasurement {
  count: number;
  createPerSecond: number;
  /** Heap and resident memory per idle session (bytes). */
  idle: { heapBytes: number; rssBytes: number };
  active: { sessions: number; chunks: number; heapBytes: number; rssBytes: number };
  /** GET /stream_sessions?limit=100 (ms). */
  listMs: Quantiles;
  /** A new server over the same folder: start to listening (ms), and its first listing. */
  restartMs: number;
  listAfterRestartMs: number;
}

const { values } = parseArgs({
  options: {
    count: { type: 'string', default: '1000' },
    active: { type: 'string', default: '100' },
    chunks: { type: 'string', default: '5' },
  },
});
const count = Number(values.count);
const activeCount = Math.min(count, Number(values.active));
const chunks = Number(values.chunks);
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with --expose-gc');

const dataDir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-bench-sessions-'));
const server = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', ...BENCH_LIMITS, DATA_DIR: dataDir }), {
  log: createLogger('server', memorySink('warn')),
  pool: new FakePool(2),
});

function memory(): { heap: number; rss: number } {
  gc!();
  gc!();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

const before = memory();
const created: CreateSessionResponse[] = [];
const t0 = performance.now();
const CONCURRENCY = 16;
let started = 0;
await Promise.all(
  Array.from({ length: CONCURRENCY }, async () => {
    while (started++ < count) {
      const answer = await fetch(`${server.url}/stream_sessions`, { method: 'POST', body: '{}' });
      if (!answer.ok) throw new Error(`create: ${answer.status} ${await answer.text()}`);
      created.push((await answer.json()) as CreateSessionResponse);
    }
  }),
);
const createPerSecond = created.length / ((performance.now() - t0) / 1000);
// Only the sessions made active are kept client-side: the rest would count as the server's memory.
created.length = activeCount;
const idle = memory();

// Active: ready segments.
for (const session of created) await giveSegments(server.url, session, chunks);
const active = memory();

const timeList = async (url: string) => {
  const t = performance.now();
  const answer = await fetch(`${url}/stream_sessions?limit=100`);
  if (!answer.ok) throw new Error(`list: ${answer.status}`);
  await answer.arrayBuffer();
  return performance.now() - t;
};
const warm: number[] = [];
for (let i = 0; i < 20; i++) warm.push(await timeList(server.url));
await server.close();

const t1 = performance.now();
const restarted = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', ...BENCH_LIMITS, DATA_DIR: dataDir }), {
  log: createLogger('server', memorySink('warn')),
  pool: new FakePool(2),
});
const restartMs = performance.now() - t1;
const listAfterRestartMs = await timeList(restarted.url);
await restarted.close();

const result: SessionsMeasurement = {
  count,
  createPerSecond: Math.round(createPerSecond),
  idle: { heapBytes: Math.round((idle.heap - before.heap) / count), rssBytes: Math.round((idle.rss - before.rss) / count) },
  active: {
    sessions: activeCount,
    chunks,
    heapBytes: Math.round((active.heap - idle.heap) / Math.max(1, activeCount)),
    rssBytes: Math.round((active.rss - idle.rss) / Math.max(1, activeCount)),
  },
  listMs: quantiles(warm),
  restartMs,
  listAfterRestartMs,
};
process.stdout.write(JSON.stringify(result) + '\n');
await rm(dataDir, { recursive: true, force: true });
