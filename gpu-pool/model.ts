/**
 * Loading a depth network (built-in or DEPTH_MODEL_PATH) with its spec (model-spec.ts: what its input
 * wants and what its output means), and running it on one frame. Whatever the network, `estimate`
 * returns relative inverse depth — larger = nearer — at the network's output size: metric depth is
 * inverted here, so the rest of the pipeline never has to know which network ran.
 */
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { buildBuiltinDepthModel } from './model-builtin.ts';
import { FAMILIES, ModelSpecError, resolveSpec, type GraphSignature, type ModelSpec } from './model-spec.ts';
import { createPlaced, detectHost, providerPlan, type ExecutionProvider, type Placement } from './providers.ts';

export type { ExecutionProvider } from './providers.ts';

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
/** Metric depth is inverted as 1 / max(d, this): nothing nearer than 10 cm (a zero would be infinitely near). */
const NEAREST_METRES = 0.1;

export interface DepthModel {
  /** Where it actually runs. */
  provider: Placement;
  /** Providers tried first that could not be used, and why (providers.ts). */
  fallbacks: Array<{ provider: Placement; reason: string }>;
  source: string;
  /** What the network expects and returns. */
  spec: ModelSpec;
  /** Model input size for a frame of the given size (fixed dims respected; else multiples of the spec's). */
  inputSize(frameWidth: number, frameHeight: number): { width: number; height: number };
  /** Runs the model on an rgb24 frame; returns inverse depth (larger = nearer) at the model's output size. */
  estimate(frame: Uint8Array, frameWidth: number, frameHeight: number): Promise<{ depth: Float32Array; width: number; height: number }>;
  /** The same for several frames of one size, in one run where the graph's batch dimension is free. */
  estimateBatch(
    frames: Uint8Array[],
    frameWidth: number,
    frameHeight: number,
  ): Promise<Array<{ depth: Float32Array; width: number; height: number }>>;
  /** Whether the graph takes several frames per run (a free batch dimension). */
  batched: boolean;
  close(): Promise<void>;
}

export interface LoadOptions {
  modelPath: string | null;
  executionProvider: ExecutionProvider;
  /** Model input height for dynamic-size models (rounded to the spec's multiple). */
  inputHeight: number;
  /** The GPU to run on (one worker per GPU). Default 0. */
  device?: number;
}

type Dim = number | string;

/** The graph's input and output as onnxruntime describes them. */
function signatureOf(session: ort.InferenceSession): GraphSignature {
  const input = session.inputMetadata[0] as { type?: string; shape?: Dim[] } | undefined;
  const output = session.outputMetadata[0] as { shape?: Dim[] } | undefined;
  return {
    inputName: session.inputNames[0] ?? '',
    inputType: input?.type ?? 'unknown',
    inputShape: input?.shape ?? [],
    outputName: session.outputNames[0] ?? '',
    outputShape: output?.shape ?? [],
  };
}

/**
 * Checks the graph against its spec's layout: one 4-D input of 3 channels (float32, or uint8 for
 * byte input), one `[N,H,W]` or `[N,1,H,W]` float32 output. Returns the fixed input H/W when the graph
 * has them.
 */
export function checkContract(
  session: ort.InferenceSession,
  layout: 'nchw' | 'nhwc' = 'nchw',
): { fixedHeight: number | null; fixedWidth: number | null } {
  if (session.inputNames.length !== 1) throw new Error(`depth model must have one input, has ${session.inputNames.length}`);
  if (session.outputNames.length < 1) throw new Error('depth model has no output');
  const input = session.inputMetadata[0] as { isTensor: boolean; type?: string; shape?: Dim[] } | undefined;
  const output = session.outputMetadata[0] as { isTensor: boolean; type?: string; shape?: Dim[] } | undefined;
  const described = layout === 'nchw' ? '[N,3,H,W]' : '[N,H,W,3]';
  if (!input?.isTensor || !['float32', 'float16', 'uint8'].includes(input.type ?? '') || input.shape?.length !== 4) {
    throw new Error(
      `depth model input must be a float32, float16 or uint8 ${described} tensor (got ${input?.type} [${input?.shape?.join(',')}])`,
    );
  }
  const channels = input.shape[layout === 'nchw' ? 1 : 3];
  if (typeof channels === 'number' && channels !== 3) {
    throw new Error(
      `depth model input must have 3 channels (got ${channels}${layout === 'nchw' ? '' : ' in the last dimension: is it NCHW?'})`,
    );
  }
  const outRank = output?.shape?.length;
  if (!output?.isTensor || (output.type !== 'float32' && output.type !== 'float16') || (outRank !== 3 && outRank !== 4)) {
    throw new Error(
      `depth model output must be a float32 or float16 [N,H,W] or [N,1,H,W] tensor (got ${output?.type} [${output?.shape?.join(',')}])`,
    );
  }
  if (outRank === 4 && typeof output.shape![1] === 'number' && output.shape![1] !== 1) {
    throw new Error(`depth model output must have 1 channel (got ${output.shape![1]})`);
  }
  const [h, w] = layout === 'nchw' ? [input.shape[2], input.shape[3]] : [input.shape[1], input.shape[2]];
  return { fixedHeight: typeof h === 'number' && h > 0 ? h : null, fixedWidth: typeof w === 'number' && w > 0 ? w : null };
}

