/**
 * The process the `fanout` benchmark measures: our server (local profile; conversions replaced by an
 * instant stand-in) holding one live session of `--segments` segments, and beside it a bare uWS app that
 * holds WebSocket subscribers and HTTP requests and answers them with fixed bytes and no work at all —
 * the floor: what the load generator and the transport cost on their own.
 *
 * Times are `process.hrtime.bigint()` (CLOCK_MONOTONIC, the same clock in every process on the machine),
 * printed as decimal strings of nanoseconds. It reads one JSON command per line on stdin and answers each
 * with one JSON line, in order:
 *   {"cmd":"convert"}               uploads the session's next chunk; answered once its conversion started
 *                                   (held there: its subscribers get the "processing" status now, as they would
 *                                   a real conversion's time before the segment): {"converting":n}
 *   {"cmd":"segment"}               completes that conversion; answered once the segment is listed (and, when
 *                                   the session has socket subscribers, handed to all of them):
 *                                   {"listed":n,"at":ns,"written":ns} — `at` is when the session's listeners
 *                                   heard of it, before any subscriber message is built or any held request
 *                                   answered; `written`, when the hub's last write of that batch returned
 *   {"cmd":"bare-ws","sizes":[…]}   frames of these sizes to every bare subscriber, each corked into one write:
 *                                   {"at":ns,"written":ns,"subscribers":n} — `at` taken before the first send
 *   {"cmd":"bare-http","bytes":n,"headers":[[k,v],…]}
 *                                   answers every held bare request with n bytes and these headers:
 *                                   {"at":ns,"answered":n}
 *   {"cmd":"bare-status"}           {"subscribers":n,"held":n}
 * The first line printed names the URLs (FanoutTargets). Runs until SIGTERM.
 */
import { BENCH_LIMITS } from './limits.ts';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import type * as Uws from 'uWebSockets.js';
import { loadUws } from '../server/uws-native.ts';
import type { CreateSessionResponse } from '../protocol/messages.ts';
import { loadConfig } from '../server/config.ts';
import { createLogger, memorySink } from '../server/log.ts';
import { startServer } from '../server/server.ts';
import type { FanOut } from '../server/ws/hub.ts';
import { FakePool } from '../testkit/fake-pool.ts';
import { giveSegments, uploadFakeChunk } from './fake-segments.ts';

const uWS = loadUws().uws;

export interface FanoutTargets {
  ours: { server: string; socket: string; playlist: string; listed: number };
  bare: { socket: string; wait: string };
}

const { values } = parseArgs({ options: { segments: { type: 'string', default: '60' } } });
const config = loadConfig({
  PORT: '0',
  HOST: '127.0.0.1',
  ...BENCH_LIMITS,
  DATA_DIR: await mkdtemp(path.join(os.tmpdir(), 'stereospot-bench-fanout-')),
});
const pool = new FakePool(2);
const server = await startServer(config, { log: createLogger('server', memorySink('warn')), pool });
const session = (await (await fetch(`${server.url}/stream_sessions`, { method: 'POST', body: '{}' })).json()) as CreateSessionResponse;
let listed = Number(values.segments);
await giveSegments(server.url, session, listed);

/** Listing moments of our session's segments, by listed count. */
const listedAt = new Map<number, bigint>();
const waiting = new Map<number, (at: bigint) => void>();
server.sessions.subscribe((id, changes) => {
  if (id !== session.session_id) return;
  for (const change of changes) {
    if (change.kind !== 'playlist' || change.listed <= change.from) continue;
    const at = process.hrtime.bigint();
    listedAt.set(change.listed, at);
    waiting.get(change.listed)?.(at);
  }
});

/** The hub's fan-outs of our session's batches, in order. */
const fanOuts: FanOut[] = [];
server.app.hub.onFanOut((f) => {
  if (f.sessionId === session.session_id) fanOuts.push(f);
});

