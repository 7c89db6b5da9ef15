/**
 * Where the depth network runs: which onnxruntime execution providers to try, in which order, and
 * with which options. onnxruntime-node's Linux x64 build carries the CUDA provider and can use
 * TensorRT where its libraries are installed (a TensorRT engine is built per input size on first use,
 * then much faster than CUDA's kernels).
 *
 *   auto      TensorRT → CUDA → CPU on a host with an NVIDIA driver (TensorRT only where libnvinfer is
 *             found), CPU elsewhere; each one that fails to load is reported and the next tried;
 *   tensorrt  TensorRT (falling back to CUDA kernels, then CPU, per operator), or an error;
 *   cuda      CUDA (CPU per operator), or an error;
 *   cpu       CPU, one thread per worker (two workers with one thread each beat one with two: NOTES.md).
 *
 * One worker per GPU (pool.ts); each takes the next device in turn (`deviceIndex`).
 *
 * IO binding: onnxruntime-node keeps a session's inputs and outputs in host memory (its only
 * device-side tensors are WebGPU buffers and WebNN tensors), so each run copies the network's input
 * (0.6–3 MB of floats) to the GPU and the depth map back; batching (DEPTH_BATCH) makes that one copy
 * for several frames.
 */
import { existsSync, readdirSync } from 'node:fs';
import type * as ort from 'onnxruntime-node';

export type ExecutionProvider = 'auto' | 'cpu' | 'cuda' | 'tensorrt';
export type Placement = 'tensorrt' | 'cuda' | 'cpu';

export interface Host {
  /** An NVIDIA driver is loaded (a GPU is there). */
  nvidia: boolean;
  /** TensorRT's runtime library can be found. */
  tensorrt: boolean;
}

/** What this machine has: an NVIDIA driver, and TensorRT's library where the dynamic loader looks. */
export function detectHost(env: Record<string, string | undefined> = process.env): Host {
  const nvidia = existsSync('/proc/driver/nvidia/gpus');
  const dirs = [
    ...(env.LD_LIBRARY_PATH ?? '').split(':').filter(Boolean),
    '/usr/lib/x86_64-linux-gnu',
    '/usr/local/lib',
    '/usr/local/tensorrt/lib',
  ];
  const tensorrt =
    nvidia &&
    dirs.some((dir) => {
      try {
        return readdirSync(dir).some((name) => name.startsWith('libnvinfer.so'));
      } catch {
        return false;
      }
    });
  return { nvidia, tensorrt };
}

/** The providers to try for `requested` on `host`, in order. */
export function providerPlan(requested: ExecutionProvider, host: Host): Placement[] {
  switch (requested) {
    case 'cpu':
      return ['cpu'];
    case 'cuda':
      return ['cuda'];
    case 'tensorrt':
      return ['tensorrt'];
    case 'auto':
      if (!host.nvidia) return ['cpu'];
      return host.tensorrt ? ['tensorrt', 'cuda', 'cpu'] : ['cuda', 'cpu'];
  }
}

/** Session options for one placement (`device`: the GPU's index). */
export function sessionOptions(placement: Placement, device: number): ort.InferenceSession.SessionOptions {
  const base: ort.InferenceSession.SessionOptions = { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' };
  switch (placement) {
    case 'cpu':
      return { ...base, executionProviders: ['cpu'] };
    case 'cuda':
      return { ...base, executionProviders: [{ name: 'cuda', deviceId: device }, 'cpu'] };
    case 'tensorrt':
      return { ...base, executionProviders: [{ name: 'tensorrt', deviceId: device }, { name: 'cuda', deviceId: device }, 'cpu'] };
  }
}

export interface Placed<T> {
  session: T;
  provider: Placement;
  /** Providers tried before it, and why each could not be used. */
  fallbacks: Array<{ provider: Placement; reason: string }>;
}

/**
 * Creates a session by the plan: the first provider that loads wins. An explicit request (one
 * provider in the plan) that fails is an error naming it.
 */
export async function createPlaced<T>(
  plan: Placement[],
  device: number,
  create: (options: ort.InferenceSession.SessionOptions) => Promise<T>,
): Promise<Placed<T>> {
  const fallbacks: Placed<T>['fallbacks'] = [];
  for (const provider of plan) {
    try {
      return { session: await create(sessionOptions(provider, device)), provider, fallbacks };
    } catch (error) {
      const reason = (error as Error).message.split('\n')[0]!.slice(0, 300);
      if (plan.length === 1)
        throw new Error(
          `${provider === 'cuda' ? 'CUDA' : provider === 'tensorrt' ? 'TensorRT' : 'CPU'} execution provider unavailable: ${reason}`,
        );
      fallbacks.push({ provider, reason });
    }
  }
  throw new Error(`no execution provider could load the model: ${fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ')}`);
}

/** The `index`-th worker's GPU among `count` (one worker per GPU). */
export function deviceFor(index: number, count: number): number {
  return count > 0 ? index % count : 0;
}

/** How many NVIDIA GPUs this host has (0 without a driver). */
export function gpuCount(): number {
  try {
    return readdirSync('/proc/driver/nvidia/gpus').length;
  } catch {
    return 0;
  }
}
