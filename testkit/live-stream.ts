/**
 * The live path from outside, for tests and benchmarks: a live stream as a capture client sends it
 * (ffmpeg's test pattern and a tone, encoded once with the capture client's settings, one fMP4 fragment
 * per frame, read by the capture client's own LiveFeed into a live_config and frames on a capture clock
 * starting at `origin` µs — every frame at once), a socket on /ws/live/{id} that keeps what it hears,
 * and a publisher sending a stream in real time over one.
 */
import { spawn } from 'node:child_process';
import WebSocket from 'ws';
import { captureVideoArgs } from '../capture-client/encoding.ts';
import { LiveFeed } from '../capture-client/live-feed.ts';
import {
  encodeLiveFrame,
  type LiveConfigMessage,
  type LiveControlMessage,
  type LiveFrame,
  LiveKind,
  parseLiveFrame,
} from '../protocol/live.ts';
import { socketProtocols } from '../protocol/messages.ts';

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

/** A socket on /ws/live/{id}: what it heard (text messages parsed, binary frames as they came). */
export interface LiveSocket {
  ws: WebSocket;
  texts: LiveControlMessage[];
  frames: Uint8Array[];
  /** The video frames heard so far, parsed. */
  video(): LiveFrame[];
  closed: Promise<{ code: number; reason: string }>;
}

/** Opens a live socket: with `token` it publishes, without it watches. Rejects naming the status when refused. */
export async function liveSocket(url: string, token?: string): Promise<LiveSocket> {
  const ws = new WebSocket(url, socketProtocols(token));
  const texts: LiveControlMessage[] = [];
  const frames: Uint8Array[] = [];
  ws.on('message', (data, isBinary) => {
    if (isBinary) frames.push(new Uint8Array(data as Buffer));
    else texts.push(JSON.parse(String(data)) as LiveControlMessage);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
    ws.once('error', reject);
  });
  const video = () => frames.map((b) => parseLiveFrame(b)).flatMap((c) => (c.ok && c.frame.kind === LiveKind.Video ? [c.frame] : []));
  return { ws, texts, frames, video, closed };
}

/**
 * Publishes `stream` over `publisher` in real time, as a capture would: its configuration, then each
 * frame at its capture time's offset from the first; the stream again (later on the clock, by its
 * length) until `enough()` holds or `rounds` are sent — a converter thread may take a while to start
 * on a loaded machine, and it starts at the live edge. Resolves with the capture times sent.
 */
export async function publishLive(
  publisher: LiveSocket,
  stream: { config: LiveConfigMessage; frames: LiveFrame[] },
  enough: () => boolean,
  rounds = 15,
): Promise<Set<number>> {
  const { config, frames } = stream;
  publisher.ws.send(JSON.stringify(config));
  const first = frames[0]!.time;
  const length = frames.at(-1)!.time - first + 1_000_000 / 30;
  const started = performance.now();
  const sent = new Set<number>();
  for (let round = 0; round < rounds && !enough(); round++) {
    for (const frame of frames) {
      const time = Math.round(frame.time + round * length);
      const due = (time - first) / 1000 - (performance.now() - started);
      if (due > 0) await new Promise((resolve) => setTimeout(resolve, due));
      if (publisher.ws.readyState !== WebSocket.OPEN) return sent;
      sent.add(time);
      publisher.ws.send(encodeLiveFrame({ ...frame, time }));
    }
  }
  return sent;
}
