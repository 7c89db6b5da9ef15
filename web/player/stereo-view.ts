/**
 * How the viewer looks at the stereo stream: as delivered (the video element itself, what headset
 * browsers and 3D TVs take full-screen), as a red/cyan anaglyph (red from the left eye, green and blue
 * from the right, the server's own colour anaglyph), or the left eye only (2D). The last two take each
 * eye from where the stream's layout puts it (protocol/layout.ts: side by side, cross-eyed, top-bottom,
 * full or half — a half layout's eye stretched back), drawn into a canvas over the video with WebGL,
 * one texture upload per decoded frame; without WebGL a 2D canvas does the same with compositing. An
 * anaglyph stream has no eyes to take apart: it is shown as delivered. The video stays composited
 * underneath, so `requestVideoFrameCallback` (and the latency figure) keep working in every mode.
 */
import { eyeDisplaySize, eyeRects, layoutOf, type Rect, type StereoMode } from '../../protocol/layout.ts';
import { quadProgram } from '../lib/gl.ts';

export type ViewMode = 'sbs' | 'anaglyph' | '2d';
export const VIEW_MODES: readonly ViewMode[] = ['sbs', 'anaglyph', '2d'];

type VideoWithFrames = HTMLVideoElement & {
  requestVideoFrameCallback?: (cb: () => void) => number;
  cancelVideoFrameCallback?: (handle: number) => void;
};

/** A stereo picture (its layout says where each eye is): a playing video, or a decoded frame (WebCodecs). */
export interface StereoSource {
  image: TexImageSource & CanvasImageSource;
  width: number;
  height: number;
}

/** Draws one view of a stereo picture in `layout` into its canvas (sized by the caller: viewSize). */
export interface Painter {
  readonly kind: 'webgl' | '2d';
  paint(source: StereoSource, mode: ViewMode, layout: StereoMode): void;
}

/** Whether a view other than "as delivered" can be made of a stream in `layout` (an anaglyph has no eyes to part). */
export function hasEyes(layout: StereoMode): boolean {
  return layoutOf(layout).packing !== 'anaglyph';
}

/** The canvas size for `mode` of a `width`×`height` picture in `layout`: the whole picture, or one eye as it is meant to be seen. */
export function viewSize(mode: ViewMode, layout: StereoMode, width: number, height: number): { width: number; height: number } {
  if (mode === 'sbs' || !hasEyes(layout)) return { width, height };
  const eye = eyeDisplaySize(layout, width, height);
  return { width: Math.max(1, Math.round(eye.width)), height: Math.max(1, Math.round(eye.height)) };
}

const VERTEX = `
attribute vec2 position;
varying vec2 uv;
void main() {
  uv = vec2((position.x + 1.0) * 0.5, (1.0 - position.y) * 0.5);
  gl_Position = vec4(position, 0.0, 1.0);
}`;

// Each eye is the part of the texture its rectangle (x, y, w, h as fractions) says.
const FRAGMENT = `
precision mediump float;
varying vec2 uv;
uniform sampler2D frame;
uniform int anaglyph;
uniform vec4 leftRect;
uniform vec4 rightRect;
void main() {
  if (anaglyph == 2) { gl_FragColor = texture2D(frame, uv); return; }
  vec4 left = texture2D(frame, leftRect.xy + uv * leftRect.zw);
  if (anaglyph == 0) { gl_FragColor = left; return; }
  vec4 right = texture2D(frame, rightRect.xy + uv * rightRect.zw);
  gl_FragColor = vec4(left.r, right.g, right.b, 1.0);
}`;

function webglPainter(canvas: HTMLCanvasElement): Painter | null {
  const gl = canvas.getContext('webgl', { alpha: false, preserveDrawingBuffer: true });
  if (!gl) return null;
  const program = quadProgram(gl, VERTEX, FRAGMENT, 'position');
  const anaglyph = gl.getUniformLocation(program, 'anaglyph');
  const leftRect = gl.getUniformLocation(program, 'leftRect');
  const rightRect = gl.getUniformLocation(program, 'rightRect');
  return {
    kind: 'webgl',
    paint(source, mode, layout) {
      gl.viewport(0, 0, canvas.width, canvas.height);
      gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, source.image);
      const { left, right } = eyeRects(layout);
      gl.uniform4f(leftRect, left.x, left.y, left.w, left.h);
      gl.uniform4f(rightRect, right.x, right.y, right.w, right.h);
      gl.uniform1i(anaglyph, mode === 'sbs' || !hasEyes(layout) ? 2 : mode === 'anaglyph' ? 1 : 0);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
    },
  };
}

