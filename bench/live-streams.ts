/**
 * Live streams against one server process, for the soak and concurrency benchmarks: the server (local
 * profile, the real pool) in a process of its own, so its memory and CPU are its own; sessions created
 * through the API; each stream uploading a chunk every chunk length in real time, as the capture client
 * does; and readiness as the dashboard socket reports it. A chunk's latency runs from its cut (the moment
 * its last frame would have been captured) to its segment reported ready.
 */
import { BENCH_LIMITS } from './limits.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import { chunkFileName } from '../protocol/keys.ts';
import type { CreateSessionResponse, DashboardMessage } from '../protocol/messages.ts';
import { freePort } from '../testkit/node-process.ts';
import { readMetrics, until } from './probe.ts';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Records in `readyAt` (`sessionId/index` → ms) when a dashboard socket first reports each chunk ready. */
export function followReadiness(events: WebSocket, readyAt: Map<string, number>): void {
  events.on('message', (data) => {
    const message = JSON.parse(String(data)) as DashboardMessage;
    const sessions = message.type === 'session' ? [message] : message.type === 'sessions' ? message.sessions : [];
    const now = Date.now();
    for (const s of sessions) {
      for (const c of s.chunks)
        if (c.status === 'ready' && !readyAt.has(`${s.session_id}/${c.index}`)) readyAt.set(`${s.session_id}/${c.index}`, now);
    }
  });
}

export class LiveServer {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #events: WebSocket;
  /** `sessionId/index` → when the dashboard reported the segment ready. */
  readonly readyAt = new Map<string, number>();

  private constructor(url: string, child: ChildProcess, events: WebSocket) {
    this.url = url;
    this.#child = child;
    this.#events = events;
    followReadiness(events, this.readyAt);
  }

  /** Starts `server/main.ts` (with `nodeArgs` before it) in `dir`, and its dashboard socket. */
  static async start(dir: string, env: Record<string, string>, nodeArgs: string[] = []): Promise<LiveServer> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', 'server/main.ts'], {
      cwd: root,
      env: {
        ...process.env,
        PORT: String(port),
        HOST: '127.0.0.1',
        DATA_DIR: path.join(dir, 'data'),
        LOG_LEVEL: 'warn',
        ...BENCH_LIMITS,
        ...env,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    try {
      await until(async () => (await fetch(`${url}/healthz`)).ok, 'the server to start', 120_000);
      const events = new WebSocket(`${url.replace('http', 'ws')}/ws/events?format=json`);
      await new Promise<void>((resolve, reject) => {
        events.once('open', () => resolve());
        events.once('error', reject);
      });
      return new LiveServer(url, child, events);
    } catch (error) {
      child.kill('SIGKILL');
      throw error;
    }
  }

  get pid(): number {
    return this.#child.pid!;
  }

  /** The server's /metrics as name → value (a labelled family: the sum of its samples). */
  metrics(): Promise<Map<string, number>> {
    return readMetrics(this.url);
  }

  async createSessions(count: number): Promise<CreateSessionResponse[]> {
    const sessions: CreateSessionResponse[] = [];
    for (let k = 0; k < count; k++) {
      const answer = await fetch(`${this.url}/stream_sessions`, { method: 'POST', body: '{}' });
      if (!answer.ok) throw new Error(`creating a session failed: ${answer.status} ${await answer.text()}`);
      sessions.push((await answer.json()) as CreateSessionResponse);
    }
    return sessions;
  }

  /**
   * Streams `perStream` chunks into each session in real time (chunk i of a stream is uploaded at its cut,
   * start + (i + 1) chunk lengths; streams staggered over one chunk length), using `chunks` in turn.
   * Resolves with every chunk's cut (`sessionId/index` → ms) once all are uploaded.
   */
  async stream(
    sessions: CreateSessionResponse[],
    chunks: Buffer[],
    perStream: number,
    chunkSeconds: number,
    start: number,
  ): Promise<Map<string, number>> {
    const step = chunkSeconds * 1000;
    const cuts = new Map<string, number>();
    await Promise.all(
      sessions.map(async (session, k) => {
        if (session.upload.type !== 'http') throw new Error("live streams use the local profile's upload API");
        const { url_template: template, token } = session.upload;
        const offset = (k * step) / sessions.length;
        for (let i = 0; i < perStream; i++) {
          const cut = start + offset + (i + 1) * step;
          await new Promise((r) => setTimeout(r, Math.max(0, cut - Date.now())));
          cuts.set(`${session.session_id}/${i}`, cut);
          const put = await fetch(template.replace('{file}', chunkFileName(i)), {
            method: 'PUT',
            headers: { 'Content-Type': 'video/mp4', Authorization: `Bearer ${token}` },
            body: chunks[i % chunks.length]!,
          });
          if (!put.ok) throw new Error(`upload ${i}: ${put.status} ${await put.text()}`);
        }
      }),
    );
    return cuts;
  }

  /** Waits (at most `ms`) for every chunk in `cuts` to be ready; resolves with how many never were. */
  async settle(cuts: Map<string, number>, ms: number): Promise<number> {
    const missing = () => [...cuts.keys()].filter((key) => !this.readyAt.has(key)).length;
    await until(() => missing() === 0, 'the last segments', ms).catch(() => undefined);
    return missing();
  }

  /** Cut → ready (ms) of the chunks in `cuts` that are ready, optionally only those cut in [from, to). */
  latencies(cuts: Map<string, number>, from = -Infinity, to = Infinity): number[] {
    return [...cuts]
      .filter(([key, cut]) => this.readyAt.has(key) && cut >= from && cut < to)
      .map(([key, cut]) => this.readyAt.get(key)! - cut);
  }

  async end(sessions: CreateSessionResponse[]): Promise<void> {
    await Promise.all(sessions.map((s) => fetch(`${this.url}/stream_sessions/${s.session_id}/end`, { method: 'POST' })));
  }

  async close(): Promise<void> {
    this.#events.close();
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = new Promise((r) => this.#child.once('exit', r));
    this.#child.kill('SIGTERM');
    await exited;
  }
}
