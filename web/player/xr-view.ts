/**
 * The stream in a headset, in true 3D (WebXR `immersive-vr`, Quest/Pico/Vision Pro browsers): a
 * virtual screen 2 m ahead, each eye drawing its own view of the picture onto it — the left eye's
 * part of the frame for the left eye, the right's for the right (wherever the layout puts them:
 * protocol/layout.ts; an anaglyph stream shows the same picture to both). World-locked by default (the
 * screen stays where it was when the session started, as a cinema screen does); head-locked on request
 * (it follows the head). One texture upload per displayed frame from the playing video or the live
 * canvas; the headset's own frame loop draws.
 */
import { eyeRects, type Rect, type StereoMode } from '../../protocol/layout.ts';
import { quadProgram } from '../lib/gl.ts';

// The few WebXR types used here (TypeScript's DOM library does not have them).
interface XRViewLike {
  eye: 'left' | 'right' | 'none';
  projectionMatrix: Float32Array;
  transform: { inverse: { matrix: Float32Array } };
}
interface XRFrameLike {
  getViewerPose(space: unknown): { views: readonly XRViewLike[] } | null | undefined;
}
interface XRSessionLike extends EventTarget {
  requestReferenceSpace(type: string): Promise<unknown>;
  updateRenderState(state: { baseLayer: unknown }): void | Promise<void>;
  requestAnimationFrame(callback: (time: number, frame: XRFrameLike) => void): number;
  end(): Promise<void>;
}
interface XRLayerLike {
  framebuffer: WebGLFramebuffer | null;
  framebufferWidth: number;
  framebufferHeight: number;
  getViewport(view: XRViewLike): { x: number; y: number; width: number; height: number } | null | undefined;
}
type XRSystemLike = {
  isSessionSupported(mode: string): Promise<boolean>;
  requestSession(mode: string, init?: { optionalFeatures?: string[] }): Promise<XRSessionLike>;
};
type XRLayerConstructor = new (session: XRSessionLike, gl: WebGLRenderingContext) => XRLayerLike;

/** The screen: 2 m ahead, 1.6 m wide, at eye height (in metres of the `local` reference space). */
const DISTANCE = 2;
const SCREEN_WIDTH = 1.6;

const VERTEX = `
attribute vec2 corner;
uniform mat4 projection;
uniform mat4 view;
uniform vec2 size;
varying vec2 uv;
void main() {
  uv = vec2((corner.x + 1.0) * 0.5, (1.0 - corner.y) * 0.5);
  gl_Position = projection * view * vec4(corner.x * size.x * 0.5, corner.y * size.y * 0.5, -${DISTANCE.toFixed(1)}, 1.0);
}`;

const FRAGMENT = `
precision mediump float;
varying vec2 uv;
uniform sampler2D frame;
uniform vec4 eye;
void main() { gl_FragColor = texture2D(frame, eye.xy + uv * eye.zw); }`;

const IDENTITY = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);

function xrSystem(): XRSystemLike | null {
  return (navigator as Navigator & { xr?: XRSystemLike }).xr ?? null;
}

/** Whether this browser can show the stream in a headset. */
export async function immersiveSupported(): Promise<boolean> {
  const xr = xrSystem();
  if (!xr) return false;
  return xr.isSessionSupported('immersive-vr').catch(() => false);
}

export interface XrSource {
  /** What is playing now: the video element or the live canvas (a full stereo frame). */
  image(): (TexImageSource & { width?: number; height?: number; videoWidth?: number; videoHeight?: number }) | null;
  /** The stream's layout now. */
  layout(): StereoMode;
}

export class XrView {
  readonly #session: XRSessionLike;
  readonly #gl: WebGLRenderingContext;
  readonly #layer: XRLayerLike;
  readonly #space: unknown;
  readonly #source: XrSource;
  readonly #program: WebGLProgram;
  readonly #u: Record<'projection' | 'view' | 'size' | 'eye', WebGLUniformLocation | null>;
  /** Head-locked: the screen follows the head (the view matrix is left out). */
  headLocked = false;
  /** Frames drawn, and eyes drawn in all (both eyes of a frame count two). */
  readonly stats = { frames: 0, eyes: 0 };
  #ended = false;