/** Without WebGL: the same pictures with 2D-canvas compositing (multiply by red / cyan, then add). */
function canvasPainter(canvas: HTMLCanvasElement): Painter {
  const ctx = canvas.getContext('2d')!;
  const scratch = document.createElement('canvas');
  const other = scratch.getContext('2d')!;
  const eye = (target: CanvasRenderingContext2D, source: StereoSource, rect: Rect, tint: string | null) => {
    const [w, h] = [source.width, source.height];
    target.globalCompositeOperation = 'source-over';
    target.drawImage(source.image, rect.x * w, rect.y * h, rect.w * w, rect.h * h, 0, 0, canvas.width, canvas.height);
    if (tint) {
      target.globalCompositeOperation = 'multiply';
      target.fillStyle = tint;
      target.fillRect(0, 0, canvas.width, canvas.height);
    }
  };
  return {
    kind: '2d',
    paint(source, mode, layout) {
      if (mode === 'sbs' || !hasEyes(layout)) {
        ctx.globalCompositeOperation = 'source-over';
        ctx.drawImage(source.image, 0, 0, canvas.width, canvas.height);
        return;
      }
      const rects = eyeRects(layout);
      if (mode === '2d') return eye(ctx, source, rects.left, null);
      // Resized only when the view is (a canvas reallocates whenever its size is set); each paint covers it whole.
      if (scratch.width !== canvas.width || scratch.height !== canvas.height) {
        scratch.width = canvas.width;
        scratch.height = canvas.height;
      }
      eye(ctx, source, rects.left, '#ff0000');
      eye(other, source, rects.right, '#00ffff');
      ctx.globalCompositeOperation = 'lighter';
      ctx.drawImage(scratch, 0, 0);
      ctx.globalCompositeOperation = 'source-over';
    },
  };
}

/**
 * WebGL where the browser has it, else a 2D canvas; or (`prefer` '2d') the 2D canvas alone. The live
 * viewer paints every decoded frame itself and prefers the 2D canvas: where the browser composites in
 * software (no GPU, a VM, a blocklisted driver) WebGL's upload of each frame costs far more than a 2D
 * draw — measured on the screen bench in headless Chromium, 2D: screen to eye p50 86–93 ms, p95 95–104 ms,
 * no frame dropped; WebGL in the same minutes: p50 250–818 ms, 9–17 % dropped — and with a GPU both
 * are the GPU's work.
 */
export function makePainter(canvas: HTMLCanvasElement, prefer: 'webgl' | '2d' = 'webgl'): Painter {
  if (prefer === '2d') return canvasPainter(canvas);
  try {
    return webglPainter(canvas) ?? canvasPainter(canvas);
  } catch {
    return canvasPainter(canvas);
  }
}

export class StereoView {
  readonly #video: VideoWithFrames;
  readonly #canvas: HTMLCanvasElement;
  readonly #painter: Painter;
  #mode: ViewMode = 'sbs';
  /** The stream's layout: where each eye is in its pictures. */
  layout: StereoMode = 'sbs';
  #frameHandle: number | null = null;
  #rafHandle: number | null = null;

  constructor(video: HTMLVideoElement, canvas: HTMLCanvasElement) {
    this.#video = video;
    this.#canvas = canvas;
    this.#painter = makePainter(canvas);
    video.addEventListener('loadeddata', () => this.#paint());
  }

  /** Which painter draws the anaglyph and 2D views. */
  get renderer(): 'webgl' | '2d' {
    return this.#painter.kind;
  }

  get mode(): ViewMode {
    return this.#mode;
  }

  set mode(mode: ViewMode) {
    this.#mode = mode;
    this.#canvas.hidden = mode === 'sbs';
    this.#stop();
    if (mode !== 'sbs') {
      this.#paint();
      this.#schedule();
    }
  }

  close(): void {
    this.#stop();
  }

  #schedule(): void {
    const next = () => {
      this.#paint();
      this.#schedule();
    };
    // One paint per decoded frame where the browser says when; otherwise per display frame.
    if (this.#video.requestVideoFrameCallback) this.#frameHandle = this.#video.requestVideoFrameCallback(next);
    else this.#rafHandle = requestAnimationFrame(next);
  }

  #stop(): void {
    if (this.#frameHandle !== null) this.#video.cancelVideoFrameCallback?.(this.#frameHandle);
    if (this.#rafHandle !== null) cancelAnimationFrame(this.#rafHandle);
    this.#frameHandle = this.#rafHandle = null;
  }

  #paint(): void {
    const video = this.#video;
    if (this.#mode === 'sbs' || video.readyState < 2 || video.videoWidth === 0) return;
    const size = viewSize(this.#mode, this.layout, video.videoWidth, video.videoHeight);
    if (this.#canvas.width !== size.width || this.#canvas.height !== size.height) {
      this.#canvas.width = size.width;
      this.#canvas.height = size.height;
    }
    this.#painter.paint({ image: video, width: video.videoWidth, height: video.videoHeight }, this.#mode, this.layout);
  }
}
