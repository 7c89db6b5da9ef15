/**
 * A live stream as a capture client sends it, for tests and benchmarks of the live path: ffmpeg's test
 * pattern (and a tone) encoded once with the capture client's settings, one fMP4 fragment per frame,
 * read by the capture client's own LiveFeed into a live_config and frames on a capture clock starting
 * at `origin` µs. Not in real time: every frame at once.
 */
import { spawn } from 'node:child_process';
import { captureVideoArgs } from '../capture-client/encoding.ts';
import { LiveFeed } from '../capture-client/live-feed.ts';
import type { LiveConfigMessage, LiveFrame } from '../protocol/live.ts';

export interface LiveStreamSpec {
  width: number;
  height: number;
  seconds: number;
  fps?: number;
  /** A keyframe every this many seconds (the chunk length). Default 0.5. */
  keyEvery?: number;
  audio?: boolean;
  /** The capture origin (µs since the epoch). Default: now. */
  origin?: number;
}

export async function liveStream(spec: LiveStreamSpec): Promise<{ config: LiveConfigMessage; frames: LiveFrame[] }> {
  const fps = spec.fps ?? 30;
  const origin = spec.origin ?? Date.now() * 1000;
  const args = [
    '-hide_banner',
    '-loglevel',
    'error',
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${spec.width}x${spec.height}:rate=${fps}:duration=${spec.seconds}`,
    ...(spec.audio ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${spec.seconds}`] : []),
    ...captureVideoArgs(spec.keyEvery ?? 0.5),
    // As the capture client: frames passed as they are, on a fine time base (a constant-rate output
    // would fill every tick of 1/90000 s with a copy).
    '-vsync',
    'vfr',
    '-enc_time_base:v',
    '1:90000',
    ...(spec.audio ? ['-c:a', 'aac', '-b:a', '128k'] : []),
    '-f',
    'mp4',
    '-movflags',
    '+frag_every_frame+empty_moov+default_base_moof+frag_discont',
    '-use_editlist',
    '1',
    'pipe:1',
  ];
  const child = spawn(process.env.FFMPEG ?? 'ffmpeg', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let config: LiveConfigMessage | null = null;
  const frames: LiveFrame[] = [];
  let failure: Error | null = null;
  const feed = new LiveFeed(() => origin, {
    config: (c) => (config = c),
    frame: (f) => frames.push(f),
    error: (e) => (failure = e),
  });
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => feed.push(d));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code !== 0) throw new Error(`ffmpeg failed (${code}): ${stderr.trim()}`);
  if (failure) throw failure;
  if (!config) throw new Error('the live stream had no keyframe');
  return { config, frames };
}
