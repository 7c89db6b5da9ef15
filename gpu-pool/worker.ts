/**
 * The Piscina worker: one depth-model session, one frame scaler, one segment output and one silent AAC
 * track per thread, created once before the first task. Bytes in (an MP4 chunk, transferred), bytes out
 * (a CMAF segment and its init).
 */
import { tmpdir } from 'node:os';
import { workerData } from 'node:worker_threads';
import { AV_LOG_FATAL } from 'node-av/constants';
import { Log } from 'node-av/lib';
import { CmafWriter } from './cmaf-writer.ts';
import { DepthCarry } from './depth-carry.ts';
import { DepthPace } from './depth-pace.ts';
import { convertChunk, type ConvertOptions } from './convert.ts';
import { FrameScaler } from './frame-scaler.ts';
import { SegmentOutput } from './segment-output.ts';
import { SilentAudio } from './silent-audio.ts';
import { yuv420pSize } from './stereo.ts';
import { loadDepthModel, type DepthModel, type ExecutionProvider } from './model.ts';
import { deviceFor } from './providers.ts';
import type { ChunkResult, ChunkTask } from './types.ts';
import { lowerThreadPriority } from './thread-priority.ts';
import { reportMemory } from './worker-memory.ts';

export interface WorkerConfig {
  modelPath: string | null;
  executionProvider: ExecutionProvider;
  modelInputHeight: number;
  stereoStrength: number;
  warmupFrames: number;
  /** Depth estimates per second of video (0: every frame; 'auto': as often as keeps realtime). */
  depthFps: number | 'auto';
  /** Motion-compensated temporal filtering of depth (depth-stabiliser.ts). */
  stabiliseDepth: boolean;
  /** Occlusion-aware warping (stereo.ts occlusionRows). */
  occlusion: boolean;
  /** Estimates per network run; null: 1 on the CPU, 4 on a GPU. */
  depthBatch: number | null;
  /** The pool's private folder for chunks on their way into libav; null: from memory. */
  scratchDir: string | null;
  /** The pool's broadcast channel for heap reports (worker-memory.ts). */
  memoryChannel: string;
  /** The pool's broadcast channel for depth states carried between chunks (depth-carry.ts). */
  carryChannel: string;
  /** Shared by the pool's workers: each takes the next index (its GPU among `gpus`). */
  workerCounter: SharedArrayBuffer;
  /** NVIDIA GPUs on the host (0: none). */
  gpus: number;
}

export type WorkerTask = ChunkTask | { info: true };
export interface WorkerInfo {
  provider: string;
  /** Providers tried first that could not be used, and why. */
  fallbacks: Array<{ provider: string; reason: string }>;
  source: string;
  /** The network's family, what its output means, and its licence (model-spec.ts). */
  family: string;
  output: string;
  licence: string;
}

const config = workerData as WorkerConfig;
/** How much lower the durable conversions run than the rest (thread-priority.ts). */
const DURABLE_NICE = 10;
// libav reports encoder statistics at 'info' and bad input at 'error'; our errors already name the
// problem (a failed chunk says why), so the server's log stays for what matters.
Log.setLevel(AV_LOG_FATAL);

export default (async () => {
  reportMemory(config.memoryChannel);
  // Below the live path, the server and its sockets, which have milliseconds where this has seconds.
  lowerThreadPriority(DURABLE_NICE);
  let model: DepthModel;
  try {
    model = await loadDepthModel({
      modelPath: config.modelPath,
      executionProvider: config.executionProvider,
      inputHeight: config.modelInputHeight,
      // One worker per GPU: each takes the next.
      device: deviceFor(Atomics.add(new Int32Array(config.workerCounter), 0, 1), config.gpus),
    });
  } catch (error) {
    // A rejected module makes Piscina retry it with require(), whose "unknown file extension .ts"
    // would hide why: resolve to a handler that gives every task (the pool's first: `info`) the reason.
    const reason = error instanceof Error ? error : new Error(String(error));
    return async (): Promise<never> => {
      throw reason;
    };
  }
  const options: ConvertOptions = {
    model,
    scaler: new FrameScaler(),
    output: new SegmentOutput(config.scratchDir ?? tmpdir()),
    ...silence(),
    strength: config.stereoStrength,
    warmupFrames: config.warmupFrames,
    depthFps: config.depthFps,
    carry: new DepthCarry(config.carryChannel),
    pace: new DepthPace(),
    stabilise: config.stabiliseDepth,
    occlusion: config.occlusion,
    // A GPU runs several frames in about the time of one (one copy each way, its cores kept busy); a
    // CPU thread gains nothing.
    batch: config.depthBatch ?? (model.provider === 'cpu' ? 1 : 4),
    ...(config.scratchDir ? { scratchDir: config.scratchDir } : {}),
  };
  await warmUp(options);
  return async (task: WorkerTask): Promise<ChunkResult | WorkerInfo> => {
    if ('info' in task)
      return {
        provider: model.provider,
        fallbacks: model.fallbacks,
        source: model.source,
        family: model.spec.family,
        output: model.spec.output.kind,
        licence: model.spec.licence,
      };
    // The segment (a few hundred KB) is structured-cloned back; cheap next to the conversion.
    return convertChunk(task, options);
  };
})();

/** The worker's silent track; without a writable folder, segments of chunks without sound have none. */
function silence(): Pick<ConvertOptions, 'silence'> {
  try {
    return { silence: new SilentAudio(config.scratchDir ?? tmpdir()) };
  } catch (error) {
    console.error(`gpu-pool: no silent track for chunks without sound (${(error as Error).message})`);
    return {};
  }
}

/**
 * Converts a small synthetic chunk (made here with the same encoder) once before the first task: the
 * first real chunks of a stream otherwise pay for JIT compilation and libav's first use — measured
 * ≈1.3 s instead of ≈0.25 s for a 0.5-s chunk, the first thing a viewer sees.
 */
async function warmUp(options: ConvertOptions): Promise<void> {
  const width = 160;
  const height = 96;
  const writer = new CmafWriter({ width, height, timeBase: { num: 1, den: 30 }, output: options.output });
  const frame = new Uint8Array(yuv420pSize(width, height));
  for (let i = 0; i < 15; i++) {
    for (let p = 0; p < frame.length; p++) frame[p] = (p * 7 + i * 13) & 255;
    writer.writeFrame(frame, BigInt(i));
  }
  const { init, media } = writer.finish();
  const chunk = new Uint8Array(init.length + media.length);
  chunk.set(init);
  chunk.set(media, init.length);
  await convertChunk({ chunk, previous: chunk, mode: 'sbs', outputHeight: height }, options);
  await convertChunk({ chunk, mode: 'anaglyph', outputHeight: height }, options);
}
