/**
 * The only place that reads the environment (its typed readers: env-values.ts). Produces a frozen, typed config with every
 * default in one table; invalid values stop the server with one message naming each key.
 */
import os from 'node:os';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { cachedModelPath, MODEL_NAME, modelsDir } from '../gpu-pool/model-cache.ts';
import { type Env, EnvValues } from './env-values.ts';

export type Profile = 'local' | 'aws';
export type ExecutionProvider = 'auto' | 'cpu' | 'cuda' | 'tensorrt';

export interface Config {
  readonly profile: Profile;
  readonly port: number;
  readonly host: string;
  /** Base of playlist/events/upload URLs; derived from each request's Host header when unset. */
  readonly publicBaseUrl: string | null;
  readonly dataDir: string;
  readonly streamingEnabled: boolean;
  readonly chunkSeconds: number;
  readonly outputHeight: number;
  readonly gpuPoolWorkers: number | null;
  /** Live paths (frame by frame, one converter thread each) at once; 0: no live path. */
  readonly liveMax: number;
  readonly depthModelPath: string | null;
  readonly executionProvider: ExecutionProvider;
  /** Model input height for dynamic-size depth models (multiple of 14); null = the model's default. */
  readonly depthInputHeight: number | null;
  /** Largest disparity as a fraction of each eye's width. */
  readonly stereoStrength: number;
  /** New sessions' screen-plane depth (0 far … 1 near). */
  readonly stereoConvergence: number;
  /** Frames at the end of the previous chunk that warm up each chunk's depth range (0 = off). */
  readonly depthWarmupFrames: number;
  readonly sessionIdleSeconds: number;
  /** Redis for the cross-node bus (several nodes); null: this node runs alone. */
  readonly redisUrl: string | null;
  /** This node's name in session leases (default: host name and process id). */
  readonly nodeId: string;
  /** A session's owner renews its lease every third of this; another node takes over after it. */
  readonly sessionLeaseSeconds: number;
  /** After end, how long announced chunks may take to settle before the playlist closes with gaps. */
  readonly endSettleSeconds: number;
  readonly chunkMaxAttempts: number;
  readonly chunkRetryDelayMs: number;
  /** Chunks of one session processed at once (defaults to the pool's worker count). */
  readonly sessionMaxInFlight: number | null;
  readonly maxChunkBytes: number;
  /** Caps on what clients hold at once (admission.ts). */
  readonly limits: {
    readonly sessionsPerClient: number;
    readonly sessionsTotal: number;
    readonly uploadsPerSession: number;
    readonly uploadsTotal: number;
  };
  /**
   * Depth estimates per second of video (0: every frame; 'auto': as often as keeps realtime); frames
   * between take interpolated depth.
   */
  readonly depthFps: number | 'auto';
  /** Motion-compensated temporal filtering of depth, against flicker. */
  readonly depthStabilise: boolean;
  /** Occlusion-aware warping: a near object's edges move with it, not smeared by the background (gpu-pool/stereo.ts). */
  readonly stereoOcclusion: boolean;
  /** Estimates per network run; null: the pool's default (1 on the CPU, 4 on a GPU). */
  readonly depthBatch: number | null;
  /** Local profile: an ended session's files are deleted this long after it ended. */
  readonly dataRetainSeconds: number;
  /** Behind a load balancer: the client address is the last X-Forwarded-For entry. */
  readonly trustProxy: boolean;
  readonly uploadTokenSeconds: number;
  readonly segmentUrlSeconds: number;
  readonly signingSecret: string | null;
  /** When set, listing sessions and the dashboard socket require it (Authorization: Bearer …, or the socket subprotocol). */
  readonly adminToken: string | null;
  readonly wsMaxBackpressureBytes: number;
  /** Ended sessions stay in memory this long; afterwards they are reloaded from the store on demand. */
  readonly sessionRetainSeconds: number;
  /** Longest a blocking playlist request (`_HLS_msn`) waits. */
  readonly playlistBlockSeconds: number;
  readonly shutdownTimeoutMs: number;
  readonly aws: {
    readonly region: string | null;
    readonly inputBucket: string | null;
    readonly outputBucket: string | null;
    readonly sessionsTable: string | null;
    readonly queueUrl: string | null;
    readonly uploadRoleArn: string | null;
    /** Endpoint overrides (emulators, S3-compatible stores); null = the AWS default. */
    readonly endpoints: {
      readonly s3: string | null;
      readonly sqs: string | null;
      readonly dynamodb: string | null;
      readonly sts: string | null;
    };
    readonly s3ForcePathStyle: boolean;
    /** SQS long-poll wait and the visibility timeout given to each received message (seconds). */
    readonly sqsWaitSeconds: number;
    readonly sqsVisibilitySeconds: number;
    /** Messages per SQS receive (1–10). */
    readonly sqsBatchSize: number;
    /** DynamoDB `ttl`: how long a session record is kept after it was last written (days). */
    readonly sessionTtlDays: number;
  };
}