/** The three normalised values of one 8-bit RGB pixel, by the spec's rule. */
function normaliser(rule: ModelSpec['input']['normalise']): (v: number, channel: number) => number {
  switch (rule) {
    case 'imagenet':
      return (v, c) => (v / 255 - MEAN[c]!) / STD[c]!;
    case 'unit':
      return (v) => v / 255;
    case 'symmetric':
      return (v) => v / 127.5 - 1;
    case 'byte':
      return (v) => v;
  }
}

/**
 * Area-averages an rgb24 frame to `mw`×`mh` (each output pixel the mean of the source pixels its box
 * covers; the same pixel when the sizes match) and writes it normalised in the spec's layout.
 */
export function fillInput(
  frame: Uint8Array,
  fw: number,
  fh: number,
  mw: number,
  mh: number,
  spec: ModelSpec['input'],
  out: Float32Array | Uint8Array,
): void {
  const norm = normaliser(spec.normalise);
  const plane = mw * mh;
  const nchw = spec.layout === 'nchw';
  // Each channel's value at index d of the output.
  const at = (d: number, c: number) => (nchw ? c * plane + d : d * 3 + c);
  if (fw === mw && fh === mh) {
    // The usual case (the frame was scaled to the network's size on its way out of the decoder): each
    // byte through a table of its channel's 256 normalised values.
    const tables = [0, 1, 2].map((c) => Float64Array.from({ length: 256 }, (_, v) => norm(v, c)));
    const [tr, tg, tb] = tables as [Float64Array, Float64Array, Float64Array];
    if (nchw) {
      for (let d = 0, s = 0; d < plane; d++, s += 3) {
        out[d] = tr[frame[s]!]!;
        out[plane + d] = tg[frame[s + 1]!]!;
        out[2 * plane + d] = tb[frame[s + 2]!]!;
      }
    } else {
      for (let s = 0; s < 3 * plane; s += 3) {
        out[s] = tr[frame[s]!]!;
        out[s + 1] = tg[frame[s + 1]!]!;
        out[s + 2] = tb[frame[s + 2]!]!;
      }
    }
    return;
  }
  for (let y = 0; y < mh; y++) {
    const y0 = Math.floor((y * fh) / mh);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * fh) / mh));
    for (let x = 0; x < mw; x++) {
      const x0 = Math.floor((x * fw) / mw);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * fw) / mw));
      let r = 0;
      let g = 0;
      let b = 0;
      for (let sy = y0; sy < y1; sy++) {
        let s = (sy * fw + x0) * 3;
        for (let sx = x0; sx < x1; sx++, s += 3) {
          r += frame[s]!;
          g += frame[s + 1]!;
          b += frame[s + 2]!;
        }
      }
      const n = (y1 - y0) * (x1 - x0);
      const d = y * mw + x;
      out[at(d, 0)] = norm(r / n, 0);
      out[at(d, 1)] = norm(g / n, 1);
      out[at(d, 2)] = norm(b / n, 2);
    }
  }
}

/** IEEE 754 half-precision bits of a float (round to nearest even; overflow to infinity). */
export function toHalf(value: number): number {
  F32[0] = value;
  const bits = U32[0]!;
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  let mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa ? 0x200 : 0); // Inf, NaN
  const e = exponent - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mantissa |= 0x800000;
    const shift = 14 - e;
    let half = mantissa >>> shift;
    const rest = mantissa & ((1 << shift) - 1);
    const halfway = 1 << (shift - 1);
    if (rest > halfway || (rest === halfway && half & 1)) half++;
    return sign | half;
  }
  let half = (e << 10) | (mantissa >>> 13);
  const rest = mantissa & 0x1fff;
  if (rest > 0x1000 || (rest === 0x1000 && half & 1)) half++;
  return sign | half;
}

/** The float a half-precision bit pattern stands for. */
export function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >>> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 0x1f) return mantissa ? NaN : sign * Infinity;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
const F32 = new Float32Array(1);
const U32 = new Uint32Array(F32.buffer);

const roundTo = (n: number, multiple: number) => Math.max(multiple, Math.round(n / multiple) * multiple);

