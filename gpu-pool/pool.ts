/**
 * The GPU pool: a fixed set of Piscina worker threads (minThreads = maxThreads), each holding one
 * depth-model session and doing its own decoding and encoding with libav in-process, with a bounded
 * queue. Bytes in, bytes out; no storage I/O here, and no child processes.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { BusyMeter } from './busy-meter.ts';
import type { ExecutionProvider } from './model.ts';
import { gpuCount } from './providers.ts';
import { type ChunkResult, type ChunkTask, ChunkCancelledError } from './types.ts';
import type { WorkerConfig, WorkerInfo } from './worker.ts';
import { type WorkerMemory, WorkerMemoryBoard } from './worker-memory.ts';

export interface GpuPoolOptions {
  workers: number;
  modelPath?: string | null;
  executionProvider?: ExecutionProvider;
  /** Model input height for dynamic-size models (multiple of 14). Default 126 (built-in), 252 (file). */
  modelInputHeight?: number;
  /** Largest disparity as a fraction of the eye width. Default 0.03. */
  stereoStrength?: number;
  /** Frames at the end of the previous chunk that warm up the depth range. Default 15. */
  warmupFrames?: number;
  /**
   * Depth estimates per second of video; the frames between take depth interpolated between two
   * estimates. 0 (default): every frame; 'auto': as often as converts a chunk in half its duration
   * (depth-pace.ts).
   */
  depthFps?: number | 'auto';
  /** Motion-compensated temporal filtering of depth, against flicker (depth-stabiliser.ts). Default on. */
  stabiliseDepth?: boolean;
  /** Occlusion-aware warping (stereo.ts occlusionRows). Default on. */
  occlusion?: boolean;
  /** Estimates per network run (where the graph's batch dimension is free). Default 1 on the CPU, 4 on a GPU. */
  depthBatch?: number;
  /** Tasks waiting at most; beyond it `run` rejects at once. Default 64. */
  maxQueue?: number;
}

/** NVIDIA GPUs on this host (one worker each), else the CPU count. */
export function defaultWorkerCount(): number {
  return gpuCount() || Math.max(1, os.availableParallelism());
}

/**
 * A private folder (mode 0700) the workers pass chunks to libav through (`ChunkReader.open`) and take
 * segments back through (`SegmentOutput`): in RAM (/dev/shm) where the host has it, else the temporary
 * folder. A chunk's file is unlinked once libav has it open, a segment's once it is read back, so the
 * folder holds at most one segment per worker; the pool removes it on close.
 */
function makeScratchDir(): string {
  for (const base of ['/dev/shm', os.tmpdir()]) {
    try {
      return mkdtempSync(join(base, 'stereospot-scratch-'));
    } catch {
      // not there or not writable: the next
    }
  }
  throw new Error(`cannot create a scratch folder in /dev/shm or ${os.tmpdir()}`);
}

/**
 * The bytes as an array that owns its whole buffer, so it can be transferred: a view of a shared
 * buffer (Buffer#slice does not copy) is copied, so the caller's other data is never detached.
 */
function transferable(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : new Uint8Array(bytes);
}

export class GpuPool {
  readonly #piscina: Piscina;
  readonly #info: WorkerInfo;
  readonly size: number;
  readonly #busy: BusyMeter;
  /** The private folder chunks reach libav through (empty between chunks; removed on close). */
  readonly scratchDir: string;
  readonly #memory: WorkerMemoryBoard;
  #closing: Promise<{ forced: boolean }> | null = null;

  private constructor(piscina: Piscina, info: WorkerInfo, size: number, scratchDir: string, memory: WorkerMemoryBoard) {
    this.#piscina = piscina;
    this.#info = info;
    this.size = size;
    this.scratchDir = scratchDir;
    this.#memory = memory;
    this.#busy = new BusyMeter(size);
  }

