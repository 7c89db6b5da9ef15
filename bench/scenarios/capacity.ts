/**
 * Capacity: how many live streams a cluster of N nodes converts in real time, for N = 1, 2, ….
 * Each node is a real server process (PROFILE=aws on the tests' protocol emulators, a real
 * redis-server as the bus) with one pool worker, pinned to a CPU core of its own with `taskset` and held
 * to the same CPU budget in every run (a cgroup quota, default 0.6 of a core) — one node stands for one
 * box, and the harness (emulators, uploads, the dashboard socket) runs on what the nodes leave, so a
 * bigger cluster does not pay for the harness out of its nodes' time. Streams are added one level at a
 * time: S sessions are created through the nodes in turn (as a load balancer spreads requests; placement decides where each runs), and each gets a
 * chunk of the test pattern every chunk length, uploaded to S3 as the capture client does. A chunk's
 * latency runs from the moment its last frame would have been captured (its cut) to the moment the
 * dashboard socket reports its segment ready. A level is held when every chunk is ready and the p95
 * latency stays under two chunk lengths (a cluster that falls behind piles up a backlog: its latency
 * grows chunk after chunk). Levels double until one falls behind, then bisect: the capacity is the
 * largest level held below the smallest one lost.
 */
import { BENCH_LIMITS } from '../limits.ts';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { chunkKey } from '../../protocol/keys.ts';
import { INPUT_BUCKET, startAwsEmulators } from '../../testkit/aws.ts';
import { freePort } from '../../testkit/node-process.ts';
import { startRedis } from '../../testkit/redis.ts';
import { Cleanups } from '../../testkit/teardown.ts';
import { CpuBudget } from '../cpu-budget.ts';
import { generateChunks } from '../media.ts';
import { followReadiness } from '../live-streams.ts';
import { readMetrics, until } from '../probe.ts';
import { quantiles } from '../quantiles.ts';

export interface CapacityOptions {
  /** Cluster sizes to measure, e.g. [1, 2]. */
  nodes: number[];
  /** Seconds of stream per level. */
  seconds: number;
  chunkSeconds: number;
  width: number;
  height: number;
  /** The largest level tried. */
  maxStreams: number;
  /** Each node's CPU budget in cores (a cgroup quota; where cgroups are not writable, pinning only). */
  cpusPerNode: number;
}

export interface CapacityLevel {
  streams: number;
  held: boolean;
  /** Chunk cut → segment ready (ms). */
  p50: number;
  p95: number;
  max: number;
  /** Chunks that never became ready before the deadline. */
  missing: number;
  /** Sessions each node ran, by node id. */
  placement: Record<string, number>;
  /** The harness's own CPU use during the level (emulators, uploads, sockets), in cores. */
  harnessCpus: number;
}

export interface CapacityRow {
  nodes: number;
  capacity: number;
  /** How each node's CPU was bounded. */
  budget: string;
  levels: CapacityLevel[];
}

const root = fileURLToPath(new URL('../..', import.meta.url));

export function defaultCapacityOptions(): CapacityOptions {
  return { nodes: [1, 2], seconds: 20, chunkSeconds: 1, width: 320, height: 180, maxStreams: 32, cpusPerNode: 0.6 };
}