export class ConfigError extends Error {
  override name = 'ConfigError';
  readonly problems: string[];

  constructor(problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.problems = problems;
  }
}

/** Reads `env` (process.env by default) into a frozen Config, or throws ConfigError listing every problem. */
export function loadConfig(env: Env = process.env): Config {
  const { problems, str, int, num, bool, oneOf } = new EnvValues(env);
  const depthRate = (): number | 'auto' => {
    const raw = str('DEPTH_FPS');
    if (raw?.toLowerCase() === 'auto') return 'auto';
    const n = raw === null ? 0 : Number(raw);
    if (Number.isFinite(n) && n >= 0 && n <= 240) return n;
    problems.push(`DEPTH_FPS must be "auto" or a number from 0 to 240 (got "${raw}")`);
    return 0;
  };

  const profile = oneOf<Profile>('PROFILE', ['local', 'aws'], 'local');
  const publicBaseUrl = str('PUBLIC_BASE_URL');
  if (publicBaseUrl !== null && !/^https?:\/\/[^/]+/.test(publicBaseUrl)) {
    problems.push(`PUBLIC_BASE_URL must be an http(s) URL (got "${publicBaseUrl}")`);
  }
  const workers = str('GPU_POOL_WORKERS') === null ? null : int('GPU_POOL_WORKERS', 1, 1, 64);
  const maxInFlight = str('SESSION_MAX_IN_FLIGHT') === null ? null : int('SESSION_MAX_IN_FLIGHT', 1, 1, 64);

  const config: Config = {
    profile,
    port: int('PORT', 8000, 0, 65535),
    host: str('HOST') ?? '127.0.0.1',
    publicBaseUrl: publicBaseUrl?.replace(/\/+$/, '') ?? null,
    dataDir: path.resolve(str('DATA_DIR') ?? './data'),
    streamingEnabled: bool('STREAMING_ENABLED', profile === 'local'),
    chunkSeconds: num('CHUNK_SECONDS', 2, 0.5, 30),
    outputHeight: int('OUTPUT_HEIGHT', 360, 64, 2160),
    gpuPoolWorkers: workers,
    liveMax: int('LIVE_MAX', 1, 0, 16),
    depthModelPath: depthModel(str('DEPTH_MODEL_PATH'), str('DEPTH_MODEL'), env, problems),
    executionProvider: oneOf<ExecutionProvider>('EXECUTION_PROVIDER', ['auto', 'cpu', 'cuda', 'tensorrt'], 'auto'),
    depthInputHeight: str('DEPTH_INPUT_HEIGHT') === null ? null : int('DEPTH_INPUT_HEIGHT', 126, 14, 1022),
    stereoStrength: num('STEREO_STRENGTH', 0.03, 0, 0.1),
    stereoConvergence: num('STEREO_CONVERGENCE', 0, 0, 1),
    depthWarmupFrames: int('DEPTH_WARMUP_FRAMES', 15, 0, 120),
    sessionIdleSeconds: num('SESSION_IDLE_SECONDS', 120, 1, 86_400),
    redisUrl: str('REDIS_URL'),
    // A host name may hold characters a node id may not (the bus checks ids): those become '-'.
    nodeId:
      str('NODE_ID') ??
      `${os
        .hostname()
        .replace(/[^A-Za-z0-9_.-]/g, '-')
        .slice(0, 80)}-${process.pid}`,
    sessionLeaseSeconds: num('SESSION_LEASE_SECONDS', 10, 1, 300),
    endSettleSeconds: num('END_SETTLE_SECONDS', 60, 1, 3600),
    chunkMaxAttempts: int('CHUNK_MAX_ATTEMPTS', 3, 1, 10),
    chunkRetryDelayMs: int('CHUNK_RETRY_DELAY_MS', 250, 1, 60_000),
    sessionMaxInFlight: maxInFlight,
    maxChunkBytes: int('MAX_CHUNK_BYTES', 64 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    limits: {
      sessionsPerClient: int('MAX_SESSIONS_PER_CLIENT', 16, 1, 1_000_000),
      sessionsTotal: int('MAX_LIVE_SESSIONS', 1000, 1, 10_000_000),
      uploadsPerSession: int('MAX_UPLOADS_PER_SESSION', 4, 1, 64),
      uploadsTotal: int('MAX_UPLOADS', 64, 1, 100_000),
    },
    trustProxy: bool('TRUST_PROXY', false),
    depthFps: depthRate(),
    depthStabilise: bool('DEPTH_STABILISE', true),
    stereoOcclusion: bool('STEREO_OCCLUSION', true),
    depthBatch: str('DEPTH_BATCH') === null ? null : int('DEPTH_BATCH', 1, 1, 32),
    dataRetainSeconds: int('DATA_RETAIN_SECONDS', 7 * 24 * 3600, 1, 10 * 365 * 24 * 3600),
    uploadTokenSeconds: int('UPLOAD_TOKEN_SECONDS', 3600, 1, 12 * 3600),
    segmentUrlSeconds: int('SEGMENT_URL_SECONDS', 3600, 10, 7 * 24 * 3600),
    signingSecret: str('SIGNING_SECRET'),
    adminToken: str('ADMIN_TOKEN'),
    wsMaxBackpressureBytes: int('WS_MAX_BACKPRESSURE_BYTES', 1024 * 1024, 1024),
    sessionRetainSeconds: int('SESSION_RETAIN_SECONDS', 600, 1),
    playlistBlockSeconds: num('PLAYLIST_BLOCK_SECONDS', 10, 0, 60),
    shutdownTimeoutMs: int('SHUTDOWN_TIMEOUT_MS', 10_000, 100, 600_000),
    aws: {
      region: str('AWS_REGION') ?? str('REGION'),
      inputBucket: str('INPUT_BUCKET_NAME'),
      outputBucket: str('OUTPUT_BUCKET_NAME'),
      sessionsTable: str('STREAM_SESSIONS_TABLE_NAME'),
      queueUrl: str('VIDEO_WORKER_QUEUE_URL'),
      uploadRoleArn: str('STREAM_UPLOAD_ROLE_ARN'),
      endpoints: {
        s3: str('AWS_ENDPOINT_URL_S3') ?? str('AWS_ENDPOINT_URL'),
        sqs: str('AWS_ENDPOINT_URL_SQS') ?? str('AWS_ENDPOINT_URL'),
        dynamodb: str('AWS_ENDPOINT_URL_DYNAMODB') ?? str('AWS_ENDPOINT_URL'),
        sts: str('AWS_ENDPOINT_URL_STS') ?? str('AWS_ENDPOINT_URL'),
      },
      s3ForcePathStyle: bool('S3_FORCE_PATH_STYLE', false),
      sqsWaitSeconds: int('SQS_WAIT_SECONDS', 20, 0, 20),
      sqsVisibilitySeconds: int('SQS_VISIBILITY_SECONDS', 300, 1, 43_200),
      sqsBatchSize: int('SQS_BATCH_SIZE', 10, 1, 10),
      sessionTtlDays: int('SESSION_TTL_DAYS', 7, 1, 3650),
    },
  };
  // Safe by default: without ADMIN_TOKEN the server is open to whoever reaches it (the original
  // contract: anyone may end a session), so it serves loopback only.
  if (config.adminToken === null && !isLoopback(config.host)) {
    problems.push(
      `HOST=${config.host} would serve every session to anyone who reaches this machine: set ADMIN_TOKEN (16+ characters) to open it beyond loopback, or leave HOST unset (127.0.0.1)`,
    );
  }
  if (config.adminToken !== null && config.adminToken.length < 16) problems.push('ADMIN_TOKEN must be at least 16 characters');
  if (!/^[A-Za-z0-9_.-]{1,100}$/.test(config.nodeId)) problems.push('NODE_ID must be 1–100 letters, digits, dots, dashes or underscores');
  // The bus is sealed with a key derived from the signing secret, which every node must share.
  if (config.redisUrl !== null && config.signingSecret === null)
    problems.push('REDIS_URL needs SIGNING_SECRET (the same on every node: bus messages are sealed with it)');
  if (config.signingSecret !== null && Buffer.byteLength(config.signingSecret) < 16)
    problems.push('SIGNING_SECRET must be at least 16 bytes');
  if (profile === 'aws') {
    // One message naming every missing key (the original system's names).
    const required: Array<[string, string | null]> = [
      ['AWS_REGION', config.aws.region],
      ['INPUT_BUCKET_NAME', config.aws.inputBucket],
      ['OUTPUT_BUCKET_NAME', config.aws.outputBucket],
      ['STREAM_SESSIONS_TABLE_NAME', config.aws.sessionsTable],
      ['VIDEO_WORKER_QUEUE_URL', config.aws.queueUrl],
      // Every node must verify the tokens any node issued.
      ['SIGNING_SECRET', config.signingSecret],
    ];
    const missing = required.filter(([, v]) => v === null).map(([k]) => k);
    if (missing.length > 0) problems.push(`PROFILE=aws needs ${missing.join(', ')}`);
  }
  oneOf('LOG_LEVEL', ['debug', 'info', 'warn', 'error', 'silent'] as const, 'info');
  oneOf('LOG_FORMAT', ['text', 'json'] as const, 'text');
  // uWebSockets.js reads this itself and would run its JavaScript fallback, which cannot serve this server.
  const fallback = str('UWS_USE_FALLBACK');
  if (fallback !== null && fallback !== '0' && fallback.toLowerCase() !== 'false') {
    problems.push("UWS_USE_FALLBACK is set: uWebSockets.js's JavaScript fallback does not serve this server; unset it");
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({ ...config, aws: Object.freeze(config.aws) });
}

/**
 * The config from the process environment (over `defaults`: what an entry point prefers when the
 * environment says nothing), or null after reporting every problem through `report` (entry points
 * then exit with EX_CONFIG, 78).
 */
export function configFromEnvironment(report: (message: string) => void, defaults: Env = {}): Config | null {
  try {
    return loadConfig({ ...defaults, ...process.env });
  } catch (error) {
    if (error instanceof ConfigError) {
      report(error.message);
      return null;
    }
    throw error;
  }
}

/**
 * How the logs are written (LOG_LEVEL, LOG_FORMAT), read before the rest of the config so that its
 * own problems are logged as asked; a bad value falls back to the default (and is named by loadConfig).
 */
export function loggingFromEnvironment(env: Env = process.env): { level: 'debug' | 'info' | 'warn' | 'error' | 'silent'; json: boolean } {
  const level = env.LOG_LEVEL?.trim().toLowerCase();
  return {
    level: level === 'debug' || level === 'warn' || level === 'error' || level === 'silent' ? level : 'info',
    json: env.LOG_FORMAT?.trim().toLowerCase() === 'json',
  };
}

/**
 * The depth network to load: DEPTH_MODEL_PATH, or DEPTH_MODEL — a name in the model cache (MODELS_DIR),
 * which must be there already: nothing is downloaded at run time (`npm run models -- fetch <name>`).
 */
function depthModel(file: string | null, name: string | null, env: Env, problems: string[]): string | null {
  if (file !== null && name !== null) problems.push('set DEPTH_MODEL_PATH or DEPTH_MODEL, not both');
  if (file !== null) return path.resolve(file);
  if (name === null) return null;
  if (!MODEL_NAME.test(name)) {
    problems.push(`DEPTH_MODEL must be a cached model's name (${MODEL_NAME}); got ${JSON.stringify(name.slice(0, 80))}`);
    return null;
  }
  const cached = cachedModelPath(modelsDir(env), name);
  if (!existsSync(cached))
    problems.push(`DEPTH_MODEL=${name}: not in the model cache (${cached}); fetch it first: npm run models -- fetch ${name}`);
  return cached;
}

/** Whether `host` (a bind address) accepts connections from this machine only. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}
