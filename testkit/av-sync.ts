/**
 * Lip-sync material and its measurement: a clip in which a white flash frame and a 1-kHz beep start
 * together at every whole second, and a reader that finds, in any decodable input (a file, an HLS
 * playlist), when each flash is shown and when each beep starts — on the input's own timeline
 * (`-copyts`), so the two can be paired and their offset read directly.
 *
 * Flashes: the presentation time of each frame whose mean luma jumps above mid-grey. Beeps: the first
 * sample of each burst whose level crosses a threshold, placed on the timeline by its audio frame's own
 * timestamp (`ashowinfo`), so the figure is exact to a sample, not to an audio frame.
 */
import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { ffmpeg } from './media.ts';

const exec = promisify(execFile);
// ffprobe beside the ffmpeg in use (Debian's package has both).
const execProbe = (args: string[]) => exec(path.join(path.dirname(ffmpeg), 'ffprobe'), args, { maxBuffer: 64 << 20 });

export interface FlashBeepOptions {
  seconds: number;
  fps?: number;
  size?: string;
  /** Seconds by which the sound is shifted against the picture in the source (0: in sync). */
  audioLead?: number;
}

/** Writes an H.264 + AAC MP4 with a flash frame and a 100-ms beep at every whole second. */
export async function makeFlashBeep(file: string, opts: FlashBeepOptions): Promise<void> {
  const fps = opts.fps ?? 30;
  const size = opts.size ?? '320x240';
  const flash = `color=c=black:s=${size}:r=${fps}:d=${opts.seconds},drawbox=c=white:t=fill:enable='lt(mod(t\\,1)\\,${(0.5 / fps).toFixed(5)})'`;
  // Evaluated per sample (a filter's `enable` is per frame: 1024 samples would shift each onset).
  const beep = `aevalsrc='if(lt(mod(t\\,1)\\,0.1)\\,0.5*sin(2*PI*1000*t)\\,0)':s=48000:d=${opts.seconds}`;
  await exec(ffmpeg, [
    '-hide_banner',
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    flash,
    '-f',
    'lavfi',
    '-i',
    beep,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    String(fps),
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    file,
  ]);
}

export interface FlashBeepTimes {
  /** Presentation time (s) of every flash frame, in order. */
  flashes: number[];
  /** Time (s) of the first sample of every beep, in order. */
  beeps: number[];
  /** Video frames decoded. */
  frames: number;
  /** Presentation time (s) of the first video frame. */
  start: number;
}

/** Reads when each flash is shown and each beep starts (see the header). */
export async function measureFlashBeep(input: string): Promise<FlashBeepTimes> {
  const video = await run(['-copyts', '-i', input, '-map', '0:v:0', '-vf', 'scale=8:8,format=gray,showinfo', '-f', 'null', '-']);
  const flashes: number[] = [];
  let frames = 0;
  let start = NaN;
  let bright = false;
  for (const m of video.stderr.matchAll(/pts_time:\s*(-?[\d.]+).*?mean:\[(\d+)/g)) {
    if (frames++ === 0) start = Number(m[1]);
    const on = Number(m[2]) > 128;
    if (on && !bright) flashes.push(Number(m[1]));
    bright = on;
  }
  // Audio: each frame's timestamp and length from ashowinfo (stderr), its samples as mono s16 (stdout).
  const audio = await run(
    ['-copyts', '-i', input, '-map', '0:a:0', '-af', 'aresample=48000,ashowinfo', '-ac', '1', '-f', 's16le', 'pipe:1'],
    true,
  );
  const starts = [...audio.stderr.matchAll(/pts_time:\s*(-?[\d.]+).*?nb_samples:\s*(\d+)/g)].map((m) => ({
    t: Number(m[1]),
    n: Number(m[2]),
  }));
  const samples = new Int16Array(audio.stdout.buffer, audio.stdout.byteOffset, Math.floor(audio.stdout.byteLength / 2));
  const beeps: number[] = [];
  let index = 0;
  let quietSince = -Infinity;
  let loud = false;
  for (const frame of starts) {
    for (let i = 0; i < frame.n && index < samples.length; i++, index++) {
      const t = frame.t + i / 48_000;
      if (Math.abs(samples[index]!) > 3000) {
        if (!loud && t - quietSince > 0.3) beeps.push(t);
        loud = true;
      } else if (loud) {
        loud = false;
        quietSince = t;
      }
    }
  }
  return { flashes, beeps, frames, start };
}

/** A stretch of the timeline with no sound at all: no audio packet covers it. */
export interface SoundHole {
  /** Where it starts (s, on the input's timeline). */
  at: number;
  ms: number;
}

/**
 * Holes in the first audio stream's coverage longer than `minMs`, from its decoded frames' timestamps
 * and sample counts (`-copyts` timeline; a browser's own MP4 gives its packets no durations): sound lost
 * between two chunks shows here whatever was being played.
 */
export async function soundHoles(input: string, minMs = 25): Promise<{ holes: SoundHole[]; seconds: number }> {
  const { stdout } = await execProbe([
    '-v',
    'error',
    '-select_streams',
    'a:0',
    '-show_entries',
    'stream=sample_rate:frame=pts_time,nb_samples',
    '-of',
    'compact',
    input,
  ]);
  const field = (line: string, name: string) => Number(new RegExp(`\\|${name}=([^|]+)`).exec(line)?.[1]);
  const lines = stdout.trim().split('\n');
  const rate = field(lines.find((line) => line.startsWith('stream|')) ?? '', 'sample_rate');
  const frames = lines
    .filter((line) => line.startsWith('frame|'))
    .map((line) => [field(line, 'pts_time'), field(line, 'nb_samples') / rate] as [number, number])
    .filter(([pts, duration]) => Number.isFinite(pts) && Number.isFinite(duration))
    .sort((a, b) => a[0] - b[0]);
  const holes: SoundHole[] = [];
  let covered = frames[0]?.[0] ?? 0;
  for (const [pts, duration] of frames) {
    if ((pts - covered) * 1000 > minMs) holes.push({ at: covered, ms: Math.round((pts - covered) * 1000) });
    covered = Math.max(covered, pts + duration);
  }
  return { holes, seconds: frames.length ? covered - frames[0]![0] : 0 };
}

/** Pairs each flash with the nearest beep: offsets (s) of sound after picture (negative: sound first). */
export function syncOffsets(times: FlashBeepTimes): number[] {
  return times.flashes.map((f) => {
    let best = Infinity;
    for (const b of times.beeps) if (Math.abs(b - f) < Math.abs(best)) best = b - f;
    return best;
  });
}

function run(args: string[], binary = false): Promise<{ stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(ffmpeg, ['-hide_banner', '-nostats', '-loglevel', 'info', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => binary && out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve({ stdout: Buffer.concat(out), stderr: err }) : reject(new Error(`ffmpeg exited ${code}: ${err.slice(-800)}`)),
    );
  });
}

