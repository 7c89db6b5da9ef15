/**
 * Builds a whole server from a config: adapters → pool → session service → app → listen.
 * `main.ts` calls this with the environment's config; tests call it with their own (port 0,
 * a temp DATA_DIR, sometimes a substitute pool).
 */
import { parseChunkKey } from '../protocol/keys.ts';
import { createAwsAdapters } from './adapters/aws/index.ts';
import { createLocalAdapters } from './adapters/local/index.ts';
import type { Adapters, PoolHandle } from './adapters/ports.ts';
import { StereoSpotApp, type ShutdownStep } from './app.ts';
import type { Config } from './config.ts';
import { createLogger, type Logger } from './log.ts';
import { Metrics } from './metrics.ts';
import { Telemetry } from './telemetry.ts';
import { TokenSigner } from './tokens.ts';
import { localBus, RedisBus } from './cluster/bus.ts';
import { BusSeal } from './cluster/seal.ts';
import { NotOwnerError, SessionService, type ChunkProcessor } from './sessions/index.ts';
import { LiveStreams } from './live/live-streams.ts';
import { loadUws } from './uws-native.ts';

export interface StartOptions {
  log?: Logger;
  /** A substitute for the GPU pool (tests); the real pool is built from the config otherwise. */
  pool?: ChunkProcessor & PoolHandle & { size: number };
  onShutdownStep?: (step: ShutdownStep) => void;
}

export interface RunningServer {
  port: number;
  /** `http://127.0.0.1:{port}` (or the configured host). */
  url: string;
  app: StereoSpotApp;
  sessions: SessionService;
  close(): Promise<void>;
}

export async function startServer(config: Config, options: StartOptions = {}): Promise<RunningServer> {
  const log = options.log ?? createLogger('server');
  const uws = loadUws();
  log.info('uWebSockets.js loaded', { build: uws.name, node: process.version });
  let adapters: Adapters;
  let signer: TokenSigner;
  if (config.profile === 'aws') {
    adapters = createAwsAdapters(config, log.child({ component: 'aws' }));
    signer = new TokenSigner(config.signingSecret!);
  } else {
    const local = await createLocalAdapters(config, log.child({ component: 'local' }));
    adapters = local;
    signer = local.signer;
  }
  // Several nodes share Redis; its messages are sealed with a key derived from the signing secret
  // (config.ts requires one with REDIS_URL). Without it this node is a cluster of one.
  const busLog = log.child({ component: 'bus' });
  const bus = config.redisUrl
    ? await RedisBus.connect(config.redisUrl, config.nodeId, busLog, new BusSeal(signer.derive('bus')))
    : await localBus(config.nodeId, busLog);
  if (config.redisUrl) log.info('cross-node bus connected', { node_id: config.nodeId });
  let pool = options.pool;
  if (!pool) {
    // Loaded on demand: onnxruntime and the worker threads are only needed for the real pool.
    const { GpuPool, defaultWorkerCount } = await import('../gpu-pool/index.ts');
    const workers = config.gpuPoolWorkers ?? defaultWorkerCount();
    const real = await GpuPool.create({
      workers,
      warmupFrames: config.depthWarmupFrames,
      depthFps: config.depthFps,
      stabiliseDepth: config.depthStabilise,
      occlusion: config.stereoOcclusion,
      ...(config.depthBatch ? { depthBatch: config.depthBatch } : {}),
      modelPath: config.depthModelPath,
      executionProvider: config.executionProvider,
      stereoStrength: config.stereoStrength,
      ...(config.depthInputHeight ? { modelInputHeight: config.depthInputHeight } : {}),
    });
    const { fallbacks, ...info } = real.info();
    for (const fallback of fallbacks)
      log.warn('execution provider unavailable, falling back', { provider: fallback.provider, reason: fallback.reason });
    log.info('gpu pool ready', { workers, ...info });
    pool = Object.assign(real, { size: workers });
  }
  const metrics = new Metrics();
  const telemetry = new Telemetry(metrics);
  const sessions = new SessionService({
    config,
    adapters,
    pool,
    poolSize: pool.size,
    bus,
    telemetry,
    log: log.child({ component: 'sessions' }),
  });
  // The live paths: converter threads of their own, beside the pool (loaded on demand, as the pool).
  let live: LiveStreams | undefined;
  if (config.liveMax > 0) {
    const { LivePool } = await import('../gpu-pool/live-pool.ts');
    const livePool = new LivePool({
      max: config.liveMax,
      modelPath: config.depthModelPath,
      executionProvider: config.executionProvider,
      modelInputHeight: config.depthInputHeight ?? (config.depthModelPath ? 252 : 126),
    });
    live = new LiveStreams({
      pool: livePool,
      sessions,
      relay: bus.live,
      outputHeight: config.outputHeight,
      occlusion: config.stereoOcclusion,
      log: log.child({ component: 'live' }),
    });
  }
  const app = new StereoSpotApp({
    ...(live ? { live } : {}),
    uws: uws.uws,
    config,
    adapters,
    sessions,
    pool,
    signer,
    metrics,
    telemetry,
    log,
    ...(options.onShutdownStep ? { onShutdownStep: options.onShutdownStep } : {}),
    degraded: () => (bus.connected ? [] : ['bus']),
  });
  // The durable path: every stored chunk object reaches its session through the queue. The event is
  // acknowledged only once the chunk has settled (segment stored), so a crash loses nothing; a chunk
  // that failed for good is not acknowledged, and the queue's redrive policy takes it from there. An
  // event for a session another node runs, which this node cannot forward (no bus, or the owner did
  // not answer), goes back to the queue for another node — the owner — to receive: a give-back is not
  // a failure, so it never moves the event towards the DLQ while its owner is alive.
  adapters.queue.start(async (event) => {
    const parsed = parseChunkKey(event.key);
    if (!parsed) return 'done'; // not a chunk: acknowledged and ignored
    try {
      if (!(await sessions.chunkArrived(parsed.sessionId, parsed.index, event.size, 'queue'))) return 'done';
    } catch (error) {
      if (error instanceof NotOwnerError) return 'elsewhere';
      throw error;
    }
    const outcome = await sessions.settled(parsed.sessionId, parsed.index);
    if (outcome === 'failed') throw new Error(`chunk ${parsed.index} of session ${parsed.sessionId} failed`);
    if (outcome === 'aborted') throw new Error('shutting down before the chunk settled');
    return 'done';
  });
  if (!config.streamingEnabled) {
    log.warn('STREAMING_ENABLED is false: chunk events are acknowledged and dropped (set STREAMING_ENABLED=true to convert)');
  }
  const resumed = await sessions.resumeAll();
  if (resumed > 0) log.info('sessions resumed', { count: resumed });
  let port: number;
  try {
    port = await app.listen();
  } catch (error) {
    await app.close();
    throw error;
  }
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  log.info('listening', { url: `http://${host}:${port}`, profile: config.profile, data_dir: config.dataDir });
  if (config.adminToken === null) {
    // config.ts allows this on loopback only; say what it means and how to open up.
    log.warn(
      'no ADMIN_TOKEN: anyone on this machine may list and end sessions (the original open contract); set ADMIN_TOKEN to serve a network (HOST=0.0.0.0)',
    );
  }
  return { port, url: `http://${host}:${port}`, app, sessions, close: () => app.close() };
}
