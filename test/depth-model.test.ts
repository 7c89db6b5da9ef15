/**
 * DEPTH_MODEL_PATH as a person uses it: the server started with a real learned network (FastDepth,
 * from STEREOSPOT_TEST_DEPTH_MODEL, which .ci/run sets) and the capture CLI streaming through it; and a
 * network declared wrongly stops the server at start-up, saying why (gpu-pool/test/model.test.ts has
 * the undeclared and the badly declared graphs).
 */
import { existsSync } from 'node:fs';
import { copyFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { getText, playlistEntries } from '../testkit/http.ts';
import { decodeWarnings, mediaInfo } from '../testkit/media.ts';
import { runServerUntilExit, startTestServer, tempDir } from '../testkit/server.ts';
import { runCapture } from '../testkit/capture.ts';

const MODEL = process.env.STEREOSPOT_TEST_DEPTH_MODEL;
const missing = !MODEL || !existsSync(MODEL) ? 'STEREOSPOT_TEST_DEPTH_MODEL (fastdepth-224.onnx) is not set or not there' : null;
if (missing) t.comment(`the FastDepth stream test is skipped: ${missing} (.ci/run sets it from ../shared)`);

t.test(
  'DEPTH_MODEL_PATH=fastdepth-224.onnx: a capture streams through the learned network and plays',
  { skip: missing ?? false },
  async (t) => {
    const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu', DEPTH_MODEL_PATH: MODEL!, GPU_POOL_WORKERS: '2' } });
    const run = await runCapture([
      '--server',
      server.url,
      '--source',
      'test',
      '--size',
      '320x180',
      '--duration',
      '4',
      '--chunk-seconds',
      '2',
      '--no-realtime',
      '--json',
    ]);
    t.equal(run.code, 0, 'capture exits cleanly');
    if (run.code !== 0) t.comment(run.stderr.slice(-2000));
    t.match(
      run.events.find((e) => e.event === 'summary'),
      { chunks: 2, ready: 2, failed: 0, closed: true },
    );
    const playlistUrl = String(run.events.find((e) => e.event === 'session')!.playlist_url);
    const playlist = await getText(playlistUrl);
    t.same(playlistEntries(playlist.text).length, 2, 'two segments, no gap');
    t.equal(await decodeWarnings(playlistUrl), '', 'ffmpeg decodes the whole playlist without a warning');
    const info = await mediaInfo(playlistUrl);
    t.match(info, { width: 640, height: 180, hasAudio: true });
    t.ok(
      server.logs.some(
        (line) =>
          /gpu pool ready/.test(line) && /family=fastdepth/.test(line) && /output=metric-depth/.test(line) && /licence=MIT/.test(line),
      ),
      'the log says which network runs, what it returns and its licence',
    );
  },
);

t.test('a network declared wrongly stops the server at start-up, saying why', { skip: missing ?? false }, async (t) => {
  // The FastDepth file declared as another family: the declaration and the graph disagree.
  const dir = await tempDir(t);
  const copy = path.join(dir, 'mystery.onnx');
  await copyFile(MODEL!, copy);
  await writeFile(path.join(dir, 'mystery.json'), JSON.stringify({ family: 'midas-v2.1-small' }));
  const { code, output } = await runServerUntilExit({
    HOST: '127.0.0.1',
    PORT: '0',
    DATA_DIR: dir,
    DEPTH_MODEL_PATH: copy,
    EXECUTION_PROVIDER: 'cpu',
    GPU_POOL_WORKERS: '1',
  });
  t.not(code, 0, 'the server does not start');
  t.match(output, /mystery\.onnx: declared input size 256x256 differs from the graph's 224x224/, 'and says why');
});
