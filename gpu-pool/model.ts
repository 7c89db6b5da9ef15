/**
 * Loading the depth model (built-in or DEPTH_MODEL_PATH) and running it on one frame.
 * Contract (Depth-Anything-V2 style): one input `[N,3,H,W]` float32, ImageNet mean/std, H and W
 * multiples of 14; one output `[N,H,W]` or `[N,1,H,W]`, relative inverse depth (larger = nearer).
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import * as ort from 'onnxruntime-node';
import { buildBuiltinDepthModel } from './model-builtin.ts';

export type ExecutionProvider = 'auto' | 'cpu' | 'cuda';

const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];

export interface DepthModel {
  /** 'cuda' or 'cpu': where it actually runs. */
  provider: 'cuda' | 'cpu';
  source: string;
  /** Model input size for a frame of the given size (fixed dims respected; else multiples of 14). */
  inputSize(frameWidth: number, frameHeight: number): { width: number; height: number };
  /** Runs the model on an rgb24 frame; returns the raw depth map at the model's input size. */
  estimate(frame: Uint8Array, frameWidth: number, frameHeight: number): Promise<{ depth: Float32Array; width: number; height: number }>;
  close(): Promise<void>;
}

export interface LoadOptions {
  modelPath: string | null;
  executionProvider: ExecutionProvider;
  /** Model input height for dynamic-size models (rounded to a multiple of 14). */
  inputHeight: number;
}

type Dim = number | string;

/** Checks the input/output contract; returns the fixed input H/W when the model has them. */
export function checkContract(session: ort.InferenceSession): { fixedHeight: number | null; fixedWidth: number | null } {
  if (session.inputNames.length !== 1) throw new Error(`depth model must have one input, has ${session.inputNames.length}`);
  if (session.outputNames.length < 1) throw new Error('depth model has no output');
  const input = session.inputMetadata[0] as { isTensor: boolean; type?: string; shape?: Dim[] } | undefined;
  const output = session.outputMetadata[0] as { isTensor: boolean; type?: string; shape?: Dim[] } | undefined;
  if (!input?.isTensor || input.type !== 'float32' || input.shape?.length !== 4) {
    throw new Error(`depth model input must be a float32 [N,3,H,W] tensor (got ${input?.type} [${input?.shape?.join(',')}])`);
  }
  if (typeof input.shape[1] === 'number' && input.shape[1] !== 3) {
    throw new Error(`depth model input must have 3 channels (got ${input.shape[1]})`);
  }
  const outRank = output?.shape?.length;
  if (!output?.isTensor || output.type !== 'float32' || (outRank !== 3 && outRank !== 4)) {
    throw new Error(`depth model output must be a float32 [N,H,W] or [N,1,H,W] tensor (got ${output?.type} [${output?.shape?.join(',')}])`);
  }
  if (outRank === 4 && typeof output.shape![1] === 'number' && output.shape![1] !== 1) {
    throw new Error(`depth model output must have 1 channel (got ${output.shape![1]})`);
  }
  const h = input.shape[2];
  const w = input.shape[3];
  return { fixedHeight: typeof h === 'number' && h > 0 ? h : null, fixedWidth: typeof w === 'number' && w > 0 ? w : null };
}

async function createSession(model: Uint8Array, provider: ExecutionProvider): Promise<{ session: ort.InferenceSession; provider: 'cuda' | 'cpu' }> {
  const cpu: ort.InferenceSession.SessionOptions = {
    executionProviders: ['cpu'],
    // One thread per worker: two workers with one thread each beat one with two (NOTES.md).
    intraOpNumThreads: 1,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  };
  // 'auto' only tries CUDA where an NVIDIA driver is present (avoids ORT's noisy load failure).
  if (provider === 'cpu' || (provider === 'auto' && !existsSync('/proc/driver/nvidia/gpus'))) return { session: await ort.InferenceSession.create(model, cpu), provider: 'cpu' };
  try {
    const session = await ort.InferenceSession.create(model, { ...cpu, executionProviders: ['cuda'] });
    return { session, provider: 'cuda' };
  } catch (error) {
    if (provider === 'cuda') throw new Error(`CUDA execution provider unavailable: ${(error as Error).message}`);
    return { session: await ort.InferenceSession.create(model, cpu), provider: 'cpu' };
  }
}

const round14 = (n: number) => Math.max(14, Math.round(n / 14) * 14);

export async function loadDepthModel(options: LoadOptions): Promise<DepthModel> {
  const bytes = options.modelPath ? new Uint8Array(await readFile(options.modelPath)) : buildBuiltinDepthModel();
  const { session, provider } = await createSession(bytes, options.executionProvider);
  let fixed;
  try {
    fixed = checkContract(session);
  } catch (error) {
    await session.release();
    throw new Error(`${options.modelPath ?? 'built-in model'}: ${(error as Error).message}`);
  }
  const inputName = session.inputNames[0]!;
  const outputName = session.outputNames[0]!;
  let buffer = new Float32Array(0);

  const inputSize = (fw: number, fh: number) => {
    const height = fixed.fixedHeight ?? round14(options.inputHeight);
    const width = fixed.fixedWidth ?? round14((height * fw) / fh);
    return { width, height };
  };

  return {
    provider,
    source: options.modelPath ?? 'built-in',
    inputSize,
    async estimate(frame, fw, fh) {
      const { width: mw, height: mh } = inputSize(fw, fh);
      const plane = mw * mh;
      if (buffer.length !== plane * 3) buffer = new Float32Array(plane * 3);
      // Nearest-neighbour downscale + normalise, HWC uint8 → CHW float.
      for (let y = 0; y < mh; y++) {
        const sy = Math.min(fh - 1, Math.floor(((y + 0.5) * fh) / mh));
        const row = sy * fw * 3;
        for (let x = 0; x < mw; x++) {
          const s = row + Math.min(fw - 1, Math.floor(((x + 0.5) * fw) / mw)) * 3;
          const d = y * mw + x;
          buffer[d] = (frame[s]! / 255 - MEAN[0]!) / STD[0]!;
          buffer[plane + d] = (frame[s + 1]! / 255 - MEAN[1]!) / STD[1]!;
          buffer[2 * plane + d] = (frame[s + 2]! / 255 - MEAN[2]!) / STD[2]!;
        }
      }
      const result = await session.run({ [inputName]: new ort.Tensor('float32', buffer, [1, 3, mh, mw]) });
      const out = result[outputName]!;
      const dims = out.dims;
      const oh = dims[dims.length - 2]!;
      const ow = dims[dims.length - 1]!;
      return { depth: out.data as Float32Array, width: ow, height: oh };
    },
    async close() {
      await session.release();
    },
  };
}
