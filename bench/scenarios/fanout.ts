/**
 * Events to many (the control plane's push side): how long after a segment is listed
 *   - `wakeup`: each of `waiters` held blocking playlist reloads (`?_HLS_msn=`, gzip as players ask) has its
 *     whole answer, and
 *   - `socket`: each of 1 000 / 10 000 session-socket subscribers has the `playlist` message that lists it,
 * beside the floor: a bare uWS app in the same target process answering the same number of held requests
 * with the same headers and number of bytes, or sending frames of the same sizes to the same number of subscribers,
 * with no work at all. The floor is what the load generator (this process: the `ws` and `node:http`
 * clients, on the other core) and loopback TCP cost on their own; ours minus the floor is what the server
 * adds. Every figure runs from the moment the target's session heard of the listing (before any message is
 * built or request answered) to the moment the client has the bytes — one clock (CLOCK_MONOTONIC) for both
 * processes. `events` rounds per case (after one round that is not counted: the code warms up); p50/p99
 * over every client of every round. Held reloads alternate with the floor's; each socket case runs ours,
 * then the floor (10 000 sockets of each at once would pass the per-process descriptor limit).
 */
import http from 'node:http';
import { unpack } from 'msgpackr';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';
import type { FanoutTargets } from '../fanout-target.ts';
import { canPin, pinSelfToSecondCore, spawnTarget, stopTarget, type Target } from '../pin.ts';
import { readMetrics, until } from '../probe.ts';
import { quantiles, type Quantiles } from '../quantiles.ts';

export interface FanoutOptions {
  /** Subscriber counts for the socket fan-out. */
  subscribers: number[];
  /** Held playlist requests woken by one segment. */
  waiters: number;
  /** Rounds (segment events) per case. */
  events: number;
  /** Segments already in the playlist. */
  segments: number;
}

export interface FanoutCase {
  kind: 'wakeup' | 'socket';
  side: 'ours' | 'floor';
  clients: number;
  /** Milliseconds from the event to each client's complete answer, every client of every round. */
  ms: Quantiles;
  samples: number;
  /** Sockets: milliseconds from the event to the server's last write of it (one per round): the server's own part. */
  writtenMs?: Quantiles;
}

export interface FanoutResult {
  pinned: boolean;
  events: number;
  /** Bytes of the gzipped playlist a woken reload gets, and of the frames one listing sends each subscriber. */
  playlistBytes: number;
  frameBytes: number[];
  cases: FanoutCase[];
}

const root = fileURLToPath(new URL('../..', import.meta.url));
const PLAYLIST_TYPE = Buffer.from('playlist');
const PROCESSING = Buffer.from('processing');
const ROUND_DEADLINE_MS = 60_000;

export function defaultFanoutOptions(): FanoutOptions {
  return { subscribers: [1000, 10_000], waiters: 1000, events: 5, segments: 60 };
}

const now = () => process.hrtime.bigint();
const msSince = (at: bigint, t: bigint) => Number(t - at) / 1e6;

/** Sends the target one command and reads its answer (commands are answered in order, one line each). */
function commander(target: Target): <T>(command: object) => Promise<T> {
  const pending: Array<(line: string) => void> = [];
  target.lines.on('line', (line) => pending.shift()?.(line));
  return <T>(command: object) =>
    new Promise<T>((resolve, reject) => {
      pending.push((line) => {
        const answer = JSON.parse(line) as T & { error?: string };
        if (answer.error) reject(new Error(answer.error));
        else resolve(answer);
      });
      target.child.stdin!.write(JSON.stringify(command) + '\n');
    });
}

/** Response headers the floor repeats (those the transport adds itself left out). */
const TRANSPORT_HEADERS = new Set(['date', 'content-length', 'connection', 'keep-alive', 'uwebsockets', 'transfer-encoding']);

interface Answer {
  at: bigint;
  bytes: number;
  headers: Array<[string, string]>;
}

/** `count` GETs to `url` held open at once; resolves each with the moment its whole body arrived. */
function holdRequests(url: string, count: number): { agent: http.Agent; done: Promise<Answer[]> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: count });
  const one = () =>
    new Promise<Answer>((resolve, reject) => {
      http
        .get(url, { agent, headers: { 'accept-encoding': 'gzip' } }, (res) => {
          let bytes = 0;
          res.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
          res.on('end', () => {
            if (res.statusCode !== 200) return reject(new Error(`${url}: ${res.statusCode}`));
            const headers: Array<[string, string]> = [];
            for (let i = 0; i < res.rawHeaders.length; i += 2) {
              if (!TRANSPORT_HEADERS.has(res.rawHeaders[i]!.toLowerCase())) headers.push([res.rawHeaders[i]!, res.rawHeaders[i + 1]!]);
            }
            resolve({ at: now(), bytes, headers });
          });
        })
        .on('error', reject);
    });
  return { agent, done: Promise.all(Array.from({ length: count }, one)) };
}

