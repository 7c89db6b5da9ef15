/** Test media for benchmarks, generated with ffmpeg exactly as the capture client cuts it. */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export async function generateChunks(
  ffmpeg: string,
  dir: string,
  opts: { width: number; height: number; fps: number; chunks: number; chunkSeconds: number },
): Promise<Buffer[]> {
  await exec(ffmpeg, [
    '-v',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${opts.width}x${opts.height}:rate=${opts.fps}`,
    '-f',
    'lavfi',
    '-i',
    'sine=frequency=440:sample_rate=48000',
    '-t',
    String(opts.chunks * opts.chunkSeconds),
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-tune',
    'zerolatency',
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
  const names = (await readdir(dir)).filter((n) => n.startsWith('chunk_')).sort();
  return Promise.all(names.map((n) => readFile(path.join(dir, n))));
}