// The floor: a bare uWS app, no work between the trigger and the bytes.
const subscribers = new Set<Uws.WebSocket<unknown>>();
const held = new Set<Uws.HttpResponse>();
const bare = uWS
  .App()
  .ws('/ws', {
    maxBackpressure: config.wsMaxBackpressureBytes,
    idleTimeout: 120,
    open: (ws) => void subscribers.add(ws),
    close: (ws) => void subscribers.delete(ws),
  })
  .get('/wait', (res) => {
    held.add(res);
    res.onAborted(() => held.delete(res));
  });
const bareSocket = await new Promise<Uws.us_listen_socket>((resolve, reject) =>
  bare.listen('127.0.0.1', 0, (socket) => (socket ? resolve(socket) : reject(new Error('bare uWS: listen failed')))),
);
const barePort = uWS.us_socket_local_port(bareSocket);

async function startConversion(): Promise<{ converting: number }> {
  pool.hold(listed);
  await uploadFakeChunk(session, listed);
  while (!pool.started.includes(listed)) await new Promise((r) => setTimeout(r, 1));
  return { converting: listed };
}

async function nextSegment(): Promise<{ listed: number; at: string; written?: string }> {
  const n = listed + 1;
  const heard = new Promise<bigint>((resolve) => waiting.set(n, resolve));
  pool.release(listed);
  const at = listedAt.get(n) ?? (await heard);
  waiting.delete(n);
  listed = n;
  if (!server.app.hub.hasSubscribers(session.session_id)) return { listed: n, at: String(at) };
  // The batch that lists it is the first fan-out to start after the listing.
  for (;;) {
    const batch = fanOuts.find((f) => f.startedAt >= at);
    if (batch) {
      fanOuts.length = 0;
      return { listed: n, at: String(at), written: String(batch.endedAt) };
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

function bareFanout(sizes: number[]): { at: string; written: string; subscribers: number } {
  const frames = sizes.map((size) => new Uint8Array(size));
  const at = process.hrtime.bigint();
  for (const ws of subscribers)
    ws.cork(() => {
      for (const f of frames) ws.send(f, true);
    });
  return { at: String(at), written: String(process.hrtime.bigint()), subscribers: subscribers.size };
}

function bareAnswer(bytes: number, headers: Array<[string, string]>): { at: string; answered: number } {
  const body = new Uint8Array(bytes);
  const at = process.hrtime.bigint();
  const answered = held.size;
  for (const res of held) {
    res.cork(() => {
      for (const [k, v] of headers) res.writeHeader(k, v);
      res.end(body);
    });
  }
  held.clear();
  return { at: String(at), answered };
}

const wsBase = server.url.replace(/^http/, 'ws');
const targets: FanoutTargets = {
  ours: {
    socket: `${wsBase}/ws/sessions/${session.session_id}`,
    server: server.url,
    playlist: session.playlist_url,
    listed,
  },
  bare: { socket: `ws://127.0.0.1:${barePort}/ws`, wait: `http://127.0.0.1:${barePort}/wait` },
};
process.stdout.write(JSON.stringify(targets) + '\n');

interface Command {
  cmd: 'convert' | 'segment' | 'bare-ws' | 'bare-http' | 'bare-status';
  sizes?: number[];
  bytes?: number;
  headers?: Array<[string, string]>;
}

// Commands one at a time, answered in order.
let chain = Promise.resolve();
createInterface({ input: process.stdin }).on('line', (line) => {
  chain = chain.then(async () => {
    const command = JSON.parse(line) as Command;
    let answer: object;
    if (command.cmd === 'convert') answer = await startConversion();
    else if (command.cmd === 'segment') answer = await nextSegment();
    else if (command.cmd === 'bare-ws') answer = bareFanout(command.sizes ?? []);
    else if (command.cmd === 'bare-http') answer = bareAnswer(command.bytes ?? 0, command.headers ?? []);
    else if (command.cmd === 'bare-status') answer = { subscribers: subscribers.size, held: held.size };
    else answer = { error: `unknown command ${line}` };
    process.stdout.write(JSON.stringify(answer) + '\n');
  });
});

function stop(): void {
  uWS.us_listen_socket_close(bareSocket);
  void server.close().then(() => process.exit(0));
}
process.once('SIGTERM', stop);
// The benchmark that started this process is gone (it crashed, say): do not outlive it.
process.stdin.once('end', stop);
