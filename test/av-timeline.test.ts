/**
 * One clock per capture, end to end: a file in which a flash and a beep start together at every whole
 * second goes through the capture CLI and the server, and on the decoded output playlist every beep
 * still starts with its flash (within ±20 ms, less than a frame at 30 fps); and a 6-s file comes out
 * as 6 s of video — as many frames as went in, in 6/N segments of N seconds — at every chunk length.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import t, { type Test } from 'tap';
import { makeFlashBeep, measureFlashBeep, syncOffsets } from './helpers/av-sync.ts';
import { runCapture } from './helpers/capture.ts';
import { getText } from '../server/test/helpers/http.ts';
import { startTestServer } from '../server/test/helpers/server.ts';

const ms = (seconds: number) => Math.round(seconds * 1000);

async function clip(t: Test, seconds: number): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-av-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = path.join(dir, `flash-beep-${seconds}s.mp4`);
  await makeFlashBeep(file, { seconds });
  return file;
}

/** Streams a file through the server in real time at `chunkSeconds`; resolves with the closed playlist. */
async function stream(t: Test, server: string, file: string, chunkSeconds: number): Promise<{ url: string; text: string }> {
  const run = await runCapture(['--server', server, '--source', `file:${file}`, '--chunk-seconds', String(chunkSeconds), '--json', '--quiet']);
  t.equal(run.code, 0, `the capture at ${chunkSeconds}-s chunks ends cleanly`);
  if (run.code !== 0) t.comment(run.stderr.slice(-2000));
  t.match(run.events.find((e) => e.event === 'summary'), { failed: 0, closed: true });
  const url = String(run.events.find((e) => e.event === 'session')!.playlist_url);
  return { url, text: (await getText(url)).text };
}

t.test('a flash and a beep captured together from a file play together (every pair within ±20 ms)', async (t) => {
  const file = await clip(t, 8);
  const source = await measureFlashBeep(file);
  t.same(syncOffsets(source).map(ms), [0, 0, 0, 0, 0, 0, 0, 0], 'the source itself is in sync');
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu' } });
  const { url } = await stream(t, server.url, file, 2);
  const out = await measureFlashBeep(url);
  t.equal(out.flashes.length, 8, `every flash is in the output (${out.flashes.map((f) => f.toFixed(3)).join(', ')})`);
  t.equal(out.beeps.length, 8, `every beep is in the output (${out.beeps.map((b) => b.toFixed(3)).join(', ')})`);
  const offsets = syncOffsets(out).map(ms);
  t.ok(offsets.every((o) => Math.abs(o) <= 20), `sound after picture, ms: ${offsets.join(', ')}`);
  const gaps = out.flashes.slice(1).map((f, i) => ms(f - out.flashes[i]!));
  t.same(gaps, gaps.map(() => 1000), 'the flashes are still one second apart');
});

t.test('a 6-s file gives as many frames and as much time as it has, at 0.5-, 1- and 2-s chunks', async (t) => {
  const file = await clip(t, 6);
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu' } });
  for (const chunkSeconds of [0.5, 1, 2]) {
    const { url, text } = await stream(t, server.url, file, chunkSeconds);
    const durations = [...text.matchAll(/#EXTINF:([\d.]+)/g)].map((m) => Number(m[1]));
    t.equal(durations.length, 6 / chunkSeconds, `${chunkSeconds}-s chunks: ${6 / chunkSeconds} segments (got ${durations.length})`);
    t.ok(durations.every((d) => Math.abs(d - chunkSeconds) < 0.001), `each ${chunkSeconds} s long (${durations.join(', ')})`);
    t.notMatch(text, /#EXT-X-GAP/);
    const out = await measureFlashBeep(url);
    t.equal(out.frames, 180, `180 frames in, ${out.frames} out`);
    t.equal(out.flashes.length, 6, 'the first frame is the first flash, not a copy held before it');
    t.ok(Math.abs(out.flashes[0]! - out.start) < 0.001, `the output starts with the first captured frame (${out.flashes[0]} vs ${out.start})`);
  }
});