/** Opens `count` WebSocket clients, a few hundred at a time; `onFrame(client, data, at)` sees every frame. */
async function openClients(url: string, count: number, onFrame: (client: number, data: Buffer, at: bigint) => void): Promise<WebSocket[]> {
  const clients: WebSocket[] = [];
  for (let start = 0; start < count; start += 250) {
    const batch = Array.from({ length: Math.min(250, count - start) }, (_, k) => {
      const i = start + k;
      const ws = new WebSocket(url, { perMessageDeflate: false });
      ws.on('message', (data) => onFrame(i, data as Buffer, now()));
      clients.push(ws);
      return new Promise<void>((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
    });
    await Promise.all(batch);
  }
  return clients;
}

async function closeClients(clients: WebSocket[]): Promise<void> {
  await Promise.all(
    clients.map(
      (ws) =>
        new Promise<void>((resolve) => {
          if (ws.readyState === WebSocket.CLOSED) return resolve();
          ws.once('close', () => resolve());
          ws.terminate();
        }),
    ),
  );
}

export async function runFanout(options: FanoutOptions, log: (line: string) => void): Promise<FanoutResult> {
  const pin = canPin();
  const target = await spawnTarget(
    [process.execPath, '--import', 'tsx', 'bench/fanout-target.ts', '--segments', String(options.segments)],
    root,
    pin,
  );
  const ask = commander(target);
  let restore: (() => void) | undefined;
  try {
    const urls = JSON.parse(target.firstLine) as FanoutTargets;
    if (pin) restore = pinSelfToSecondCore();
    log(`${options.events} events per case; ${pin ? 'target on core 0, clients on core 1' : 'not pinned'}`);
    let listed = urls.ours.listed;
    const samples = new Map<string, number[]>();
    const add = (key: string, values: number[]) => samples.set(key, [...(samples.get(key) ?? []), ...values]);

    // Wake-up of held blocking reloads.
    let playlistBytes = 0;
    let playlistHeaders: Array<[string, string]> = [];
    const heldByUs = async () => (await readMetrics(urls.ours.server)).get('stereospot_playlist_requests_held') ?? 0;
    // Round 0 of every case warms the code up (a server answers its thousandth wake-up, not its first) and is not counted.
    for (let e = 0; e <= options.events; e++) {
      const counted = e > 0;
      {
        const { agent, done } = holdRequests(`${urls.ours.playlist}?_HLS_msn=${listed}`, options.waiters);
        await until(
          async () => (await heldByUs()) === options.waiters,
          `${options.waiters} reloads held by our server`,
          ROUND_DEADLINE_MS,
          20,
        );
        await ask({ cmd: 'convert' });
        const event = await ask<{ listed: number; at: string }>({ cmd: 'segment' });
        listed = event.listed;
        const answers = await done;
        agent.destroy();
        playlistBytes = answers[0]!.bytes;
        playlistHeaders = answers[0]!.headers;
        if (counted)
          add(
            'wakeup/ours',
            answers.map((a) => msSince(BigInt(event.at), a.at)),
          );
      }
      {
        const { agent, done } = holdRequests(urls.bare.wait, options.waiters);
        await until(
          async () => (await ask<{ held: number }>({ cmd: 'bare-status' })).held === options.waiters,
          `${options.waiters} requests held by the bare app`,
          ROUND_DEADLINE_MS,
          20,
        );
        const event = await ask<{ at: string }>({ cmd: 'bare-http', bytes: playlistBytes, headers: playlistHeaders });
        const answers = await done;
        agent.destroy();
        if (counted)
          add(
            'wakeup/floor',
            answers.map((a) => msSince(BigInt(event.at), a.at)),
          );
      }
    }

    // Socket fan-out.
    let frameBytes: number[] = [];
    for (const count of options.subscribers) {
      // Ours: each client's first `playlist` frame after each event (found by its type, at the start of the
      // msgpack map, without decoding the frame: the floor's clients do no more work than ours).
      let since: bigint | undefined;
      let sizes: number[] = [];
      /** What client 0's playlist message listed, checked against the event after the round. */
      let seenListed = -1;
      const got = new Array<bigint | undefined>(count);
      const greeted = new Uint8Array(count);
      const converting = new Uint8Array(count);
      const ours = await openClients(`${urls.ours.socket}?format=msgpack`, count, (i, data, at) => {
        greeted[i] = 1;
        if (since === undefined || got[i] !== undefined) return;
        if (data.includes(PROCESSING)) converting[i] = 1;
        if (i === 0) sizes.push(data.byteLength);
        if (data.subarray(0, 24).includes(PLAYLIST_TYPE)) {
          got[i] = at;
          if (i === 0) seenListed = (unpack(data) as { listed: number }).listed;
        }
      });
      await until(() => greeted.every((g) => g === 1), `the snapshot on ${count} sockets`, ROUND_DEADLINE_MS, 20);
      for (let e = 0; e <= options.events; e++) {
        got.fill(undefined);
        converting.fill(0);
        sizes = [];
        since = now();
        // The chunk's conversion starts: every subscriber has its status before the segment comes, as with a
        // real conversion (the fake one would otherwise finish while the clients still read that status).
        await ask({ cmd: 'convert' });
        await until(() => converting.every((c) => c === 1), `the processing status on ${count} sockets`, ROUND_DEADLINE_MS, 20);
        const event = await ask<{ listed: number; at: string; written: string }>({ cmd: 'segment' });
        listed = event.listed;
        await until(() => got.every((g) => g !== undefined), `the playlist message on ${count} sockets`, ROUND_DEADLINE_MS, 20);
        if (e > 0) add(`socket/ours/${count}/written`, [msSince(BigInt(event.at), BigInt(event.written))]);
        since = undefined;
        if (seenListed !== event.listed)
          throw new Error(`fanout: the playlist message listed ${seenListed} segments, the event ${event.listed}`);
        if (e > 0)
          add(
            `socket/ours/${count}`,
            got.map((g) => msSince(BigInt(event.at), g!)),
          );
        // The frames client 0 got from the upload to the listing; the listing's batch is the last of them:
        // the chunk's last status, the segment and the playlist (what every subscriber is sent at `at`).
        frameBytes = sizes.slice(-3);
      }
      await closeClients(ours); // both sets at once would take more descriptors than a process may hold

      // The floor: frames of the same sizes from the bare app. Its clients count frames: a round is complete
      // for one when it has all of the round's.
      const floorFrames = new Array<number>(count).fill(0);
      const floorGot = new Array<bigint | undefined>(count);
      let floorWant = 0;
      const floor = await openClients(urls.bare.socket, count, (i, _data, at) => {
        floorFrames[i]!++;
        if (floorFrames[i] === floorWant) floorGot[i] = at;
      });
      await until(
        async () => (await ask<{ subscribers: number }>({ cmd: 'bare-status' })).subscribers === count,
        `${count} subscribers of the bare app`,
        ROUND_DEADLINE_MS,
        20,
      );
      for (let e = 0; e <= options.events; e++) {
        floorGot.fill(undefined);
        floorWant += frameBytes.length;
        const bare = await ask<{ at: string; written: string; subscribers: number }>({ cmd: 'bare-ws', sizes: frameBytes });
        await until(() => floorGot.every((g) => g !== undefined), `the frames on ${count} bare sockets`, ROUND_DEADLINE_MS, 20);
        if (e > 0) add(`socket/floor/${count}/written`, [msSince(BigInt(bare.at), BigInt(bare.written))]);
        if (e > 0)
          add(
            `socket/floor/${count}`,
            floorGot.map((g) => msSince(BigInt(bare.at), g!)),
          );
      }
      await closeClients(floor);
    }

    const cases: FanoutCase[] = [];
    const row = (kind: FanoutCase['kind'], side: FanoutCase['side'], clients: number, key: string) => {
      const values = samples.get(key) ?? [];
      const written = samples.get(`${key}/written`);
      const c: FanoutCase = {
        kind,
        side,
        clients,
        ms: quantiles(values),
        samples: values.length,
        ...(written ? { writtenMs: quantiles(written) } : {}),
      };
      cases.push(c);
      const f = (x: number) => x.toFixed(1);
      log(
        `${kind === 'wakeup' ? `wake-up of ${clients} held reloads` : `fan-out to ${clients} subscribers`}, ${side === 'ours' ? 'ours' : 'floor (bare uWS, no work)'}: ` +
          `p50 ${f(c.ms.p50)} ms, p95 ${f(c.ms.p95)} ms, p99 ${f(c.ms.p99)} ms, max ${f(c.ms.max)} ms (${c.samples} samples)` +
          (c.writtenMs ? `; the server's last write at p50 ${f(c.writtenMs.p50)} ms, max ${f(c.writtenMs.max)} ms` : ''),
      );
    };
    row('wakeup', 'floor', options.waiters, 'wakeup/floor');
    row('wakeup', 'ours', options.waiters, 'wakeup/ours');
    for (const count of options.subscribers) {
      row('socket', 'floor', count, `socket/floor/${count}`);
      row('socket', 'ours', count, `socket/ours/${count}`);
    }
    return { pinned: pin, events: options.events, playlistBytes, frameBytes, cases };
  } finally {
    restore?.();
    await stopTarget(target.child);
  }
}
