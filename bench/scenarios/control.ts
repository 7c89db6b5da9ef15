/**
 * Control plane: playlist GETs per second, ours (uWebSockets.js) against the same work on `node:http`,
 * for a live and an ended playlist, beside the ceiling — a bare server of each kind answering fixed
 * bytes of the same size, i.e. what the load generator and the transport reach with no work at all, so
 * the generator's own cost is not mistaken for ours. The target runs in its own process pinned to the
 * first core; the load generator (autocannon, in this process) to the second where there is one.
 * Where the generator is the bottleneck (its ceiling is no higher than what the servers reach), req/s
 * says nothing about the server: what does is the target's CPU time per request, read from
 * /proc/{pid}/stat around each run — requests per CPU-second is the figure compared.
 * Each case is run `repeats` times, interleaved; the median run is reported.
 */
import autocannon from 'autocannon';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { ControlTargets } from '../control-target.ts';
import { canPin, pinSelfToSecondCore, spawnTarget, stopTarget } from '../pin.ts';

export interface ControlOptions {
  /** Seconds per run. */
  seconds: number;
  repeats: number;
  connections: number;
  /** Segments in each playlist. */
  segments: number;
  /** Ask for gzip as players do (`Accept-Encoding: gzip`); false: plain text. */
  gzip: boolean;
}

export interface ControlCase {
  name: string;
  /** Median of the runs. */
  requestsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  runs: number[];
  /** Requests answered per second of the target's CPU time (median run): the server's own efficiency. */
  requestsPerCpuSecond: number;
  /** The same per second of user-space CPU only (the kernel's share of loopback TCP left out). */
  requestsPerUserCpuSecond: number;
  errors: number;
}

export interface ControlResult {
  playlistBytes: number;
  gzip: boolean;
  cases: ControlCase[];
  /** Ours ÷ node:http doing the same work, in requests per CPU-second (and in req/s, generator-bound or not). */
  ratio: { live: number; ended: number };
  ratioUser: { live: number; ended: number };
  ratioRps: { live: number; ended: number };
  pinned: boolean;
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

/** A process's CPU time so far (its threads included), from /proc: user (our code, V8, uWS) and system (the kernel's TCP). */
function cpuSeconds(pid: number): { user: number; system: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may hold spaces, inside parentheses): utime and stime are 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[11]) / CLOCK_TICKS, system: Number(fields[12]) / CLOCK_TICKS };
}

export function defaultControlOptions(): ControlOptions {
  return { seconds: 10, repeats: 3, connections: 100, segments: 60, gzip: true };
}