/**
 * A page script (for `page.addInitScript`) that makes `getDisplayMedia` answer with a flash + beep
 * "screen": a black 320×240 canvas painted in animation frames (30 fps), white for 40 ms from each whole
 * second after the call, and a 1-kHz beep on a Web Audio track started in the same frame as each flash:
 * what a screen shows and a tab plays together, with no device clock in between. (Chromium's fake
 * capture devices are no reference: a bare MediaRecorder of them already puts the sound 50–80 ms late.)
 * The same tracks are also recorded whole by a MediaRecorder of the page's own; `flashBeepReference()`
 * stops it and returns the MP4 as base64: the browser's own figure for the same flashes and beeps.
 */
export const FLASH_BEEP_DISPLAY = `(() => {
  const media = navigator.mediaDevices;
  if (!media) return;
  media.getDisplayMedia = async () => {
    const canvas = document.createElement('canvas');
    canvas.width = 320;
    canvas.height = 240;
    const g = canvas.getContext('2d');
    const paint = (white) => { g.fillStyle = white ? '#fff' : '#000'; g.fillRect(0, 0, 320, 240); };
    paint(false);
    const stream = canvas.captureStream();
    const audio = new AudioContext({ sampleRate: 48000 });
    await audio.resume();
    const tone = audio.createOscillator();
    tone.frequency.value = 1000;
    const gain = audio.createGain();
    gain.gain.value = 0;
    const out = audio.createMediaStreamDestination();
    tone.connect(gain).connect(out);
    tone.start();
    // Painted in animation frames: a canvas frame is taken when the page's frame is produced.
    const t0 = performance.now() + 1000;
    let next = 0;
    let whiteUntil = 0;
    let frame = 0;
    let running = true;
    const tick = (now) => {
      if (!running) return;
      if (now >= t0 + next * 1000) {
        paint(true);
        gain.gain.setValueAtTime(0.5, audio.currentTime);
        gain.gain.setValueAtTime(0, audio.currentTime + 0.1);
        whiteUntil = now + 40;
        next++;
      } else if (frame % 2 === 0) {
        paint(now < whiteUntil);
      }
      frame++;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
    for (const track of out.stream.getAudioTracks()) stream.addTrack(track);
    // The reference: the same tracks recorded whole, beside whatever the page does with them.
    const reference = new MediaRecorder(stream, { mimeType: 'video/mp4;codecs=avc1,opus' });
    const parts = [];
    reference.ondataavailable = (event) => parts.push(event.data);
    reference.start();
    window.flashBeepReference = async () => {
      const done = new Promise((resolve) => (reference.onstop = resolve));
      reference.stop();
      await done;
      const bytes = new Uint8Array(await new Blob(parts).arrayBuffer());
      let text = '';
      for (let i = 0; i < bytes.length; i += 0x8000) text += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
      return btoa(text);
    };
    const stop = stream.getTracks()[0].stop.bind(stream.getTracks()[0]);
    stream.getVideoTracks()[0].stop = () => { running = false; void audio.close(); stop(); };
    return stream;
  };
})();`;
