export * from './types.ts';
export { GpuPool, defaultWorkerCount, type GpuPoolOptions } from './pool.ts';
export type { WorkerMemory } from './worker-memory.ts';
export { buildBuiltinDepthModel } from './model-builtin.ts';
export { loadDepthModel, checkContract, type DepthModel, type ExecutionProvider } from './model.ts';
export { FAMILIES, ModelSpecError, parseSidecar, resolveSpec, sidecarPaths, type ModelSpec, type OutputKind } from './model-spec.ts';
export { blockDisparities, meanDisparity, spearman } from './stereo-readback.ts';
