/**
 * The Piscina worker: one depth-model session and one libav scaler per thread, created once before
 * the first task. Bytes in (an MP4 chunk, transferred), bytes out (a CMAF segment and its init).
 */
import { workerData } from 'node:worker_threads';
import { Scaler } from 'node-av/api';
import { AV_LOG_FATAL } from 'node-av/constants';
import { Log } from 'node-av/lib';
import { convertChunk } from './convert.ts';
import { loadDepthModel, type ExecutionProvider } from './model.ts';
import type { ChunkResult, ChunkTask } from './types.ts';

export interface WorkerConfig {
  modelPath: string | null;
  executionProvider: ExecutionProvider;
  modelInputHeight: number;
  stereoStrength: number;
  warmupFrames: number;
}

export type WorkerTask = ChunkTask | { info: true };
export interface WorkerInfo {
  provider: string;
  source: string;
}

const config = workerData as WorkerConfig;
// libav reports encoder statistics at 'info' and bad input at 'error'; our errors already name the
// problem (a failed chunk says why), so the server's log stays for what matters.
Log.setLevel(AV_LOG_FATAL);

export default (async () => {
  const model = await loadDepthModel({
    modelPath: config.modelPath,
    executionProvider: config.executionProvider,
    inputHeight: config.modelInputHeight,
  });
  const scaler = new Scaler();
  return async (task: WorkerTask): Promise<ChunkResult | WorkerInfo> => {
    if ('info' in task) return { provider: model.provider, source: model.source };
    // The segment (a few hundred KB) is structured-cloned back; cheap next to the conversion.
    return convertChunk(task, { model, scaler, strength: config.stereoStrength, warmupFrames: config.warmupFrames });
  };
})();
