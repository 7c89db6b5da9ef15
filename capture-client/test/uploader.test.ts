import http from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import type { HttpUploadTarget } from '../../protocol/messages.ts';
import { HttpChunkUploader } from '../uploader.ts';

/** A tiny upload endpoint that answers with the statuses it is given, in order. */
async function endpoint(t: Test, statuses: number[]) {
  const seen: Array<{ url: string; auth: string | undefined; bytes: number }> = [];
  const server = http.createServer((req, res) => {
    let bytes = 0;
    req.on('data', (d: Buffer) => (bytes += d.length));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', auth: req.headers.authorization, bytes });
      const status = statuses.shift() ?? 201;
      res.writeHead(status, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify(status < 300 ? { ok: true } : { error: 'x', message: `said ${status}` }));
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const port = (server.address() as { port: number }).port;
  const target: HttpUploadTarget = {
    type: 'http',
    access_key_id: 'local',
    secret_access_key: '',
    session_token: 'tok',
    bucket: 'local',
    region: 'local',
    expires_at: new Date(Date.now() + 3600_000).toISOString(),
    key_prefix: 'stream_input/s/',
    url_template: `http://127.0.0.1:${port}/upload/s/{file}`,
    token: 'tok',
    max_bytes: 1 << 20,
  };
  return { seen, target };
}

async function chunkFile(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-up-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'chunk.mp4');
  await writeFile(file, Buffer.alloc(1234, 7));
  return file;
}

const fast = { attempts: 4, baseDelayMs: 1, maxDelayMs: 5 };

t.test('5xx is retried with backoff until it succeeds, with the bearer token', async (t) => {
  const { seen, target } = await endpoint(t, [503, 502, 201]);
  const retries: number[] = [];
  const up = new HttpChunkUploader(target, fast, (_i, attempt) => retries.push(attempt));
  const outcome = await up.upload(3, await chunkFile(t));
  t.same(outcome, { ok: true, attempts: 3 });
  t.same(retries, [1, 2]);
  t.same(
    seen.map((s) => s.url),
    Array(3).fill('/upload/s/chunk_00003.mp4'),
  );
  t.ok(seen.every((s) => s.auth === 'Bearer tok' && s.bytes === 1234));
});

t.test('a 4xx is final for that chunk and carries the server message', async (t) => {
  const { seen, target } = await endpoint(t, [415]);
  const outcome = await new HttpChunkUploader(target, fast).upload(0, await chunkFile(t));
  t.same(outcome, { ok: false, attempts: 1, error: '415 said 415', permanent: true });
  t.equal(seen.length, 1, 'not retried');
});

t.test('retries are bounded', async (t) => {
  const { seen, target } = await endpoint(t, [500, 500, 500, 500, 500]);
  const outcome = await new HttpChunkUploader(target, fast).upload(0, await chunkFile(t));
  t.match(outcome, { ok: false, attempts: 4, permanent: false });
  t.equal(seen.length, 4);
});

t.test('new credentials are used for later uploads', async (t) => {
  const { seen, target } = await endpoint(t, [201, 201]);
  const up = new HttpChunkUploader(target, fast);
  const file = await chunkFile(t);
  await up.upload(0, file);
  up.setTarget({ ...target, token: 'fresh' });
  await up.upload(1, file);
  t.same(
    seen.map((s) => s.auth),
    ['Bearer tok', 'Bearer fresh'],
  );
});

t.test('ending a session rides through a server that is briefly down or failing', async (t) => {
  const { endSession } = await import('../api.ts');
  const statuses = [503, 204];
  const seen: string[] = [];
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      seen.push(`${req.method} ${req.url} ${req.headers.authorization} ${body}`);
      res.writeHead(statuses.shift() ?? 204).end();
    });
  });
  // Not listening yet: the first attempts fail to connect.
  const port = await new Promise<number>((resolve) => {
    const probe = http.createServer();
    probe.listen(0, '127.0.0.1', () => {
      const p = (probe.address() as { port: number }).port;
      probe.close(() => resolve(p));
    });
  });
  const ending = endSession(`http://127.0.0.1:${port}`, 'abc', 'control-abc', 3, { attempts: 200, baseDelayMs: 20, maxDelayMs: 50 });
  setTimeout(() => server.listen(port, '127.0.0.1'), 100);
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  await ending;
  t.same(
    seen,
    ['POST /stream_sessions/abc/end Bearer control-abc {"chunks":3}', 'POST /stream_sessions/abc/end Bearer control-abc {"chunks":3}'],
    '503 retried with the control token, then 204',
  );
  const { ApiError } = await import('../api.ts');
  statuses.push(404);
  await t.rejects(
    endSession(`http://127.0.0.1:${port}`, 'abc', 'control-abc', 3, { attempts: 5, baseDelayMs: 1, maxDelayMs: 1 }),
    ApiError,
    'a 404 is final',
  );
});
