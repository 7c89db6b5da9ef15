/**
 * A desktop of the test's own: an X server (Xvfb) on a free display and a PulseAudio server with one
 * null sink (so "the system's sound" is whatever the test plays into it), each private to the test
 * (its own runtime folder and socket) and stopped at teardown. Debian: `apt-get install xvfb
 * pulseaudio` (.ci/run does).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { until } from './server.ts';
import type { Teardown } from './teardown.ts';

export interface Desktop {
  /** DISPLAY and PULSE_SERVER for the programs that use this desktop. */
  env: { DISPLAY: string; PULSE_SERVER: string };
  /** Plays a tone into the null sink (what "system sound" captures) until teardown. */
  playTone(ffmpeg: string, frequency: number): void;
}

function stop(t: Teardown, child: ChildProcess): void {
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
}

export async function startDesktop(t: Teardown): Promise<Desktop> {
  for (const program of ['/usr/bin/Xvfb', '/usr/bin/pulseaudio']) {
    if (!existsSync(program)) throw new Error(`${program} is missing: apt-get install xvfb pulseaudio`);
  }
  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-desktop-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  // -displayfd: the X server picks a free display and tells us which.
  const xvfb = spawn('/usr/bin/Xvfb', ['-displayfd', '3', '-screen', '0', '640x360x24', '-nolisten', 'tcp'], {
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
  });
  stop(t, xvfb);
  const display = await new Promise<string>((resolve, reject) => {
    let text = '';
    (xvfb.stdio[3] as NodeJS.ReadableStream).on('data', (d: Buffer) => {
      text += d.toString();
      if (text.includes('\n')) resolve(`:${text.trim()}`);
    });
    xvfb.on('exit', (code) => reject(new Error(`Xvfb exited with ${code}`)));
  });
  const socket = path.join(dir, 'pulse-native');
  const pulse = spawn(
    '/usr/bin/pulseaudio',
    [
      '-n',
      '--daemonize=no',
      '--exit-idle-time=-1',
      '--use-pid-file=no',
      '--log-target=stderr',
      '--load=module-null-sink sink_name=stereospot rate=48000',
      `--load=module-native-protocol-unix auth-anonymous=1 socket=${socket}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, HOME: dir, XDG_RUNTIME_DIR: dir, DISPLAY: '' } },
  );
  stop(t, pulse);
  pulse.stderr!.resume();
  await until(() => existsSync(socket), 'the PulseAudio socket', 10_000);
  const env = { DISPLAY: display, PULSE_SERVER: `unix:${socket}` };
  return {
    env,
    playTone(ffmpeg, frequency) {
      const player = spawn(
        ffmpeg,
        [
          '-v',
          'error',
          '-re',
          '-f',
          'lavfi',
          '-i',
          `sine=frequency=${frequency}:sample_rate=48000`,
          '-f',
          'pulse',
          '-device',
          'stereospot',
          'tone',
        ],
        {
          stdio: 'ignore',
          env: { ...process.env, ...env },
        },
      );
      stop(t, player);
    },
  };
}