export async function runControl(options: ControlOptions, log: (line: string) => void): Promise<ControlResult> {
  const pin = canPin();
  const command = [
    process.execPath,
    '--import',
    'tsx',
    'bench/control-target.ts',
    '--segments',
    String(options.segments),
    ...(options.gzip ? ['--gzip'] : []),
  ];
  const { child: target, firstLine } = await spawnTarget(command, root, pin);
  let restore: (() => void) | undefined;
  try {
    const targets = JSON.parse(firstLine) as ControlTargets;
    if (pin) restore = pinSelfToSecondCore();
    log(
      `playlist of ${options.segments} segments, ${targets.playlistBytes} bytes${options.gzip ? ' gzipped' : ''}; ${options.connections} connections, ${options.seconds} s × ${options.repeats} per case; ${pin ? 'target on core 0, load generator on core 1' : 'not pinned'}`,
    );
    const cases: Array<[string, string]> = [
      ['ceiling: bare uWS, fixed bytes', targets.ceiling.uws],
      ['ceiling: bare node:http, fixed bytes', targets.ceiling.http],
      ['ours (uWS), live playlist', targets.ours.live],
      ['node:http, same work, live playlist', targets.baseline.live],
      ['ours (uWS), ended playlist', targets.ours.ended],
      ['node:http, same work, ended playlist', targets.baseline.ended],
    ];
    const runs = new Map<string, Array<{ result: autocannon.Result; perCpuSecond: number; perUserCpuSecond: number }>>(
      cases.map(([name]) => [name, []]),
    );
    for (let r = 0; r < options.repeats; r++) {
      for (const [name, url] of cases) {
        const cpuBefore = cpuSeconds(target.pid!);
        const headers = options.gzip ? { 'accept-encoding': 'gzip' } : {};
        const result = await autocannon({ url, connections: options.connections, duration: options.seconds, pipelining: 1, headers });
        const cpuAfter = cpuSeconds(target.pid!);
        const user = cpuAfter.user - cpuBefore.user;
        const cpu = user + cpuAfter.system - cpuBefore.system;
        if (result.non2xx > 0) throw new Error(`${name}: ${result.non2xx} answers were not 2xx`);
        runs.get(name)!.push({
          result,
          perCpuSecond: result.requests.total / Math.max(cpu, 0.01),
          perUserCpuSecond: result.requests.total / Math.max(user, 0.01),
        });
      }
    }
    const summary: ControlCase[] = cases.map(([name]) => {
      const all = [...runs.get(name)!].sort((a, b) => a.perCpuSecond - b.perCpuSecond);
      const median = all[Math.floor(all.length / 2)]!;
      const row = {
        name,
        requestsPerSecond: Math.round(median.result.requests.average),
        p50Ms: median.result.latency.p50,
        p99Ms: median.result.latency.p99,
        runs: all.map((x) => Math.round(x.result.requests.average)),
        requestsPerCpuSecond: Math.round(median.perCpuSecond),
        requestsPerUserCpuSecond: Math.round(median.perUserCpuSecond),
        errors: all.reduce((n, x) => n + x.result.errors + x.result.timeouts, 0),
      };
      log(
        `${name}: ${row.requestsPerCpuSecond} req per CPU-second (${row.requestsPerUserCpuSecond} per user-CPU-second); ${row.requestsPerSecond} req/s (runs ${row.runs.join(', ')}), ` +
          `latency p50 ${row.p50Ms} ms, p99 ${row.p99Ms} ms${row.errors ? `, ${row.errors} errors` : ''}`,
      );
      return row;
    });
    const of = (name: string) => summary.find((c) => c.name === name)!;
    const ratioOf = (key: 'requestsPerCpuSecond' | 'requestsPerUserCpuSecond' | 'requestsPerSecond') => ({
      live: of('ours (uWS), live playlist')[key] / of('node:http, same work, live playlist')[key],
      ended: of('ours (uWS), ended playlist')[key] / of('node:http, same work, ended playlist')[key],
    });
    const ratio = ratioOf('requestsPerCpuSecond');
    const ratioRps = ratioOf('requestsPerSecond');
    const ratioUser = ratioOf('requestsPerUserCpuSecond');
    const ceiling = Math.max(
      of('ceiling: bare uWS, fixed bytes').requestsPerSecond,
      of('ceiling: bare node:http, fixed bytes').requestsPerSecond,
    );
    const bound = summary.some((c) => !c.name.startsWith('ceiling') && c.requestsPerSecond >= 0.8 * ceiling);
    log(`ours ÷ node:http doing the same work, per CPU-second: live ${ratio.live.toFixed(2)}×, ended ${ratio.ended.toFixed(2)}×`);
    log(`per user-CPU-second: live ${ratioUser.live.toFixed(2)}×, ended ${ratioUser.ended.toFixed(2)}×`);
    log(
      `in req/s: live ${ratioRps.live.toFixed(2)}×, ended ${ratioRps.ended.toFixed(2)}×${bound ? ` (the load generator tops out at ≈${ceiling} req/s here: req/s is its limit, not the servers')` : ''}`,
    );
    return { playlistBytes: targets.playlistBytes, gzip: options.gzip, cases: summary, ratio, ratioUser, ratioRps, pinned: pin };
  } finally {
    restore?.();
    await stopTarget(target);
  }
}
