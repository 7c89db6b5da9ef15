/**
 * The warp in WebAssembly SIMD (warp.wat), bit for bit what the plain loops (warp-plan.ts LoopWarper)
 * draw: each depth row's disparities and sample plans made in the module (plan_row), each output row
 * drawn sixteen pixels at a time, a block's samples gathered out of the source row by i8x16.swizzle
 * (warp_row). A frame's eye picture and depth map are copied into the module's memory, its rows warped
 * there, the frame copied out: the copies cost far less than the arithmetic they let run sixteen-wide.
 *
 * Memory, laid out for the luma's width and the frame's sizes: the depth map; three rows of disparities;
 * each eye's plans, the luma's and the chroma's (warp.wat says what abs, wt, rel, base and mode are) and a
 * table of where they are;
 * then the source picture and the output frame, each padded (the kernel reads up to 32 bytes past a row).
 */
import { readFileSync } from 'node:fs';
import type { DepthInput } from './types.ts';
import { occludes, type PairWarper, rowScale } from './warp-plan.ts';

const WASM = new URL('./warp.wasm', import.meta.url);
const PAGE = 65536;
/** Past the source and the output: what the kernel's windows may read beyond a plane's last row. */
const PAD = 64;

interface WarpExports {
  memory: WebAssembly.Memory;
  plan_row(
    depth: number,
    depthWidth: number,
    width: number,
    xRatio: number,
    min: number,
    scale: number,
    convergence: number,
    maxHalf: number,
    occlusion: number,
    disparities: number,
    stride: number,
    plans: number,
  ): void;
  warp_row(src: number, dst: number, width: number, base: number, mode: number, rel: number, wt: number, abs: number): void;
}

/** Where one eye's plan lies in the module's memory. */
interface EyePlan {
  abs: number;
  wt: number;
  rel: number;
  base: number;
  mode: number;
}

interface Layout {
  /** The luma plane's width (the chroma's is half). */
  width: number;
  depthBytes: number;
  srcBytes: number;
  outBytes: number;
  depth: number;
  disparities: number;
  /** Bytes from one row of disparities to the next (a multiple of 16: the kernel clears them four at a time). */
  stride: number;
  plans: number;
  luma: { left: EyePlan; right: EyePlan };
  chroma: { left: EyePlan; right: EyePlan };
  src: number;
  out: number;
}

let compiled: WebAssembly.Module | null | undefined;
let shared: SimdWarper | null | undefined;

/** The kernel, compiled once per thread; null where this runtime has no WebAssembly SIMD. */
function kernel(): WebAssembly.Module | null {
  if (compiled === undefined) {
    try {
      const bytes = readFileSync(WASM);
      compiled = WebAssembly.validate(bytes) ? new WebAssembly.Module(bytes) : null;
    } catch {
      compiled = null;
    }
  }
  return compiled ?? null;
}

const align = (n: number) => (n + 15) & ~15;

export class SimdWarper implements PairWarper {
  readonly #exports: WarpExports;
  #layout: Layout | null = null;
  #depth: DepthInput | null = null;
  #width = 0;
  #out: Uint8Array | null = null;

  /** A warper of its own (its own memory); null where WebAssembly SIMD is missing. */
  static create(): SimdWarper | null {
    const module = kernel();
    return module ? new SimdWarper(new WebAssembly.Instance(module).exports as unknown as WarpExports) : null;
  }

  /**
   * This thread's warper, made once: a frame's warp runs from `begin` to `end` without yielding, so one
   * memory serves every stream and chunk the thread converts (grown to the largest frame it has seen)
   * instead of one per chunk.
   */
  static forThread(): SimdWarper | null {
    if (shared === undefined) shared = SimdWarper.create();
    return shared;
  }

  private constructor(exports: WarpExports) {
    this.#exports = exports;
  }

  begin(src: Uint8Array, out: Uint8Array, width: number, depth: DepthInput): void {
    const depthBytes = depth.depthWidth * depth.depthHeight * 4;
    let layout = this.#layout;
    if (!layout || width > layout.width || depthBytes > layout.depthBytes || src.length > layout.srcBytes || out.length > layout.outBytes)
      layout = this.#layOut(width, depthBytes, src.length, out.length);
    const buffer = this.#exports.memory.buffer;
    new Float32Array(buffer, layout.depth, depth.depthWidth * depth.depthHeight).set(
      depth.depth.subarray(0, depth.depthWidth * depth.depthHeight),
    );
    new Uint8Array(buffer, layout.src, src.length).set(src);
    this.#depth = depth;
    this.#width = width;
    this.#out = out;
  }

  plan(dy: number, maxHalf: number): void {
    const layout = this.#layout!;
    const depth = this.#depth!;
    const width = this.#width;
    const { scale, xRatio } = rowScale(depth, width);
    this.#exports.plan_row(
      layout.depth + dy * depth.depthWidth * 4,
      depth.depthWidth,
      width,
      xRatio,
      depth.state.min,
      scale,
      depth.convergence,
      maxHalf,
      occludes(depth, maxHalf) ? 1 : 0,
      layout.disparities,
      layout.stride,
      layout.plans,
    );
  }

  row(from: number, left: number, right: number, chroma: boolean): void {
    const layout = this.#layout!;
    const { src, out } = layout;
    const { left: l, right: r } = chroma ? layout.chroma : layout.luma;
    const width = chroma ? this.#width >> 1 : this.#width;
    const { warp_row } = this.#exports;
    warp_row(src + from, out + left, width, l.base, l.mode, l.rel, l.wt, l.abs);
    warp_row(src + from, out + right, width, r.base, r.mode, r.rel, r.wt, r.abs);
  }

  end(): void {
    const out = this.#out!;
    out.set(new Uint8Array(this.#exports.memory.buffer, this.#layout!.out, out.length));
    this.#out = null;
    this.#depth = null;
  }

  #layOut(width: number, depthBytes: number, srcBytes: number, outBytes: number): Layout {
    const memory = this.#exports.memory;
    let at = 0;
    const take = (bytes: number) => {
      const from = at;
      at = align(at + bytes);
      return from;
    };
    const eye = (w: number): EyePlan => {
      const blocks = Math.ceil(w / 16);
      return { abs: take(4 * w), wt: take(w + 16), rel: take(w + 16), base: take(4 * blocks), mode: take(blocks) };
    };
    const depth = take(depthBytes);
    const stride = align(4 * width);
    const disparities = take(3 * stride);
    const luma = { left: eye(width), right: eye(width) };
    const chroma = { left: eye(width >> 1), right: eye(width >> 1) };
    const plans = take(80);
    const src = take(srcBytes + PAD);
    const out = take(outBytes + PAD);
    if (at > memory.buffer.byteLength) memory.grow(Math.ceil((at - memory.buffer.byteLength) / PAGE));
    // The table plan_row reads each eye's plan from: abs, wt, rel, base, mode; the luma's left and right
    // eye, then the chroma's.
    const table = [luma.left, luma.right, chroma.left, chroma.right].flatMap((p) => [p.abs, p.wt, p.rel, p.base, p.mode]);
    new Int32Array(memory.buffer, plans, 20).set(table);
    this.#layout = { width, depthBytes, srcBytes, outBytes, depth, disparities, stride, plans, luma, chroma, src, out };
    return this.#layout;
  }
}
