/** ffmpeg input arguments for each capture source. */
import type { CaptureOptions } from './options.ts';

export function inputArgs(options: CaptureOptions, env: NodeJS.ProcessEnv = process.env): string[] {
  const re = options.realtime ? ['-re'] : [];
  const duration = options.duration === null ? [] : ['-t', String(options.duration)];
  switch (options.source.kind) {
    case 'test': {
      // A moving test pattern with a 440 Hz tone: demos and tests need no media files. The length is
      // set on each source (not with -t) so video and audio end together and no stray tail chunk is cut.
      const length = options.duration === null ? '' : `:duration=${options.duration}`;
      return [
        ...re, '-f', 'lavfi', '-i', `testsrc2=size=${options.width}x${options.height}:rate=${options.fps}${length}`,
        ...re, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000${length}`,
      ];
    }
    case 'file':
      return [...re, '-i', options.source.path, ...duration];
    case 'screen': {
      const display = env.DISPLAY;
      if (!display) throw new Error('--source screen needs an X display: DISPLAY is not set');
      return ['-f', 'x11grab', '-framerate', String(options.fps), '-i', display, ...duration];
    }
  }
}

/** Which streams to keep: the test source has separate video and audio inputs; files may lack audio. */
export function mapArgs(options: CaptureOptions): string[] {
  switch (options.source.kind) {
    case 'test':
      return ['-map', '0:v:0', '-map', '1:a:0'];
    case 'file':
      return ['-map', '0:v:0', '-map', '0:a:0?'];
    case 'screen':
      return ['-map', '0:v:0'];
  }
}
