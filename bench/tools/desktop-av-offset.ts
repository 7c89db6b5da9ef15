/**
 * A/V offset of a screen + system-sound capture, measured against known emission times: on a desktop
 * of its own (Xvfb + PulseAudio with a null sink, as the screen-capture test uses), a window flashes
 * and a beep is played at the same instant once a second (flash-beep-window.py, which prints when it
 * drew and wrote each); the capture client's chunker grabs the screen and the sink's monitor exactly as
 * `npm run capture -- --source screen --audio system` does. Per pair it prints how late the picture and
 * the sound were stamped against their emission, and sound − picture in the chunks.
 *
 * Run: node --import tsx bench/tools/desktop-av-offset.ts [--seconds 8] [--fps 30] [--runs 3]
 * Needs xvfb, pulseaudio, pulseaudio-utils (pacat), python3-tk and ffmpeg (Debian packages).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Chunker } from '../../capture-client/chunker.ts';
import { parseOptions, type CaptureOptions } from '../../capture-client/options.ts';
import { inputArgs } from '../../capture-client/sources.ts';
import { planStreams } from '../../capture-client/timeline.ts';
import { measureFlashBeep } from '../../testkit/av-sync.ts';
import { startDesktop } from '../../testkit/desktop.ts';
import { ffmpeg } from '../../testkit/media.ts';
import { Cleanups } from '../../testkit/teardown.ts';

const { values } = parseArgs({
  options: { seconds: { type: 'string', default: '8' }, fps: { type: 'string', default: '30' }, runs: { type: 'string', default: '3' } },
});
const seconds = Number(values.seconds);
const window = fileURLToPath(new URL('./flash-beep-window.py', import.meta.url));

async function once(env: Record<string, string>): Promise<Array<{ picture: number; sound: number; offset: number }>> {
  const options = parseOptions(
    ['--source', 'screen', '--audio', 'pulse:stereospot.monitor', '--fps', String(values.fps), '--duration', String(seconds + 3)],
    env,
  ) as CaptureOptions;
  const chunker = new Chunker({ ffmpeg, inputArgs: inputArgs(options, env), plan: await planStreams(options), chunkSeconds: 4 });
  const childEnv = { ...process.env, ...env };
  const prev = { DISPLAY: process.env.DISPLAY, PULSE_SERVER: process.env.PULSE_SERVER };
  Object.assign(process.env, env); // the chunker's ffmpeg inherits this process's environment
  try {
    await chunker.start();
    await new Promise((r) => setTimeout(r, 1000)); // the grabbers are open before the first flash
    const player = spawn('python3', [window, String(seconds), 'stereospot'], { stdio: ['ignore', 'pipe', 'inherit'], env: childEnv });
    let printed = '';
    player.stdout.on('data', (d: Buffer) => (printed += d.toString()));
    const played = new Promise<number | null>((resolve) => player.on('close', resolve));
    const paths: string[] = [];
    for await (const chunk of chunker.chunks()) paths.push(chunk.path);
    if ((await played) !== 0) throw new Error('flash-beep-window.py failed (python3-tk and pacat installed?)');
    const origin = chunker.originMicros / 1e6;
    const flashes: number[] = [];
    const beeps: number[] = [];
    for (const file of paths) {
      const m = await measureFlashBeep(file);
      flashes.push(...m.flashes);
      beeps.push(...m.beeps);
    }
    return printed
      .trim()
      .split('\n')
      .map((line) => {
        const [shown, written] = line.split(' ').map((x) => Number(x) / 1e6 - origin) as [number, number];
        const flash = flashes.find((f) => Math.abs(f - shown) < 0.3) ?? NaN;
        const beep = beeps.find((b) => Math.abs(b - written) < 0.3) ?? NaN;
        return {
          picture: Math.round((flash - shown) * 1000),
          sound: Math.round((beep - written) * 1000),
          offset: Math.round((beep - flash) * 1000),
        };
      });
  } finally {
    Object.assign(process.env, prev);
    await chunker.close();
  }
}

const cleanups = new Cleanups();
try {
  const desktop = await startDesktop(cleanups);
  for (let run = 1; run <= Number(values.runs); run++) {
    const pairs = await once(desktop.env);
    const list = (key: 'picture' | 'sound' | 'offset') => pairs.map((p) => p[key]).join(' ');
    console.log(
      `run ${run}: picture stamped +ms ${list('picture')} | sound stamped +ms ${list('sound')} | sound − picture ms ${list('offset')}`,
    );
  }
} finally {
  await cleanups.run();
}