  private constructor(session: XRSessionLike, gl: WebGLRenderingContext, layer: XRLayerLike, space: unknown, source: XrSource) {
    this.#session = session;
    this.#gl = gl;
    this.#layer = layer;
    this.#space = space;
    this.#source = source;
    this.#program = quadProgram(gl, VERTEX, FRAGMENT, 'corner');
    const u = (name: string) => gl.getUniformLocation(this.#program, name);
    this.#u = { projection: u('projection'), view: u('view'), size: u('size'), eye: u('eye') };
    session.addEventListener('end', () => (this.#ended = true));
    session.requestAnimationFrame((time, frame) => this.#frame(time, frame));
  }

  /** Enters VR: an immersive session drawing into `canvas`'s WebGL context. Rejects naming why it cannot. */
  static async enter(canvas: HTMLCanvasElement, source: XrSource): Promise<XrView> {
    const xr = xrSystem();
    const Layer = (globalThis as unknown as { XRWebGLLayer?: XRLayerConstructor }).XRWebGLLayer;
    if (!xr || !Layer) throw new Error('this browser has no WebXR');
    const session = await xr.requestSession('immersive-vr');
    try {
      const gl = canvas.getContext('webgl', { xrCompatible: true, alpha: false, preserveDrawingBuffer: true } as WebGLContextAttributes);
      if (!gl) throw new Error('no WebGL for the headset');
      const layer = new Layer(session, gl);
      await session.updateRenderState({ baseLayer: layer });
      // `local`: the origin where the head was when the session began — the screen at eye height, ahead.
      const space = await session.requestReferenceSpace('local');
      return new XrView(session, gl, layer, space, source);
    } catch (error) {
      await session.end().catch(() => undefined);
      throw error;
    }
  }

  get ended(): boolean {
    return this.#ended;
  }

  async end(): Promise<void> {
    if (!this.#ended) await this.#session.end().catch(() => undefined);
    this.#ended = true;
  }

  #frame(_time: number, frame: XRFrameLike): void {
    if (this.#ended) return;
    this.#session.requestAnimationFrame((time, next) => this.#frame(time, next));
    const pose = frame.getViewerPose(this.#space);
    const image = this.#source.image();
    if (!pose || !image) return;
    const gl = this.#gl;
    gl.bindFramebuffer(gl.FRAMEBUFFER, this.#layer.framebuffer);
    gl.clearColor(0.05, 0.05, 0.06, 1);
    gl.clear(gl.COLOR_BUFFER_BIT);
    gl.useProgram(this.#program);
    gl.texImage2D(gl.TEXTURE_2D, 0, gl.RGBA, gl.RGBA, gl.UNSIGNED_BYTE, image);
    const rects = eyeRects(this.#source.layout());
    // The screen's shape: one eye's picture as it is meant to be seen.
    const [w, h] = pictureSize(image);
    const eyeAspect = w > 0 && h > 0 ? (w * rects.left.w) / (h * rects.left.h) : 16 / 9;
    gl.uniform2f(this.#u.size, SCREEN_WIDTH, SCREEN_WIDTH / eyeAspect);
    for (const view of pose.views) {
      const viewport = this.#layer.getViewport(view);
      if (!viewport) continue;
      gl.viewport(viewport.x, viewport.y, viewport.width, viewport.height);
      const rect: Rect = view.eye === 'right' ? rects.right : rects.left;
      gl.uniform4f(this.#u.eye, rect.x, rect.y, rect.w, rect.h);
      gl.uniformMatrix4fv(this.#u.projection, false, view.projectionMatrix);
      gl.uniformMatrix4fv(this.#u.view, false, this.headLocked ? IDENTITY : view.transform.inverse.matrix);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
      this.stats.eyes++;
    }
    this.stats.frames++;
  }
}

function pictureSize(image: { width?: number; height?: number; videoWidth?: number; videoHeight?: number }): [number, number] {
  return [image.videoWidth ?? image.width ?? 0, image.videoHeight ?? image.height ?? 0];
}
