/**
 * The capture CLI on a real desktop of the test's own (Xvfb + PulseAudio with a null sink): the screen
 * with the system's sound (`--audio system`, PulseAudio's monitor of the default output) becomes
 * stereo segments that carry the sound that was playing — and without `--audio` they are silent.
 */
import t from 'tap';
import { runCapture } from '../testkit/capture.ts';
import { startDesktop } from '../testkit/desktop.ts';
import { getText, playlistEntries } from '../testkit/http.ts';
import { ffmpeg, probeStreams, segmentWithInit } from '../testkit/media.ts';
import { startTestServer } from '../testkit/server.ts';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);

/** Mean volume (dB) of a file's audio, from ffmpeg's volumedetect. */
async function meanVolume(file: string): Promise<number> {
  const { stderr } = await exec(ffmpeg, ['-hide_banner', '-i', file, '-map', '0:a', '-af', 'volumedetect', '-f', 'null', '-']);
  const m = /mean_volume: (-?[\d.]+|-inf) dB/.exec(stderr);
  if (!m) throw new Error(`no volume measured: ${stderr.slice(-500)}`);
  return m[1] === '-inf' ? -Infinity : Number(m[1]);
}

t.test('screen + system sound from PulseAudio become segments that carry the sound', async (t) => {
  const desktop = await startDesktop(t);
  desktop.playTone(ffmpeg, 660);
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu', CHUNK_SECONDS: '1' } });
  const run = await runCapture(
    ['--server', server.url, '--source', 'screen', '--audio', 'system', '--duration', '3', '--json', '--quiet'],
    desktop.env,
  );
  t.equal(run.code, 0, 'the capture ends cleanly');
  if (run.code !== 0) t.comment(run.stderr.slice(-2000));
  const summary = run.events.find((e) => e.event === 'summary');
  t.match(summary, { failed: 0, closed: true });
  t.ok(Number(summary?.ready) >= 1, `segments ready (${String(summary?.ready)})`);
  const session = run.events.find((e) => e.event === 'session')!;
  const playlist = (await getText(String(session.playlist_url))).text;
  const { streams } = await probeStreams(await segmentWithInit(playlist, playlistEntries(playlist)[0]!));
  t.same(streams.map((s) => s.codec_name).sort(), ['aac', 'h264'], 'stereo video with the sound');
  t.same(streams.find((s) => s.codec_name === 'h264')?.width, 1280, 'the 640-px screen, side by side');
  const volume = await meanVolume(String(session.playlist_url));
  t.ok(volume > -40, `the tone that was playing is in the segment (${volume.toFixed(1)} dB)`);
});

t.test('without --audio the screen is captured silent', async (t) => {
  const desktop = await startDesktop(t);
  desktop.playTone(ffmpeg, 660);
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu', CHUNK_SECONDS: '1' } });
  const run = await runCapture(['--server', server.url, '--source', 'screen', '--duration', '2', '--json', '--quiet'], desktop.env);
  t.equal(run.code, 0);
  const session = run.events.find((e) => e.event === 'session')!;
  const playlist = (await getText(String(session.playlist_url))).text;
  const segment = await segmentWithInit(playlist, playlistEntries(playlist)[0]!);
  const { streams } = await probeStreams(segment);
  // The same tracks as any stream (a player cannot add one mid-stream), with nothing in the sound track.
  t.same(streams.map((s) => s.codec_name).sort(), ['aac', 'h264'], 'video and a silent track');
  const volume = await meanVolume(segment);
  t.ok(volume <= -90, `the tone that was playing is not captured (${volume} dB)`);
});
