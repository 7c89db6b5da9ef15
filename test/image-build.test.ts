/**
 * The Dockerfile's stages that need only the package registries, run here: the files its COPY lines
 * name are copied into a clean folder; the build stage's type-check runs on them; the runtime stage's
 * production install (`npm ci --omit=dev`) is made, and the server boots from it and answers.
 * (The CUDA download of onnxruntime-node and the CUDA base image need the network of a real build.)
 */
import { execFile, spawn } from 'node:child_process';
import { cp, readFile, symlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import t from 'tap';
import { tempDir, until } from '../testkit/server.ts';

const exec = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

/** The local sources each stage COPYs (`COPY a b dest`, not `--from`), by stage name. */
async function copiedSources(): Promise<Map<string, string[]>> {
  const text = await readFile(path.join(root, 'Dockerfile'), 'utf8');
  const stages = new Map<string, string[]>();
  let stage = '';
  for (const line of text.split('\n')) {
    const from = /^FROM\s+\S+(?:\s+AS\s+(\S+))?/i.exec(line);
    if (from) {
      stage = from[1] ?? '';
      stages.set(stage, []);
      continue;
    }
    const copy = /^COPY\s+(?!--)(.+)$/i.exec(line.trim());
    if (copy) stages.get(stage)!.push(...copy[1]!.trim().split(/\s+/).slice(0, -1));
  }
  return stages;
}

async function stageFolder(t: Parameters<typeof tempDir>[0], sources: string[]): Promise<string> {
  const dir = await tempDir(t, 'stereospot-image-');
  for (const src of sources) await cp(path.join(root, src), path.join(dir, src), { recursive: true });
  return dir;
}

t.test('the build stage type-checks the server from exactly the files the Dockerfile copies', async (t) => {
  const stages = await copiedSources();
  const dir = await stageFolder(t, stages.get('build')!);
  // Same lockfile as the stage's `npm ci`: reuse this checkout's install rather than download it again.
  await symlink(path.join(root, 'node_modules'), path.join(dir, 'node_modules'));
  const { stdout } = await exec(path.join(root, 'node_modules/.bin/tsc'), ['--noEmit', '-p', 'tsconfig.build.json'], { cwd: dir }).catch(
    (e: { stdout: string }) => ({ stdout: e.stdout }),
  );
  t.equal(stdout.trim(), '', 'tsc reports no errors');
});

t.test('the runtime stage: a production install boots the server, which answers', async (t) => {
  const stages = await copiedSources();
  const dir = await stageFolder(t, [...new Set([...stages.get('deps')!, ...stages.get('runtime')!])]);
  await exec('npm', ['ci', '--omit=dev', '--no-audit', '--no-fund', '--ignore-scripts', '--prefer-offline'], {
    cwd: dir,
    timeout: 300_000,
  });
  const server = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: dir,
    env: {
      ...process.env,
      PORT: '0',
      HOST: '127.0.0.1',
      DATA_DIR: path.join(dir, 'data'),
      GPU_POOL_WORKERS: '1',
      EXECUTION_PROVIDER: 'cpu',
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  t.teardown(() => void server.kill('SIGKILL'));
  let log = '';
  server.stderr.on('data', (d: Buffer) => (log += d.toString()));
  const exited = new Promise<number | null>((r) => server.on('close', r));
  const url = await until(() => /listening url=(\S+)/.exec(log)?.[1], 'the server to listen', 60_000);
  const health = await fetch(`${url}/healthz`);
  t.equal(health.status, 200);
  const created = await fetch(`${url}/stream_sessions`, { method: 'POST', body: '{"mode":"sbs"}' });
  t.equal(created.status, 200, 'sessions can be created');
  t.match(log, /gpu pool ready/, 'the pool (onnxruntime, worker threads) started from production dependencies');
  server.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM shuts down cleanly');
});
