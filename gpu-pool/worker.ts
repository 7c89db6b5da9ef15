/**
 * The Piscina worker: one depth-model session per thread, created once before the first task.
 * Bytes in (an MP4 chunk, transferred), bytes out (an MPEG-TS segment).
 */
import { workerData } from 'node:worker_threads';
import { convertChunk } from './convert.ts';
import { loadDepthModel, type ExecutionProvider } from './model.ts';
import type { ChunkResult, ChunkTask } from './types.ts';

export interface WorkerConfig {
  ffmpegPath: string;
  modelPath: string | null;
  executionProvider: ExecutionProvider;
  modelInputHeight: number;
  stereoStrength: number;
}

export type WorkerTask = ChunkTask | { info: true };
export interface WorkerInfo {
  provider: string;
  source: string;
}

const config = workerData as WorkerConfig;

export default (async () => {
  const model = await loadDepthModel({
    modelPath: config.modelPath,
    executionProvider: config.executionProvider,
    inputHeight: config.modelInputHeight,
  });
  return async (task: WorkerTask): Promise<ChunkResult | WorkerInfo> => {
    if ('info' in task) return { provider: model.provider, source: model.source };
    // The segment (a few hundred KB) is structured-cloned back; cheap next to the conversion.
    return convertChunk(task, { ffmpeg: config.ffmpegPath, model, strength: config.stereoStrength });
  };
})();