export async function runCapacity(options: CapacityOptions, log: (line: string) => void): Promise<CapacityRow[]> {
  const cores = os.cpus().length;
  const pin = existsSync('/usr/bin/taskset');
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-bench-capacity-'));
  try {
    const count = Math.ceil(options.seconds / options.chunkSeconds);
    const chunks = await generateChunks({
      width: options.width,
      height: options.height,
      fps: 30,
      chunks: count,
      chunkSeconds: options.chunkSeconds,
    });
    log(
      `${count} × ${options.chunkSeconds}-s chunks of ${options.width}×${options.height}@30 per stream; ${cores} CPU(s); ${pin ? 'each node pinned to a core of its own' : 'taskset missing: nodes not pinned'}`,
    );
    const rows: CapacityRow[] = [];
    for (const n of options.nodes) {
      if (pin && n > cores) throw new Error(`${n} nodes need ${n} cores to pin one node per core; this machine has ${cores}`);
      const cleanups = new Cleanups();
      try {
        const cluster = await startCluster(n, pin, options.cpusPerNode, dir, cleanups);
        log(`${n} node(s): ${cluster.budget}`);
        const levels: CapacityLevel[] = [];
        // Doubling until a level falls behind, then bisection between the last level held and the first lost.
        let held = 0;
        let lost = options.maxStreams + 1;
        let streams = 1;
        while (streams > held && streams < lost) {
          const level = await runLevel(cluster, streams, chunks, options);
          levels.push(level);
          const where = Object.entries(level.placement)
            .map(([node, k]) => `${node}: ${k}`)
            .join(', ');
          log(
            `${n} node(s), ${streams} stream(s): p50 ${(level.p50 / 1000).toFixed(2)} s, p95 ${(level.p95 / 1000).toFixed(2)} s, max ${(level.max / 1000).toFixed(2)} s` +
              `${level.missing ? `, ${level.missing} chunk(s) never ready` : ''} [${where}; harness ${level.harnessCpus.toFixed(2)} CPU] → ${level.held ? 'held' : 'falls behind'}`,
          );
          if (level.held) held = streams;
          else lost = streams;
          streams = lost > options.maxStreams ? Math.min(2 * held, options.maxStreams) : Math.floor((held + lost) / 2);
          // Let the ended sessions leave every node's announced load (and any backlog drain) before the next level.
          await until(
            async () => (await Promise.all(cluster.urls.map((url) => metric(url, 'stereospot_sessions_running')))).every((k) => k === 0),
            'the previous level to end',
            180_000,
          );
          await new Promise((r) => setTimeout(r, 1500));
        }
        rows.push({ nodes: n, budget: cluster.budget, capacity: held, levels });
      } finally {
        await cleanups.run();
      }
    }
    return rows;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Cluster {
  urls: string[];
  aws: Awaited<ReturnType<typeof startAwsEmulators>>;
  budget: string;
}

async function startCluster(n: number, pin: boolean, cpus: number, dir: string, cleanups: Cleanups): Promise<Cluster> {
  const aws = await startAwsEmulators(cleanups);
  const redis = await startRedis(cleanups);
  const urls: string[] = [];
  let budgeted = 0;
  for (let i = 0; i < n; i++) {
    const port = await freePort();
    const env = {
      ...process.env,
      ...aws.env,
      ...BENCH_LIMITS,
      REDIS_URL: redis,
      NODE_ID: `node-${i + 1}`,
      PORT: String(port),
      HOST: '127.0.0.1',
      GPU_POOL_WORKERS: '1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      LOG_LEVEL: process.env.BENCH_LOG_LEVEL ?? 'warn',
      DATA_DIR: path.join(dir, `node-${port}`),
    };
    const node = [process.execPath, '--import', 'tsx', 'server/main.ts'];
    const pinned = pin ? ['/usr/bin/taskset', '-c', String(i), ...node] : node;
    const budget = await CpuBudget.open(`stereospot-bench-${process.pid}-node-${i + 1}`, cpus);
    if (budget) {
      budgeted++;
      cleanups.teardown(() => budget.close());
    }
    const [command, ...args] = budget ? budget.wrap(pinned) : pinned;
    const child = spawn(command!, args, {
      cwd: root,
      env,
      stdio: ['ignore', process.env.BENCH_LOG_LEVEL ? 'inherit' : 'ignore', 'inherit'],
    });
    cleanups.teardown(() => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      return new Promise((r) => child.once('close', r));
    });
    urls.push(`http://127.0.0.1:${port}`);
  }
  for (const url of urls) await until(async () => (await fetch(`${url}/healthz`)).ok, `${url} to start`, 60_000);
  for (const url of urls)
    await until(async () => (await metric(url, 'stereospot_cluster_nodes')) === n, `${url} to see ${n} node(s)`, 15_000);
  const budget =
    budgeted === n
      ? `each node held to ${cpus} CPU (cgroup quota)${pin ? ' on a core of its own' : ''}`
      : `no cgroup quota (hierarchy not writable): nodes ${pin ? 'pinned to a core each' : 'unbounded'}`;
  return { urls, aws, budget };
}

async function runLevel(cluster: Cluster, streams: number, chunks: Buffer[], options: CapacityOptions): Promise<CapacityLevel> {
  const { urls, aws } = cluster;
  // Readiness as the dashboard socket reports it (every node's sessions, through the bus).
  const readyAt = new Map<string, number>();
  const events = new WebSocket(`${urls[0]!.replace('http', 'ws')}/ws/events?format=json`);
  await new Promise<void>((resolve, reject) => {
    events.once('open', () => resolve());
    events.once('error', reject);
  });
  followReadiness(events, readyAt);
  try {
    const ids: string[] = [];
    for (let k = 0; k < streams; k++) {
      const answer = await fetch(`${urls[k % urls.length]}/stream_sessions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      if (!answer.ok) throw new Error(`creating a session failed: ${answer.status} ${await answer.text()}`);
      ids.push(((await answer.json()) as { session_id: string }).session_id);
    }
    const placement: Record<string, number> = {};
    for (const [i, url] of urls.entries()) placement[`node-${i + 1}`] = await metric(url, 'stereospot_sessions_running');

    // Each stream's chunk i is cut at start + (i + 1) chunk lengths (streams staggered over one chunk).
    const step = options.chunkSeconds * 1000;
    const start = Date.now() + 500;
    const cpuBefore = process.cpuUsage();
    const cuts = new Map<string, number>();
    await Promise.all(
      ids.map(async (id, k) => {
        const offset = (k * step) / streams;
        for (const [i, body] of chunks.entries()) {
          const cut = start + offset + (i + 1) * step;
          await new Promise((r) => setTimeout(r, Math.max(0, cut - Date.now())));
          cuts.set(`${id}/${i}`, cut);
          await aws.s3.send(new PutObjectCommand({ Bucket: INPUT_BUCKET, Key: chunkKey(id, i), Body: body }));
        }
      }),
    );
    // Wait for the tail: a cluster that keeps up is done within a couple of chunk lengths.
    const deadline = Date.now() + Math.max(10_000, options.seconds * 1000);
    // (The dashboard's first snapshot also lists the previous levels' sessions: count this level's chunks only.)
    const waiting = () => [...cuts.keys()].some((key) => !readyAt.has(key));
    while (waiting() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const cpu = process.cpuUsage(cpuBefore);
    const harnessCpus = (cpu.user + cpu.system) / 1000 / Math.max(1, Date.now() - start);
    await Promise.all(
      ids.map((id, k) =>
        fetch(`${urls[k % urls.length]}/stream_sessions/${id}/end`, { method: 'POST', body: JSON.stringify({ chunks: chunks.length }) }),
      ),
    );

    const latencies = [...cuts].filter(([key]) => readyAt.has(key)).map(([key, cut]) => readyAt.get(key)! - cut);
    const missing = cuts.size - latencies.length;
    const q = quantiles(latencies);
    return {
      streams,
      held: missing === 0 && q.p95 <= 2 * step,
      ...q,
      missing,
      placement,
      harnessCpus,
    };
  } finally {
    events.close();
  }
}

async function metric(url: string, name: string): Promise<number> {
  return (await readMetrics(url)).get(name) ?? NaN;
}