  /** Starts the workers and waits until their models are loaded. */
  static async create(options: GpuPoolOptions): Promise<GpuPool> {
    if (!Number.isInteger(options.workers) || options.workers < 1) {
      throw new TypeError('options.workers must be a positive integer');
    }
    if (options.depthFps !== undefined && options.depthFps !== 'auto' && !(Number.isFinite(options.depthFps) && options.depthFps >= 0)) {
      throw new TypeError("options.depthFps must be a non-negative number or 'auto'");
    }
    if (
      options.depthBatch !== undefined &&
      !(Number.isInteger(options.depthBatch) && options.depthBatch >= 1 && options.depthBatch <= 32)
    ) {
      throw new TypeError('options.depthBatch must be an integer from 1 to 32');
    }
    const warmupFrames = options.warmupFrames ?? 15;
    if (!Number.isInteger(warmupFrames) || warmupFrames < 0) {
      throw new TypeError('options.warmupFrames must be a non-negative integer');
    }
    const scratchDir = makeScratchDir();
    const memoryChannel = `stereospot-gpu-pool-${randomUUID()}`;
    const memory = new WorkerMemoryBoard(memoryChannel);
    const workerData: WorkerConfig = {
      warmupFrames,
      scratchDir,
      memoryChannel,
      carryChannel: `stereospot-depth-carry-${randomUUID()}`,
      workerCounter: new SharedArrayBuffer(4),
      gpus: gpuCount(),
      modelPath: options.modelPath ?? null,
      executionProvider: options.executionProvider ?? 'auto',
      modelInputHeight: options.modelInputHeight ?? (options.modelPath ? 252 : 126),
      stereoStrength: options.stereoStrength ?? 0.03,
      depthFps: options.depthFps ?? 0,
      stabiliseDepth: options.stabiliseDepth ?? true,
      occlusion: options.occlusion ?? true,
      depthBatch: options.depthBatch ?? null,
    };
    const piscina = new Piscina({
      filename: new URL('./worker.ts', import.meta.url).href,
      minThreads: options.workers,
      maxThreads: options.workers,
      // Models stay loaded: threads never idle out.
      idleTimeout: 2 ** 31 - 1,
      maxQueue: options.maxQueue ?? 64,
      concurrentTasksPerWorker: 1,
      workerData,
    });
    let info: WorkerInfo;
    try {
      // Warm every worker (model loaded) before the first real chunk.
      const infos = (await Promise.all(Array.from({ length: options.workers }, () => piscina.run({ info: true })))) as WorkerInfo[];
      info = infos[0]!;
    } catch (error) {
      await piscina.destroy();
      memory.close();
      rmSync(scratchDir, { recursive: true, force: true });
      throw error;
    }
    return new GpuPool(piscina, info, options.workers, scratchDir, memory);
  }

  /** Where the model runs (and which providers could not be used, why), which one it is and what it means. */
  info(): { provider: string; fallbacks: WorkerInfo['fallbacks']; model: string; family: string; output: string; licence: string } {
    return {
      provider: this.#info.provider,
      fallbacks: this.#info.fallbacks,
      model: this.#info.source,
      family: this.#info.family,
      output: this.#info.output,
      licence: this.#info.licence,
    };
  }

  /**
   * Converts one chunk. Its buffers are transferred to the worker (unusable afterwards). `signal`
   * cancels it: a waiting task ends as it starts, a running one before its next frame (rejecting with
   * ChunkCancelledError). The thread is never terminated for it: a thread stopped inside libav or the
   * network's runtime can abort the whole process.
   */
  async run(task: ChunkTask, options: { signal?: AbortSignal } = {}): Promise<ChunkResult> {
    if (this.#closing) throw new Error('the GPU pool is closed');
    const { signal } = options;
    if (signal?.aborted) throw new ChunkCancelledError();
    const chunk = transferable(task.chunk);
    const previous = task.previous ? transferable(task.previous) : null;
    const transferList = [chunk.buffer as ArrayBuffer, ...(previous ? [previous.buffer as ArrayBuffer] : [])];
    const cancel = new SharedArrayBuffer(4);
    const raise = () => Atomics.store(new Int32Array(cancel), 0, 1);
    signal?.addEventListener('abort', raise, { once: true });
    // Counted from submission: a queued task keeps a worker busy as soon as one frees up.
    this.#busy.start();
    try {
      return (await this.#piscina.run({ ...task, chunk, previous, cancel }, { transferList })) as ChunkResult;
    } finally {
      signal?.removeEventListener('abort', raise);
      this.#busy.end();
    }
  }

  stats(): Record<string, number> {
    return {
      threads: this.#piscina.threads.length,
      queueSize: this.#piscina.queueSize,
      completed: this.#piscina.completed,
      // Share of worker time busy over the last second (Piscina's own figure is a lifetime average).
      utilization: this.#busy.utilization,
    };
  }

  /** The workers' thread ids (a worker that died and was replaced shows as a new id). */
  threadIds(): number[] {
    return this.#piscina.threads.map((worker) => worker.threadId);
  }

  /** Each worker's own heap, by thread id (reported every few seconds: worker-memory.ts). */
  workerMemory(): Map<number, WorkerMemory> {
    this.#memory.retain(this.#piscina.threads.map((worker) => worker.threadId));
    return this.#memory.snapshot();
  }

  /**
   * Finishes running tasks (up to `timeoutMs`), then stops the workers. `forced`: some task had not
   * finished by then and its thread was terminated — a last resort (a thread stopped inside libav can
   * abort the process), which cancelling the tasks first (`run`'s signal) avoids. Safe twice.
   */
  close(options: { timeoutMs?: number } = {}): Promise<{ forced: boolean }> {
    this.#closing ??= (async () => {
      const timeoutMs = options.timeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const forced = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
      const outcome = await Promise.race([this.#piscina.close().then(() => 'closed' as const), forced]);
      clearTimeout(timer);
      if (outcome === 'timeout') await this.#piscina.destroy();
      this.#memory.close();
      rmSync(this.scratchDir, { recursive: true, force: true });
      return { forced: outcome === 'timeout' };
    })();
    return this.#closing;
  }
}
