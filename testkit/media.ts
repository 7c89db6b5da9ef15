/** Generates real H.264 + AAC MP4 chunks with ffmpeg, cut like the capture client cuts them. */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { defaultFfmpeg } from '../capture-client/ffmpeg-path.ts';

const exec = promisify(execFile);

/** The ffmpeg the tests run: FFMPEG_PATH, else PATH, else the npm-packaged binary (as the server finds it). */
export const ffmpeg = defaultFfmpeg(process.env);

/** `seconds` of test pattern + tone, cut into `chunkSeconds` chunks keeping their timestamps. */
export async function makeChunks(
  dir: string,
  opts: { seconds: number; chunkSeconds: number; size?: string; fps?: number },
): Promise<Buffer[]> {
  const size = opts.size ?? '160x90';
  const fps = opts.fps ?? 30;
  await exec(ffmpeg, [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${size}:rate=${fps}`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(opts.seconds),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-force_key_frames',
    `expr:gte(t,n_forced*${opts.chunkSeconds})`,
    '-sc_threshold',
    '0',
    '-f',
    'segment',
    '-segment_time',
    String(opts.chunkSeconds),
    '-segment_format',
    'mp4',
    '-reset_timestamps',
    '0',
    path.join(dir, 'chunk_%05d.mp4'),
  ]);
  const names = (await readdir(dir)).filter((n) => /^chunk_\d{5}\.mp4$/.test(n)).sort();
  return Promise.all(names.map((n) => readFile(path.join(dir, n))));
}

/**
 * Runs `ffmpeg -v warning -i url -fps_mode passthrough -f null -` and returns what it printed (empty =
 * clean decode). Frames keep their own timestamps: a variable-rate capture (a browser's canvas or
 * screen) is a valid stream, but ffmpeg would otherwise squeeze it onto a constant-rate clock and
 * complain about frames closer than one tick apart.
 */
export async function decodeWarnings(url: string): Promise<string> {
  const { stderr } = await exec(ffmpeg, [
    '-hide_banner',
    '-v',
    'warning',
    '-i',
    url,
    '-fps_mode',
    'passthrough',
    '-enc_time_base',
    '-1',
    '-f',
    'null',
    '-',
  ]);
  return stderr.trim();
}

/** Stream facts from `ffmpeg -i` (video size, audio presence, duration). */
export async function mediaInfo(url: string): Promise<{ width: number; height: number; hasAudio: boolean; duration: number }> {
  const { stderr } = await exec(ffmpeg, ['-hide_banner', '-i', url, '-f', 'null', '-']).catch((e: { stderr: string }) => ({
    stderr: e.stderr,
  }));
  const size = /Video: [^\n]*?(\d{2,5})x(\d{2,5})/.exec(stderr);
  const time = [...stderr.matchAll(/time=(\d+):(\d+):([\d.]+)/g)].pop();
  return {
    width: Number(size?.[1] ?? 0),
    height: Number(size?.[2] ?? 0),
    hasAudio: /Audio: /.test(stderr),
    duration: time ? Number(time[1]) * 3600 + Number(time[2]) * 60 + Number(time[3]) : 0,
  };
}

/**
 * One listed CMAF segment as a playable file: the init segment its `#EXT-X-MAP` names, then the
 * segment, fetched and written to a temp file (a CMAF segment alone has no track headers).
 */
export async function segmentWithInit(playlist: string, segmentUrl: string): Promise<string> {
  let map: string | undefined;
  for (const line of playlist.split('\n')) {
    const m = /^#EXT-X-MAP:URI="([^"]+)"/.exec(line);
    if (m) map = m[1];
    if (line === segmentUrl) break;
  }
  if (!map) throw new Error(`no EXT-X-MAP before ${segmentUrl}`);
  const [init, media] = await Promise.all(
    [map, segmentUrl].map(async (url) => {
      const res = await fetch(url);
      if (!res.ok) throw new Error(`GET ${url}: ${res.status}`);
      return Buffer.from(await res.arrayBuffer());
    }),
  );
  const file = path.join(await mkdtemp(path.join(os.tmpdir(), 'stereospot-seg-')), 'segment.mp4');
  await writeFile(file, Buffer.concat([init!, media!]));
  return file;
}

/** `ffprobe -v error` of `url`'s streams: the one beside the ffmpeg in use (Debian's package has both). */
export async function probeStreams(
  url: string,
): Promise<{ streams: Array<{ codec_name: string; width?: number; height?: number }>; stderr: string }> {
  const ffprobe = path.join(path.dirname(ffmpeg), 'ffprobe');
  const { stdout, stderr } = await exec(ffprobe, ['-v', 'error', '-show_entries', 'stream=codec_name,width,height', '-of', 'json', url]);
  return { ...(JSON.parse(stdout) as { streams: Array<{ codec_name: string; width?: number; height?: number }> }), stderr: stderr.trim() };
}