export async function loadDepthModel(options: LoadOptions): Promise<DepthModel> {
  const source = options.modelPath ?? 'built-in';
  const bytes = options.modelPath ? new Uint8Array(await readFile(options.modelPath)) : buildBuiltinDepthModel();
  const { session, provider, fallbacks } = await createPlaced(
    providerPlan(options.executionProvider, detectHost()),
    options.device ?? 0,
    (sessionOptions) => ort.InferenceSession.create(bytes, sessionOptions),
  );
  let spec: ModelSpec;
  let fixed: { fixedHeight: number | null; fixedWidth: number | null };
  try {
    spec = options.modelPath ? resolveSpec(options.modelPath, bytes, signatureOf(session)) : { family: 'builtin', ...FAMILIES.builtin! };
    fixed = checkContract(session, spec.input.layout);
    const declared = 'fixed' in spec.input.size ? spec.input.size.fixed : null;
    if (
      declared &&
      ((fixed.fixedWidth !== null && fixed.fixedWidth !== declared.width) ||
        (fixed.fixedHeight !== null && fixed.fixedHeight !== declared.height))
    ) {
      throw new ModelSpecError(
        `declared input size ${declared.width}x${declared.height} differs from the graph's ${fixed.fixedWidth}x${fixed.fixedHeight}`,
      );
    }
    if (declared) fixed = { fixedWidth: declared.width, fixedHeight: declared.height };
  } catch (error) {
    await session.release();
    const message = (error as Error).message;
    throw new ModelSpecError(message.startsWith(source) ? message : `${source}: ${message}`);
  }
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  const declaredType = (session.inputMetadata[0] as { type?: string }).type;
  const inputType = declaredType === 'uint8' ? 'uint8' : declaredType === 'float16' ? 'float16' : 'float32';
  const multiple = 'multipleOf' in spec.input.size ? spec.input.size.multipleOf : 1;
  const metric = spec.output.kind === 'metric-depth';
  let buffer: Float32Array | Uint8Array = new Float32Array(0);
  let halves = new Uint16Array(0);

  const inputSize = (fw: number, fh: number) => {
    const height = fixed.fixedHeight ?? roundTo(options.inputHeight, multiple);
    const width = fixed.fixedWidth ?? roundTo((height * fw) / fh, multiple);
    return { width, height };
  };

  // A graph whose batch dimension is free runs several frames at once (one copy to and from a GPU).
  const batchDim = (session.inputMetadata[0] as { shape?: Dim[] }).shape?.[0];
  const batched = typeof batchDim !== 'number' || batchDim <= 0;

  /** Runs the network once on `frames` (all `fw`×`fh`); each result owns its map. */
  const run = async (
    frames: Uint8Array[],
    fw: number,
    fh: number,
  ): Promise<Array<{ depth: Float32Array; width: number; height: number }>> => {
    const { width: mw, height: mh } = inputSize(fw, fh);
    const one = mw * mh * 3;
    const length = one * frames.length;
    if (buffer.length !== length) buffer = inputType === 'uint8' ? new Uint8Array(length) : new Float32Array(length);
    for (const [i, frame] of frames.entries()) fillInput(frame, fw, fh, mw, mh, spec.input, buffer.subarray(i * one, (i + 1) * one));
    const dims = spec.input.layout === 'nchw' ? [frames.length, 3, mh, mw] : [frames.length, mh, mw, 3];
    let tensor: ort.Tensor;
    if (buffer instanceof Uint8Array) tensor = new ort.Tensor('uint8', buffer, dims);
    else if (inputType === 'float16') {
      // fp16 networks (half the memory and, on a GPU, often twice the speed): the input as half floats.
      if (halves.length !== length) halves = new Uint16Array(length);
      for (let i = 0; i < length; i++) halves[i] = toHalf(buffer[i]!);
      tensor = new ort.Tensor('float16', halves, dims);
    } else tensor = new ort.Tensor('float32', buffer, dims);
    const result = await session.run({ [inputName]: tensor });
    const out = result[outputName]!;
    const oh = out.dims[out.dims.length - 2]!;
    const ow = out.dims[out.dims.length - 1]!;
    const data = out.data as ArrayLike<number>;
    // Half floats come as their bits (a Uint16Array), or as numbers where the runtime has Float16Array;
    // metres (larger = farther) become inverse depth (larger = nearer), which is what disparity follows.
    const bits = out.type === 'float16' && data instanceof Uint16Array;
    const plane = ow * oh;
    return frames.map((_, f) => {
      const depth = new Float32Array(plane);
      for (let i = 0, k = f * plane; i < plane; i++, k++) {
        const v = bits ? fromHalf(data[k]!) : data[k]!;
        depth[i] = metric ? 1 / Math.max(v, NEAREST_METRES) : v;
      }
      return { depth, width: ow, height: oh };
    });
  };
  /** A graph of batch 1: one run per frame. */
  const sequential = async (frames: Uint8Array[], fw: number, fh: number) => {
    const results = [];
    for (const frame of frames) results.push(...(await run([frame], fw, fh)));
    return results;
  };

  return {
    provider,
    fallbacks,
    source,
    spec,
    inputSize,
    batched,
    async estimate(frame, fw, fh) {
      const [one] = await run([frame], fw, fh);
      return one!;
    },
    estimateBatch: (frames, fw, fh) => (batched || frames.length <= 1 ? run(frames, fw, fh) : sequential(frames, fw, fh)),
    async close() {
      await session.release();
    },
  };
}
