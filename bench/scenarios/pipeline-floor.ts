/**
 * The floor under any converter of this output (issue 23): ffmpeg's own decode → the picture twice side
 * by side (hstack, no depth, no warp) → x264 ultrafast/zerolatency of the same chunks, run in as many
 * lanes as the pool has workers, one thread each as the workers have. Our realtime factor divided by
 * this one says how much of the possible speed the depth and the warp leave.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

/** Media seconds per wall second for the floor transcode of `chunks` (each `chunkSeconds` long). */
export async function floorRealtime(
  ffmpeg: string,
  chunks: Uint8Array[],
  chunkSeconds: number,
  outputHeight: number,
  lanes: number,
): Promise<number> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-floor-'));
  try {
    const files = await Promise.all(
      chunks.map(async (chunk, i) => {
        const file = path.join(dir, `chunk_${i}.mp4`);
        await writeFile(file, chunk);
        return file;
      }),
    );
    const t0 = performance.now();
    let next = 0;
    const lane = async () => {
      while (next < files.length) await transcode(ffmpeg, files[next++]!, outputHeight);
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    return (chunks.length * chunkSeconds) / ((performance.now() - t0) / 1000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function transcode(ffmpeg: string, file: string, height: number): Promise<void> {
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-threads',
    '1',
    '-i',
    file,
    '-filter_threads',
    '1',
    '-filter_complex',
    `[0:v]scale=-2:${height},split[l][r];[l][r]hstack[v]`,
    '-map',
    '[v]',
    '-map',
    '0:a?',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-tune',
    'zerolatency',
    '-crf',
    '23',
    '-threads',
    '1',
    '-c:a',
    'copy',
    '-f',
    'null',
    '-',
  ];
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`the floor transcode failed (${code}): ${stderr.trim()}`))));
  });
}
