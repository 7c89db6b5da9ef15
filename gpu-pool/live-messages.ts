/** What the live converter's thread (live-worker.ts) and its host (live-pool.ts) say to each other. */
import type { LivePace } from './live-converter.ts';
import type { ExecutionProvider } from './model.ts';
import type { StereoMode } from './types.ts';

export interface LiveStreamSettings {
  mode: StereoMode;
  strength: number;
  convergence: number;
  outputHeight: number;
  stabilise?: boolean;
  /** Occlusion-aware warping (stereo.ts). Default on. */
  occlusion?: boolean;
}

export interface LiveWorkerConfig {
  modelPath: string | null;
  executionProvider: ExecutionProvider;
  modelInputHeight: number;
}

export type LiveWorkerInput =
  /** The stream this thread converts (sent once, before its first frame). */
  | { type: 'start'; stream: LiveStreamSettings }
  | { type: 'frame'; data: ArrayBuffer; time: number; pace: LivePace }
  | { type: 'keyframe' }
  | { type: 'settings'; settings: { strength?: number; convergence?: number } }
  | { type: 'depth_every'; every: number }
  | { type: 'close' };

export type LiveWorkerOutput =
  | { type: 'ready'; provider: string }
  | { type: 'unit'; data: ArrayBuffer; time: number; key: boolean }
  | {
      type: 'done';
      converted: number;
      skipped: number;
      timings: { decode: number; depth: number; stereo: number; encode: number };
      size: { width: number; height: number } | null;
    }
  | { type: 'error'; message: string };
