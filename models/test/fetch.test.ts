/**
 * `npm run models -- fetch` as a user runs it, against a local HTTP server of the test's own serving a
 * network (the FastDepth file from STEREOSPOT_TEST_DEPTH_MODEL when set, else 3 MiB of random bytes —
 * the fetching does not depend on what the bytes are): a verified fetch, an interrupted one resumed
 * with a Range request, a wrong checksum, and a recorded checksum that a changed file no longer matches.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import t, { type Test } from 'tap';
import { loadConfig } from '../../server/config.ts';

const MODEL = process.env.STEREOSPOT_TEST_DEPTH_MODEL;
const real = MODEL !== undefined && existsSync(MODEL);
if (!real) t.comment('STEREOSPOT_TEST_DEPTH_MODEL is not set: serving random bytes instead of the FastDepth file');
const CLI = fileURLToPath(new URL('../cli.ts', import.meta.url));

interface Served {
  url: string;
  /** Range headers the server saw, in order ('' for none). */
  ranges: string[];
  /** Cut the next response after this many bytes (then the connection is destroyed). */
  cutNextAt: number | null;
  body: Buffer;
}

async function serve(t: Test, body: Buffer): Promise<Served> {
  const served: Served = { url: '', ranges: [], cutNextAt: null, body };
  const server = http.createServer((req, res) => {
    const range = req.headers.range ?? '';
    served.ranges.push(range);
    const from = /^bytes=(\d+)-$/.exec(range);
    const start = from ? Number(from[1]) : 0;
    const bytes = served.body.subarray(start);
    res.writeHead(from ? 206 : 200, { 'Content-Length': String(bytes.length), 'Content-Type': 'application/octet-stream' });
    const cut = served.cutNextAt;
    served.cutNextAt = null;
    if (cut === null) return void res.end(bytes);
    res.write(bytes.subarray(0, cut), () => setTimeout(() => res.destroy(), 50));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  served.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/fastdepth-224.onnx`;
  return served;
}

function cli(dir: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', CLI, ...args], { env: { ...process.env, MODELS_DIR: dir } }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

async function cacheDir(t: Test): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-models-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const body = real ? readFileSync(MODEL!) : randomBytes(3 * 1024 * 1024);
const sha = createHash('sha256').update(body).digest('hex');

t.test('a verified fetch: the file, its sidecar and its checksum in the cache; DEPTH_MODEL finds it', async (t) => {
  const served = await serve(t, body);
  const dir = await cacheDir(t);
  const run = await cli(dir, ['fetch', served.url, '--name', 'fd', '--family', 'fastdepth', '--sha256', sha]);
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, new RegExp(`fd: ${body.length} bytes, sha256 ${sha} \\(verified\\)`));
  t.match(run.stderr, /100 %/, 'progress shown');
  t.same(await readFile(path.join(dir, 'fd.onnx')), body, 'the bytes served');
  t.same(
    JSON.parse(await readFile(path.join(dir, 'fd.json'), 'utf8')),
    { family: 'fastdepth', licence: 'MIT' },
    'the sidecar says what it is',
  );
  t.same(JSON.parse(await readFile(path.join(dir, 'checksums.json'), 'utf8')), { fd: sha });
  t.equal(
    loadConfig({ MODELS_DIR: dir, DEPTH_MODEL: 'fd' }).depthModelPath,
    path.join(dir, 'fd.onnx'),
    'DEPTH_MODEL=fd is the cached file',
  );
  t.throws(
    () => loadConfig({ MODELS_DIR: dir, DEPTH_MODEL: 'other' }),
    /DEPTH_MODEL=other: not in the model cache .*npm run models -- fetch other/,
  );
  t.throws(() => loadConfig({ MODELS_DIR: dir, DEPTH_MODEL: '../fd' }), /DEPTH_MODEL must be a cached model's name/);
  const listed = await cli(dir, ['list']);
  t.match(listed.stdout, /fd\s+cached\s+\(fetched from a URL\)/);
  t.equal((await cli(dir, ['path', 'fd'])).stdout.trim(), path.join(dir, 'fd.onnx'));
});

t.test('an interrupted download resumes where it stopped, with a Range request', async (t) => {
  const served = await serve(t, body);
  const dir = await cacheDir(t);
  const half = Math.floor(body.length / 2);
  served.cutNextAt = half;
  const first = await cli(dir, ['fetch', served.url, '--name', 'fd', '--sha256', sha]);
  t.equal(first.code, 1, 'the interrupted run fails');
  t.match(first.stderr, /the download stopped at \d+ of \d+ bytes.*run the same command again to resume/);
  t.notOk(existsSync(path.join(dir, 'fd.onnx')), 'nothing under the model name yet');
  const partial = (await readFile(path.join(dir, 'fd.onnx.part'))).length;
  t.ok(partial > 0 && partial <= half, `the part kept (${partial} bytes)`);
  const second = await cli(dir, ['fetch', served.url, '--name', 'fd', '--sha256', sha]);
  t.equal(second.code, 0, second.stderr);
  t.same(served.ranges, ['', `bytes=${partial}-`], 'the second run asked for the rest only');
  t.match(second.stderr, /resumed at/);
  t.same(await readFile(path.join(dir, 'fd.onnx')), body, 'and the file is whole and verified');
  t.same(
    (await readdir(dir)).filter((n) => n.endsWith('.part')),
    [],
    'no part left',
  );
});

t.test('a wrong checksum leaves nothing in the cache, naming both sums', async (t) => {
  const served = await serve(t, body);
  const dir = await cacheDir(t);
  const wrong = 'f'.repeat(64);
  const run = await cli(dir, ['fetch', served.url, '--name', 'fd', '--sha256', wrong]);
  t.equal(run.code, 1);
  t.match(run.stderr, new RegExp(`checksum mismatch .*expected sha256 ${wrong}, got ${sha}; the download was discarded`));
  t.same(await readdir(dir), [], 'no file, no part, no record');
});

t.test('an unpinned file: its first checksum is recorded, and a changed file is refused later', async (t) => {
  const served = await serve(t, body);
  const dir = await cacheDir(t);
  const first = await cli(dir, ['fetch', served.url, '--name', 'fd']);
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /\(recorded: later fetches must match\)/);
  t.match(first.stdout, /describe it in .*fd\.json/, 'no family given: the user is told to describe it');
  await rm(path.join(dir, 'fd.onnx'));
  served.body = Buffer.concat([body.subarray(0, body.length - 1), Buffer.from([body[body.length - 1]! ^ 0xff])]);
  const again = await cli(dir, ['fetch', served.url, '--name', 'fd']);
  t.equal(again.code, 1);
  t.match(again.stderr, /checksum mismatch/);
});

t.test('usage errors are named', async (t) => {
  const dir = await cacheDir(t);
  t.match(await cli(dir, ['fetch', 'no-such-model']), { code: 2, stderr: /neither a catalogue entry .* nor an http\(s\) URL/ });
  t.match(await cli(dir, ['fetch', 'http://127.0.0.1:9/x.onnx']), { code: 2, stderr: /a URL needs --name NAME/ });
  t.match(await cli(dir, ['fetch', 'http://127.0.0.1:9/x.onnx', '--name', 'x', '--family', 'nope']), {
    code: 2,
    stderr: /--family must be one of/,
  });
  t.match(await cli(dir, ['path', 'missing']), { code: 2, stderr: /not in the cache; fetch it first/ });
  t.match(await cli(dir, ['list']), { code: 0, stdout: /depth-anything-v2-small\s+not fetched/ });
});
