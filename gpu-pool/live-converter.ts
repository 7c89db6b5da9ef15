/**
 * One session's live path, frame by frame: an access unit in → decode → depth → stereo warp → x264 →
 * an access unit out, at once. The state the chunk pipeline rebuilds per chunk lives on here from frame
 * to frame: the depth range's EMA and the temporal filter (depth-step.ts), the scaler's contexts, the
 * encoder. No frame is held back: where the network does not run on a frame (it runs every
 * `depthEvery`-th, chosen so the path keeps real time), the frame takes the newest estimate as it is —
 * waiting for the next estimate would cost latency, which is what this path exists to save.
 *
 * When the path falls behind, the caller says so with each frame's `pace`: `hurry` converts the frame
 * on the newest estimate (no network run — a frame a little stale in depth rather than none), `skip`
 * decodes it only (the next picture depends on it) without converting it, so the path stays at the
 * live edge.
 */
import { DEPTH_EMA } from './depth-range.ts';
import { advance, drawn, observe } from './depth-step.ts';
import { type FrameScaler, pictureSize } from './frame-scaler.ts';
import { type EncodedUnit, LiveDecoder, LiveEncoder } from './live-codec.ts';
import type { DepthModel } from './model.ts';
import { yuv420pSize } from './stereo.ts';
import { StereoFrame } from './stereo-frame.ts';
import { scaledSize } from '../protocol/layout.ts';
import type { DepthState, StereoMode } from './types.ts';

export interface LiveConverterOptions {
  model: DepthModel;
  scaler: FrameScaler;
  mode: StereoMode;
  /** Largest disparity as a fraction of each eye's width; the screen plane's depth (0 far … 1 near). */
  strength: number;
  convergence: number;
  /** Each eye's height at most (the source's when smaller). */
  outputHeight: number;
  /** Motion-compensated temporal filtering of depth. Default on. */
  stabilise?: boolean;
  /** Occlusion-aware warping (stereo.ts). Default on. */
  occlusion?: boolean;
  /** A keyframe at least this often (µs of capture time; default 2 s): a viewer joining waits no longer. */
  keyframeEveryMicros?: number;
}

/** How much of the work a frame gets: all of it; no new depth estimate; decoding only. */
export type LivePace = 'full' | 'hurry' | 'skip';

/** What became of one input unit. */
export interface LiveOutcome {
  units: EncodedUnit[];
  /** Pictures decoded from it and converted, or decoded and skipped. */
  converted: number;
  skipped: number;
  /** Network runs it took (0 when it was converted on the newest estimate). */
  estimates: number;
  /** ms spent on it: decode (and scale), depth, warp, encode. */
  timings: { decode: number; depth: number; stereo: number; encode: number };
}

type Picture = { eye: Uint8Array; small: Uint8Array; time: number };
/** The source's scaled size, the network's input size, and the output format at that size. */
type Sizes = { width: number; height: number; model: { width: number; height: number }; stereo: StereoFrame };

export class LiveConverter {
  readonly #opts: LiveConverterOptions;
  readonly #decoder = new LiveDecoder();
  #encoder: LiveEncoder | null = null;
  #state: DepthState | null = null;
  #latest: { depth: Float32Array; width: number; height: number; state: DepthState } | null = null;
  #size: Sizes | null = null;
  #buffers: { eye: Uint8Array[]; small: Uint8Array[]; out: Uint8Array } | null = null;
  #frames = 0;
  #lastKey = Number.NEGATIVE_INFINITY;
  #keyframeWanted = true;
  /** The network runs on every n-th converted frame (1: every one); the host sets it from what it measures. */
  depthEvery = 1;
  #closed = false;

  constructor(options: LiveConverterOptions) {
    this.#opts = options;
  }

  /** The next output unit is a keyframe (a viewer joined). */
  requestKeyframe(): void {
    this.#keyframeWanted = true;
  }

  /** New stereo settings, from the next frame on. */
  setSettings(settings: { strength?: number; convergence?: number }): void {
    if (settings.strength !== undefined) this.#opts.strength = settings.strength;
    if (settings.convergence !== undefined) this.#opts.convergence = settings.convergence;
  }

