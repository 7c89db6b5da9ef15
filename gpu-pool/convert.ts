/**
 * One chunk through the pipeline: ffmpeg decode → depth model → stereo → ffmpeg encode (MPEG-TS).
 * Decode, compute and encode overlap: frames stream through pipes with backpressure.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { StderrTail } from './ffmpeg.ts';
import type { DepthModel } from './model.ts';
import { outputSize, probe } from './probe.ts';
import { renderStereo, thumbnail, updateDepthState } from './stereo.ts';
import type { ChunkResult, ChunkTask, DepthState } from './types.ts';

export interface ConvertOptions {
  ffmpeg: string;
  model: DepthModel;
  strength: number;
}

function spawnFfmpeg(ffmpeg: string, args: string[]): { child: ChildProcessWithoutNullStreams; stderr: StderrTail; done: Promise<number | null> } {
  const child = spawn(ffmpeg, ['-hide_banner', '-nostdin', '-loglevel', 'error', ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr = new StderrTail();
  child.stderr.on('data', (d: Buffer) => stderr.push(d));
  child.stdin.on('error', () => {});
  const done = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  return { child, stderr, done };
}

function write(stream: NodeJS.WritableStream, data: Uint8Array): Promise<void> {
  return new Promise((resolve, reject) => {
    const ok = stream.write(data, (error) => (error ? reject(error) : undefined));
    if (ok) resolve();
    else stream.once('drain', resolve);
  });
}

export async function convertChunk(task: ChunkTask, options: ConvertOptions): Promise<ChunkResult> {
  const t0 = performance.now();
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-chunk-'));
  const input = path.join(dir, `chunk-${randomBytes(4).toString('hex')}.mp4`);
  const children: ChildProcessWithoutNullStreams[] = [];
  try {
    await writeFile(input, task.chunk);
    const info = await probe(options.ffmpeg, input);
    const { width, height } = outputSize(info, task.outputHeight);
    const outWidth = task.mode === 'sbs' ? width * 2 : width;
    const decoder = spawnFfmpeg(options.ffmpeg, [
      // Passthrough: exactly the chunk's frames, no duplicates to fill a constant rate.
      '-i', input, '-map', '0:v:0', '-an', '-vsync', '0', '-vf', `scale=${width}:${height}:flags=bilinear`,
      '-pix_fmt', 'rgb24', '-f', 'rawvideo', 'pipe:1',
    ]);
    children.push(decoder.child);
    // Timestamps stay on the capture's own timeline (-copyts): audio is copied with its original
    // times and the stereo video is placed at the chunk's first frame time, so consecutive segments
    // join without overlap or gap and can be produced in any order.
    const videoStart = info.videoStart ?? info.start;
    const encoder = spawnFfmpeg(options.ffmpeg, [
      '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${outWidth}x${height}`, '-r', String(info.fps), '-i', 'pipe:0',
      '-copyts', '-i', input, '-map', '0:v', '-map', '1:a?', '-c:a', 'copy',
      '-vf', `setpts=PTS+${videoStart.toFixed(6)}/TB`,
      '-c:v', 'libx264', '-preset', 'ultrafast', '-tune', 'zerolatency', '-pix_fmt', 'yuv420p',
      '-g', String(Math.max(1, Math.round(info.fps * 2))),
      '-muxdelay', '0', '-muxpreload', '0',
      '-mpegts_flags', '+initial_discontinuity', '-f', 'mpegts', 'pipe:1',
    ]);
    children.push(encoder.child);
    const segmentParts: Buffer[] = [];
    encoder.child.stdout.on('data', (d: Buffer) => segmentParts.push(d));

    const frameBytes = width * height * 3;
    const frame = new Uint8Array(frameBytes);
    const disparity = new Float32Array(width);
    let filled = 0;
    let frames = 0;
    let depthState: DepthState | null = task.depth;
    const timings = { decode: 0, depth: 0, stereo: 0, encode: 0, total: 0 };

    const processFrame = async () => {
      let t = performance.now();
      const { depth, width: dw, height: dh } = await options.model.estimate(frame, width, height);
      depthState = updateDepthState(depthState, depth, thumbnail(frame, width, height));
      timings.depth += performance.now() - t;
      t = performance.now();
      const out = new Uint8Array(outWidth * height * 3);
      renderStereo(frame, width, height, depth, dw, dh, depthState, { mode: task.mode, strength: options.strength }, out, disparity);
      timings.stereo += performance.now() - t;
      t = performance.now();
      await write(encoder.child.stdin, out);
      timings.encode += performance.now() - t;
      frames++;
    };

    let waitStart = performance.now();
    for await (const piece of decoder.child.stdout as AsyncIterable<Buffer>) {
      timings.decode += performance.now() - waitStart;
      let offset = 0;
      while (offset < piece.length) {
        const n = Math.min(frameBytes - filled, piece.length - offset);
        frame.set(piece.subarray(offset, offset + n), filled);
        filled += n;
        offset += n;
        if (filled === frameBytes) {
          await processFrame();
          filled = 0;
        }
      }
      waitStart = performance.now();
    }
    const decodeCode = await decoder.done;
    if (decodeCode !== 0) throw new Error(`decoding failed (ffmpeg exit ${decodeCode}): ${decoder.stderr.lastLines()}`);
    if (frames === 0) throw new Error('decoding produced no frames');
    const tEnc = performance.now();
    encoder.child.stdin.end();
    const encodeCode = await encoder.done;
    timings.encode += performance.now() - tEnc;
    if (encodeCode !== 0) throw new Error(`encoding failed (ffmpeg exit ${encodeCode}): ${encoder.stderr.lastLines()}`);
    timings.total = performance.now() - t0;
    const segment = Buffer.concat(segmentParts);
    return {
      segment: new Uint8Array(segment.buffer, segment.byteOffset, segment.byteLength),
      duration: frames / info.fps,
      start: videoStart,
      frames,
      fps: info.fps,
      width: outWidth,
      height,
      hasAudio: info.hasAudio,
      timings,
      depth: depthState ?? { min: 0, max: 1, thumb: [] },
    };
  } finally {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
    await rm(dir, { recursive: true, force: true });
  }
}
