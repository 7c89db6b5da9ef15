/**
 * Test media, made and read back with the real ffmpeg (an independent encoder and decoder): chunks cut
 * as the capture client cuts them (keeping the capture's own timestamps, a keyframe at every border,
 * the capture origin in the metadata) — the one generator tests and benchmarks use — and decoding,
 * probing and CMAF playlists of what the server made.
 */
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { captureVideoArgs } from '../capture-client/encoding.ts';
import { defaultFfmpeg } from '../capture-client/ffmpeg-path.ts';

const exec = promisify(execFile);

/** The ffmpeg the tests run: FFMPEG_PATH, else PATH, else the npm-packaged binary (as the server finds it). */
export const ffmpeg = defaultFfmpeg(process.env);

/** `seconds` of the test pattern (`size`, `fps`) with a tone, in `chunkSeconds` chunks: the common case of makeChunks. */
export function testPattern(opts: { seconds: number; chunkSeconds: number; size?: string; fps?: number }): Promise<Buffer[]> {
  return makeChunks({
    video: `testsrc2=size=${opts.size ?? '160x90'}:rate=${opts.fps ?? 30}`,
    audio: true,
    seconds: opts.seconds,
    chunkSeconds: opts.chunkSeconds,
  });
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

export interface ChunkSpec {
  /** lavfi video source, e.g. `testsrc2=size=160x90:rate=30`. */
  video: string;
  audio?: boolean;
  /** Seconds of the recording before its sound starts (a capture whose sound comes late). */
  audioDelay?: number;
  /** How long the sound lasts (default: to the end). */
  audioSeconds?: number;
  seconds: number;
  chunkSeconds: number;
  /** Capture origin (µs since the epoch) written into each chunk's metadata. */
  originMicros?: number;
  /** The video track's MP4 timescale (ffmpeg picks one from the rate otherwise). */
  timescale?: number;
}

/** Cuts a lavfi source into MP4 chunks exactly as the capture client does. */
export async function makeChunks(spec: ChunkSpec): Promise<Buffer[]> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-pool-'));
  try {
    await exec(ffmpeg, [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      spec.video,
      ...(spec.audio
        ? [
            ...(spec.audioDelay ? ['-itsoffset', String(spec.audioDelay)] : []),
            '-f',
            'lavfi',
            '-i',
            `sine=frequency=440:sample_rate=48000${spec.audioSeconds ? `:duration=${spec.audioSeconds}` : ''}`,
            '-map',
            '0:v',
            '-map',
            '1:a',
            '-c:a',
            'aac',
          ]
        : []),
      '-t',
      String(spec.seconds),
      ...captureVideoArgs(spec.chunkSeconds),
      ...(spec.originMicros ? ['-metadata', `stereospot_capture_origin=${spec.originMicros}`] : []),
      '-f',
      'segment',
      '-segment_time',
      String(spec.chunkSeconds),
      '-segment_format',
      'mp4',
      '-segment_format_options',
      `movflags=+use_metadata_tags${spec.timescale ? `:video_track_timescale=${spec.timescale}` : ''}`,
      '-reset_timestamps',
      '0',
      path.join(dir, 'chunk_%05d.mp4'),
    ]);
    const names = (await readdir(dir)).filter((n) => n.startsWith('chunk_')).sort();
    return await Promise.all(names.map((n) => readFile(path.join(dir, n))));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * A chunk as a static screen records it: one frame, then only sound for `seconds` (browsers send a
 * screen's frames only when something changes).
 */
export async function oneFrameWithSound(seconds: number): Promise<Buffer> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-pool-'));
  try {
    const file = path.join(dir, 'chunk.mp4');
    await exec(ffmpeg, [
      '-v',
      'error',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=160x90:rate=30:duration=0.03',
      '-f',
      'lavfi',
      '-i',
      `sine=frequency=440:sample_rate=48000:duration=${seconds}`,
      '-map',
      '0:v',
      '-map',
      '1:a',
      '-c:v',
      'libx264',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      file,
    ]);
    return await readFile(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Writes init + segments + a CMAF playlist into a temp folder; returns the playlist path and a cleanup. */
export async function writeCmafPlaylist(
  init: Uint8Array,
  segments: Array<{ media: Uint8Array; duration: number }>,
): Promise<{ playlist: string; dir: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-cmaf-'));
  await writeFile(path.join(dir, 'init.mp4'), init);
  const lines = ['#EXTM3U', '#EXT-X-VERSION:6', '#EXT-X-TARGETDURATION:2', '#EXT-X-MEDIA-SEQUENCE:0', '#EXT-X-MAP:URI="init.mp4"'];
  for (const [i, s] of segments.entries()) {
    await writeFile(path.join(dir, `seg_${i}.m4s`), s.media);
    lines.push(`#EXTINF:${s.duration.toFixed(3)},`, `seg_${i}.m4s`);
  }
  lines.push('#EXT-X-ENDLIST', '');
  const playlist = path.join(dir, 'list.m3u8');
  await writeFile(playlist, lines.join('\n'));
  return { playlist, dir, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

/** Decodes every video frame of `input` to 8-bit gray (or packed rgb24), `width`×`height` each. */
export function decodeGray(input: string, width: number, height: number, format: 'gray' | 'rgb24' = 'gray'): Promise<Uint8Array[]> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-v', 'error', '-i', input, '-map', '0:v:0', '-f', 'rawvideo', '-pix_fmt', format, '-']);
    const parts: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => parts.push(d));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`ffmpeg exited with ${code}: ${stderr}`));
      const all = Buffer.concat(parts);
      const size = width * height * (format === 'rgb24' ? 3 : 1);
      const frames: Uint8Array[] = [];
      for (let o = 0; o + size <= all.length; o += size) frames.push(all.subarray(o, o + size));
      resolve(frames);
    });
  });
}
