/**
 * ffmpeg input arguments for each capture source: the test pattern, a file, or the screen through
 * the platform's grabber (x11grab, avfoundation, gdigrab, ddagrab) — the whole screen, one window or a
 * region — with the system's sound where the platform offers it.
 */
import type { AudioSource, CaptureOptions, ScreenSource } from './options.ts';

export function inputArgs(options: CaptureOptions, env: NodeJS.ProcessEnv = process.env): string[] {
  const re = options.realtime ? ['-re'] : [];
  const duration = options.duration === null ? [] : ['-t', String(options.duration)];
  switch (options.source.kind) {
    case 'test': {
      // A moving test pattern with a 440 Hz tone: demos and tests need no media files. The length is
      // set on each source (not with -t) so video and audio end together and no stray tail chunk is cut.
      const length = options.duration === null ? '' : `:duration=${options.duration}`;
      return [
        ...re,
        '-f',
        'lavfi',
        '-i',
        `testsrc2=size=${options.width}x${options.height}:rate=${options.fps}${length}`,
        ...re,
        '-f',
        'lavfi',
        '-i',
        `sine=frequency=440:sample_rate=48000${length}`,
      ];
    }
    case 'file':
      return [...re, '-i', options.source.path, ...duration];
    case 'screen':
      return [...screenArgs(options.source, options.fps, env), ...duration, ...audioArgs(options.audio, duration)];
  }
}

/** The grabber's input: a live device paces itself (no -re). */
export function screenArgs(screen: ScreenSource, fps: number, env: NodeJS.ProcessEnv = process.env): string[] {
  const rate = String(fps);
  const r = screen.region;
  switch (screen.grabber) {
    case 'x11grab': {
      const display = screen.display ?? env.DISPLAY;
      if (!display) throw new Error('--source screen needs an X display: DISPLAY is not set (or give --display)');
      const size = r ? ['-video_size', `${r.width}x${r.height}`] : [];
      const window = screen.window ? ['-window_id', screen.window] : [];
      return ['-f', 'x11grab', '-framerate', rate, '-draw_mouse', '1', ...size, ...window, '-i', r ? `${display}+${r.x},${r.y}` : display];
    }
    case 'avfoundation':
      // "N:none": screen N, no sound from this device (sound is a separate input, see audioArgs).
      return [
        '-f',
        'avfoundation',
        '-framerate',
        rate,
        '-capture_cursor',
        '1',
        '-pixel_format',
        'uyvy422',
        '-i',
        `Capture screen ${screen.display ?? '0'}:none`,
      ];
    case 'gdigrab': {
      const region = r ? ['-offset_x', String(r.x), '-offset_y', String(r.y), '-video_size', `${r.width}x${r.height}`] : [];
      return [
        '-f',
        'gdigrab',
        '-framerate',
        rate,
        '-draw_mouse',
        '1',
        ...region,
        '-i',
        screen.window ? `title=${screen.window}` : 'desktop',
      ];
    }
    case 'ddagrab': {
      // A lavfi source producing GPU frames; videoFilter() downloads them.
      const region = r ? `:offset_x=${r.x}:offset_y=${r.y}:video_size=${r.width}x${r.height}` : '';
      return ['-f', 'lavfi', '-i', `ddagrab=output_idx=${screen.display ?? '0'}:framerate=${rate}:draw_mouse=1${region}`];
    }
  }
}

/** The sound input (a second input), or nothing. */
export function audioArgs(audio: AudioSource, duration: string[] = []): string[] {
  switch (audio.kind) {
    case 'none':
      return [];
    case 'pulse':
      return ['-f', 'pulse', '-i', audio.device, ...duration];
    case 'dshow':
      return ['-f', 'dshow', '-i', `audio=${audio.device}`, ...duration];
    case 'avfoundation':
      return ['-f', 'avfoundation', '-i', `none:${audio.device}`, ...duration];
  }
}
