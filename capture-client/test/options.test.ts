import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';
import { parseOptions, UsageError } from '../options.ts';

const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));

function runCli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

t.test('defaults', async (t) => {
  const o = parseOptions([], {});
  t.not(o, 'help');
  t.match(o, {
    server: 'http://127.0.0.1:8000',
    source: { kind: 'test' },
    mode: 'sbs',
    chunkSeconds: null,
    width: 640,
    height: 360,
    fps: 30,
    realtime: true,
  });
  t.match((o as { ffmpeg: string }).ffmpeg, /@ffmpeg-installer.*ffmpeg$/, 'no PATH, no FFMPEG_PATH: the npm-packaged binary');
  t.equal((parseOptions([], { FFMPEG_PATH: '/opt/ffmpeg' }) as { ffmpeg: string }).ffmpeg, '/opt/ffmpeg');
  t.equal((parseOptions(['--ffmpeg', '/x/ffmpeg'], { FFMPEG_PATH: '/opt/ffmpeg' }) as { ffmpeg: string }).ffmpeg, '/x/ffmpeg');
});

t.test('each bad option is named', async (t) => {
  const cases: Array<[string[], RegExp]> = [
    [['--mode', '3d'], /--mode/],
    [['--source', 'webcam'], /--source/],
    [['--source', 'file:/nonexistent.mp4'], /does not exist/],
    [['--chunk-seconds', '0'], /--chunk-seconds/],
    [['--size', '641x360'], /--size/],
    [['--server', 'ftp://x'], /--server/],
    [['--duration', 'abc'], /--duration/],
    [['--bogus'], /bogus/],
    [['--realtime', '--no-realtime'], /cannot both/],
  ];
  for (const [args, why] of cases) t.throws(() => parseOptions(args, {}), why, args.join(' '));
  t.throws(() => parseOptions(['--mode', 'x'], {}), UsageError);
});

t.test('the CLI prints help, and exits 2 naming the option on bad usage', async (t) => {
  const help = await runCli(['--help']);
  t.equal(help.code, 0);
  t.match(help.stdout, /Usage: npm run capture/);
  const bad = await runCli(['--mode', 'stereo']);
  t.equal(bad.code, 2);
  t.match(bad.stderr, /--mode must be one of sbs, half-sbs, tb/);
});

t.test('an unreachable server is a clear error, not a stack trace', async (t) => {
  const r = await runCli(['--server', 'http://127.0.0.1:9', '--no-realtime', '--duration', '1']);
  t.equal(r.code, 1);
  t.match(r.stderr, /cannot reach http:\/\/127\.0\.0\.1:9/);
  t.notMatch(r.stderr, /at .*\.ts:\d+/);
});
