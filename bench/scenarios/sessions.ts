/**
 * Sessions at scale: for each count (1 000 and 10 000 by default) a fresh server process, given that
 * many sessions through its API, reports its create rate, memory per idle and per active session, the
 * session list's latency, and how long a restart over that many stored sessions takes
 * (bench/sessions-target.ts; run with --expose-gc so memory is read after a full collection).
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { SessionsMeasurement } from '../sessions-target.ts';

export interface SessionsOptions {
  counts: number[];
  /** Sessions given ready segments (per count), and how many each. */
  active: number;
  chunks: number;
}

export function defaultSessionsOptions(): SessionsOptions {
  return { counts: [1000, 10_000], active: 100, chunks: 5 };
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const run = promisify(execFile);

export async function runSessions(options: SessionsOptions, log: (line: string) => void): Promise<SessionsMeasurement[]> {
  const rows: SessionsMeasurement[] = [];
  for (const count of options.counts) {
    const { stdout } = await run(
      process.execPath,
      [
        '--expose-gc',
        '--import',
        'tsx',
        'bench/sessions-target.ts',
        '--count',
        String(count),
        '--active',
        String(options.active),
        '--chunks',
        String(options.chunks),
      ],
      { cwd: root, maxBuffer: 1 << 20, timeout: 600_000 },
    );
    const row = JSON.parse(stdout.trim().split('\n').at(-1)!) as SessionsMeasurement;
    rows.push(row);
    const kb = (b: number) => `${(b / 1024).toFixed(1)} KiB`;
    log(
      `${count} sessions: created at ${row.createPerSecond}/s; idle ${kb(row.idle.heapBytes)} heap (${kb(row.idle.rssBytes)} RSS) each; ` +
        `active (${row.active.chunks} segments) +${kb(row.active.heapBytes)} heap each; list p50 ${row.listMs.p50.toFixed(1)} ms, p95 ${row.listMs.p95.toFixed(1)} ms; ` +
        `restart ${Math.round(row.restartMs)} ms, first list after it ${row.listAfterRestartMs.toFixed(1)} ms`,
    );
  }
  return rows;
}
