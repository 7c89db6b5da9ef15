/**
 * The process the `control` benchmark loads: our server (local profile; conversions replaced by an
 * instant stand-in, so only the control plane works) holding one live and one ended session of
 * `--segments` segments, and beside it, in the same process over the same session service:
 *   - `node:http` doing the same work per playlist GET as our route (find the session, render or reuse
 *     its playlist, the same headers): the baseline;
 *   - a bare uWS app and a bare `node:http` server answering fixed bytes of the playlist's size (its gzip
 *     with `--gzip`): what
 *     the load generator and the transport reach with no work at all (the ceiling).
 * Prints one JSON line with the URLs, then runs until SIGTERM.
 */
import { BENCH_LIMITS } from './limits.ts';
import http from 'node:http';
import { mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { loadUws } from '../server/uws-native.ts';
import { FakePool } from '../testkit/fake-pool.ts';
import { giveSegments } from './fake-segments.ts';
import { loadConfig } from '../server/config.ts';
import { createLogger, memorySink } from '../server/log.ts';
import { acceptsGzip } from '../server/routes/stream.ts';
import { startServer } from '../server/server.ts';
import type { CreateSessionResponse } from '../protocol/messages.ts';

const uWS = loadUws().uws;

export interface ControlTargets {
  ours: { live: string; ended: string };
  baseline: { live: string; ended: string };
  ceiling: { uws: string; http: string };
  playlistBytes: number;
}

const { values } = parseArgs({ options: { segments: { type: 'string', default: '60' }, gzip: { type: 'boolean', default: false } } });
const segments = Number(values.segments);

const server = await startServer(
  loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    ...BENCH_LIMITS,
    DATA_DIR: await mkdtemp(path.join(os.tmpdir(), 'stereospot-bench-control-')),
  }),
  {
    log: createLogger('server', memorySink('warn')),
    pool: new FakePool(2),
  },
);

async function session(end: boolean): Promise<string> {
  const created = (await (await fetch(`${server.url}/stream_sessions`, { method: 'POST', body: '{}' })).json()) as CreateSessionResponse;
  await giveSegments(server.url, created, segments);
  if (end) await fetch(`${server.url}/stream_sessions/${created.session_id}/end`, { method: 'POST' });
  return created.session_id;
}

const live = await session(false);
const ended = await session(true);

// The baseline: the same work as our playlist route, on node:http.
const baseline = http.createServer((req, res) => {
  const m = /^\/stream\/([A-Za-z0-9_-]{1,64})\/playlist\.m3u8$/.exec(req.url ?? '');
  if (!m) {
    res.writeHead(404).end();
    return;
  }
  void (async () => {
    const view = await server.sessions.find(m[1]!);
    if (!view) {
      res.writeHead(404).end();
      return;
    }
    const base = `http://${req.headers.host}`;
    const headers: Record<string, string> = {
      'Content-Type': 'application/vnd.apple.mpegurl',
      'Cache-Control': 'no-store',
      'Access-Control-Allow-Origin': '*',
      Vary: 'Accept-Encoding',
    };
    if (acceptsGzip(req.headers['accept-encoding'])) {
      res.writeHead(200, { ...headers, 'Content-Encoding': 'gzip' }).end(await server.sessions.playlists.playlistGzip(view, base));
    } else {
      res.writeHead(200, headers).end(await server.sessions.playlists.playlist(view, base));
    }
  })().catch(() => res.writeHead(500).end());
});
baseline.keepAliveTimeout = 60_000;
await new Promise<void>((r) => baseline.listen(0, '127.0.0.1', r));
const baselinePort = (baseline.address() as { port: number }).port;

// The ceiling: fixed bytes of the same size (gzipped, as the playlist routes answer a player that accepts it), no work.
const text = await (await fetch(`${server.url}/stream/${live}/playlist.m3u8`)).text();
const sample = values.gzip ? gzipSync(text) : Buffer.from(text);
const encoding: Array<[string, string]> = values.gzip ? [['Content-Encoding', 'gzip']] : [];
const bare = uWS.App().get('/*', (res) => {
  res.cork(() => {
    res.writeHeader('Content-Type', 'application/vnd.apple.mpegurl');
    for (const [k, v] of encoding) res.writeHeader(k, v);
    res.end(sample);
  });
});
const barePort = await new Promise<number>((resolve, reject) =>
  bare.listen('127.0.0.1', 0, (socket) =>
    socket ? resolve(uWS.us_socket_local_port(socket)) : reject(new Error('bare uWS: listen failed')),
  ),
);
const plain = http.createServer((_req, res) =>
  res.writeHead(200, [['Content-Type', 'application/vnd.apple.mpegurl'], ...encoding].flat()).end(sample),
);
plain.keepAliveTimeout = 60_000;
await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
const plainPort = (plain.address() as { port: number }).port;

const targets: ControlTargets = {
  ours: { live: `${server.url}/stream/${live}/playlist.m3u8`, ended: `${server.url}/stream/${ended}/playlist.m3u8` },
  baseline: {
    live: `http://127.0.0.1:${baselinePort}/stream/${live}/playlist.m3u8`,
    ended: `http://127.0.0.1:${baselinePort}/stream/${ended}/playlist.m3u8`,
  },
  ceiling: { uws: `http://127.0.0.1:${barePort}/playlist.m3u8`, http: `http://127.0.0.1:${plainPort}/playlist.m3u8` },
  playlistBytes: sample.byteLength,
};
process.stdout.write(JSON.stringify(targets) + '\n');

process.once('SIGTERM', () => {
  baseline.close();
  plain.close();
  void server.close().then(() => process.exit(0));
});
