/**
 * Where the picture comes from: the screen, a window or a tab (`getDisplayMedia`, with its audio where
 * the browser offers it), a camera (`getUserMedia`), or a test pattern drawn here (a moving scene with
 * depth cues and a tone; no permission needed — for trying the system out).
 */
export type SourceKind = 'screen' | 'camera' | 'pattern';

export interface Source {
  stream: MediaStream;
  /** Stops every track (and the pattern's drawing). */
  stop(): void;
  /**
   * The test pattern only: stop or resume drawing. A canvas sends frames only when drawn, as a browser
   * sends a screen's frames only when something on it changes: this shows what a static screen does.
   */
  hold?(on: boolean): void;
}

/** Permission refused, or no such device: the page says which and what to do. */
export class SourceError extends Error {
  override name = 'SourceError';
  readonly action: string;

  constructor(message: string, action: string) {
    super(message);
    this.action = action;
  }
}

const VIDEO = { width: { ideal: 1280, max: 1920 }, height: { ideal: 720, max: 1080 }, frameRate: { ideal: 30, max: 30 } };

export async function openSource(kind: SourceKind): Promise<Source> {
  if (kind === 'pattern') return testPattern();
  const media = navigator.mediaDevices;
  if (!media)
    throw new SourceError('this page is not in a secure context, so the browser offers no capture', 'open it over https or from localhost');
  try {
    const stream =
      kind === 'screen'
        ? await media.getDisplayMedia({ video: VIDEO, audio: true })
        : await media.getUserMedia({ video: VIDEO, audio: true }).catch(() => media.getUserMedia({ video: VIDEO }));
    return {
      stream,
      stop: () => {
        for (const track of stream.getTracks()) track.stop();
      },
    };
  } catch (error) {
    const name = (error as DOMException).name;
    if (name === 'NotAllowedError' || name === 'SecurityError') {
      throw new SourceError(
        `permission to capture the ${kind === 'screen' ? 'screen' : 'camera'} was denied`,
        'allow it in the browser (the icon in the address bar) and press start again',
      );
    }
    if (name === 'NotFoundError' || name === 'OverconstrainedError') {
      throw new SourceError(`no ${kind === 'screen' ? 'screen to capture' : 'camera'} was found`, 'connect one, or pick another source');
    }
    if (name === 'NotSupportedError' || typeof (media as { getDisplayMedia?: unknown }).getDisplayMedia !== 'function') {
      throw new SourceError('this browser cannot capture the screen', 'use a desktop browser, or pick the camera or the test pattern');
    }
    throw new SourceError(`capture failed: ${(error as Error).message}`, 'try again, or pick another source');
  }
}

/** A 640×360 scene: a gradient floor, boxes at several depths drifting, a clock; a quiet tone. */
function testPattern(): Source {
  const canvas = document.createElement('canvas');
  canvas.width = 640;
  canvas.height = 360;
  const ctx = canvas.getContext('2d')!;
  const t0 = performance.now();
  let frame = 0;
  const draw = () => {
    const t = (performance.now() - t0) / 1000;
    const floor = ctx.createLinearGradient(0, 0, 0, 360);
    floor.addColorStop(0, '#1b2a4a');
    floor.addColorStop(1, '#c9a86a');
    ctx.fillStyle = floor;
    ctx.fillRect(0, 0, 640, 360);
    for (let i = 0; i < 5; i++) {
      const scale = 0.4 + i * 0.2;
      const x = ((t * 40 * scale + i * 150) % 760) - 60;
      ctx.fillStyle = `hsl(${i * 70}, 70%, ${35 + i * 8}%)`;
      ctx.fillRect(x, 300 - 120 * scale, 60 * scale, 60 * scale);
      ctx.strokeStyle = '#000';
      ctx.strokeRect(x, 300 - 120 * scale, 60 * scale, 60 * scale);
    }
    ctx.fillStyle = '#fff';
    ctx.font = '24px monospace';
    ctx.fillText(`${new Date().toISOString().slice(11, 23)}  #${frame++}`, 16, 36);
  };
  let held = false;
  const timer = setInterval(() => held || draw(), 1000 / 30);
  draw();
  const stream = canvas.captureStream(30);
  let audio: AudioContext | null = null;
  try {
    audio = new AudioContext();
    const tone = audio.createOscillator();
    const gain = audio.createGain();
    gain.gain.value = 0.05;
    tone.frequency.value = 440;
    const out = audio.createMediaStreamDestination();
    tone.connect(gain).connect(out);
    tone.start();
    for (const track of out.stream.getAudioTracks()) stream.addTrack(track);
  } catch {
    audio = null; // no audio context: the pattern is silent
  }
  return {
    stream,
    hold: (on) => (held = on),
    stop: () => {
      clearInterval(timer);
      for (const track of stream.getTracks()) track.stop();
      void audio?.close();
    },
  };
}
