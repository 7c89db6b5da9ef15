/**
 * One output format (protocol/layout.ts) for one stream: the size each eye is rendered at, the frame
 * that holds them, the picture format an eye is scaled into, and the render of an eye picture with its
 * depth into a yuv420p frame for the encoder. Used alike by the chunk pipeline (convert.ts) and the
 * live converter (live-converter.ts), with its scratch buffers kept between frames.
 */
import { eyeSize, frameSize, layoutOf, type Layout, type StereoMode } from '../protocol/layout.ts';
import type { FrameScaler } from './frame-scaler.ts';
import { RowScratch, renderPairYuv, renderStereo } from './stereo.ts';
import type { DepthInput } from './types.ts';

export class StereoFrame {
  readonly mode: StereoMode;
  readonly layout: Layout;
  /** Each eye's picture, and the frame that holds both (what is encoded). */
  readonly eye: { width: number; height: number };
  readonly frame: { width: number; height: number };
  /** Pairs are warped plane by plane in yuv420p; anaglyphs mix colours, in rgb24. */
  readonly eyeFormat: 'yuv420p' | 'rgb24';
  /** Occlusion-aware warping (stereo.ts occlusionRows); off: each pixel samples by its own disparity. */
  readonly occlusion: boolean;
  readonly #scaler: FrameScaler;
  readonly #rows = new RowScratch();
  readonly #rgb: Uint8Array | null;
  readonly #eyes: Uint8Array | null;

  /** For a source scaled to `width`×`height` (even). */
  constructor(mode: StereoMode, width: number, height: number, scaler: FrameScaler, occlusion = true) {
    this.mode = mode;
    this.layout = layoutOf(mode);
    this.eye = eyeSize(mode, width, height);
    this.frame = frameSize(mode, this.eye);
    const anaglyph = this.layout.packing === 'anaglyph';
    this.eyeFormat = anaglyph ? 'rgb24' : 'yuv420p';
    this.occlusion = occlusion;
    this.#scaler = scaler;
    this.#rgb = anaglyph ? new Uint8Array(this.eye.width * this.eye.height * 3) : null;
    this.#eyes = anaglyph ? new Uint8Array(this.eye.width * 6) : null;
  }

  /** Both eyes of `picture` (an eye picture in `eyeFormat`) with its depth, as a yuv420p frame into `out`. */
  render(picture: Uint8Array, depth: DepthInput, strength: number, out: Uint8Array): void {
    const { width, height } = this.eye;
    const { packing, method } = this.layout;
    const input = { ...depth, occlusion: this.occlusion };
    if (packing !== 'anaglyph') {
      renderPairYuv(picture, width, height, input, strength, packing, out, this.#rows);
      return;
    }
    renderStereo(
      picture,
      width,
      height,
      input,
      { mode: 'anaglyph', method: method ?? 'color', strength },
      this.#rgb!,
      this.#rows,
      this.#eyes!,
    );
    this.#scaler.rgbToYuv(this.#rgb!, width, height, out);
  }
}