  /** The output frame's size (both eyes as the mode packs them), once the first picture set it. */
  get outputSize(): { width: number; height: number } | null {
    return this.#size?.stereo.frame ?? null;
  }

  /** One access unit captured at `time` µs, converted as `pace` says (the path is on time, behind, far behind). */
  async push(unit: Uint8Array, time: number, pace: LivePace = 'full'): Promise<LiveOutcome> {
    const timings = { decode: 0, depth: 0, stereo: 0, encode: 0 };
    const outcome: LiveOutcome = { units: [], converted: 0, skipped: 0, estimates: 0, timings };
    if (this.#closed) return outcome;
    let t = performance.now();
    const pictures: Picture[] = [];
    this.#decoder.decode(unit, time, (frame, at) => {
      if (pace === 'skip') {
        outcome.skipped++;
        return;
      }
      const size = this.#sizeFor(frame.width, frame.height);
      const { eye, eyeFormat } = size.stereo;
      const buffers = this.#buffers!;
      const picture: Picture = {
        eye: buffers.eye.pop() ?? new Uint8Array(pictureSize(eye.width, eye.height, eyeFormat)),
        small: buffers.small.pop() ?? new Uint8Array(pictureSize(size.model.width, size.model.height, 'rgb24')),
        time: at,
      };
      this.#opts.scaler.scale(frame, eye.width, eye.height, eyeFormat, picture.eye);
      this.#opts.scaler.scale(frame, size.model.width, size.model.height, 'rgb24', picture.small);
      pictures.push(picture);
    });
    timings.decode += performance.now() - t;
    for (const picture of pictures) {
      const size = this.#size!;
      const buffers = this.#buffers!;
      t = performance.now();
      if (!this.#latest || (pace === 'full' && this.#frames % Math.max(1, this.depthEvery) === 0)) {
        const estimate = await this.#opts.model.estimate(picture.small, size.model.width, size.model.height);
        outcome.estimates++;
        const seen = observe(estimate.depth, estimate.width, estimate.height, picture.small, size.model.width, size.model.height);
        this.#state = advance(this.#state, seen, DEPTH_EMA, this.#opts.stabilise !== false);
        this.#latest = drawn(this.#state, seen);
      }
      this.#frames++;
      timings.depth += performance.now() - t;
      t = performance.now();
      const latest = this.#latest;
      const input = {
        depth: latest.depth,
        depthWidth: latest.width,
        depthHeight: latest.height,
        state: latest.state,
        convergence: this.#opts.convergence,
      };
      size.stereo.render(picture.eye, input, this.#opts.strength, buffers.out);
      timings.stereo += performance.now() - t;
      t = performance.now();
      const every = this.#opts.keyframeEveryMicros ?? 2_000_000;
      const key = this.#keyframeWanted || picture.time - this.#lastKey >= every;
      for (const encoded of this.#encoder!.encode(buffers.out, picture.time, key)) {
        if (encoded.key) this.#lastKey = encoded.time;
        outcome.units.push(encoded);
      }
      if (key) this.#keyframeWanted = false;
      timings.encode += performance.now() - t;
      outcome.converted++;
      buffers.eye.push(picture.eye);
      buffers.small.push(picture.small);
    }
    return outcome;
  }

  /** The sizes for a source picture (and everything sized by them), made anew when the source's size changes. */
  #sizeFor(width: number, height: number): Sizes {
    const scaled = scaledSize({ width, height }, this.#opts.outputHeight);
    const known = this.#size;
    if (known && known.width === scaled.width && known.height === scaled.height) return known;
    const model = this.#opts.model.inputSize(scaled.width, scaled.height);
    const stereo = new StereoFrame(this.#opts.mode, scaled.width, scaled.height, this.#opts.scaler, this.#opts.occlusion !== false);
    this.#size = { ...scaled, model, stereo };
    const { frame } = stereo;
    this.#encoder?.close();
    this.#encoder = new LiveEncoder(frame.width, frame.height, stereo.layout.framePacking);
    this.#keyframeWanted = true;
    this.#state = null;
    this.#latest = null;
    this.#buffers = {
      eye: [],
      small: [],
      out: new Uint8Array(yuv420pSize(frame.width, frame.height)),
    };
    return this.#size;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#decoder.close();
    this.#encoder?.close();
  }
}
