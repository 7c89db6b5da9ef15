/**
 * Runtime checks of a session's plain data when it comes from outside this process: another node's
 * bus message (its record and its changes). TypeScript's types say what a record is; these say
 * whether a value received is one, so that nothing another process sends can put a line into a
 * playlist (init ids and codecs are strict patterns), grow without bound (chunk counts and string
 * lengths are capped) or carry settings out of their ranges.
 *
 * Each function returns the first problem found, naming the field, or null when the value is valid.
 */
import type { SessionChange, SessionPhase } from './changes.ts';
import { MAX_ERROR_CHARS, seenLength, UNSEEN_MARGIN } from './chunks.ts';
import { ID_PATTERN, INIT_ID_PATTERN, MAX_CHUNK_INDEX, STEREO_MODES } from '../protocol/keys.ts';
import type { ChunkRecord, ChunkStatus, EndReason, SessionRecord, StereoMode } from './types.ts';

/** The wire's own bounds (protocol/keys.ts). */
const ID = ID_PATTERN;
const INIT_ID = INIT_ID_PATTERN;
/** RFC 6381 codec strings as the writer makes them (`avc1.42C01E,mp4a.40.2`). */
const CODECS = /^[A-Za-z0-9.]{1,40}(,[A-Za-z0-9.]{1,40}){0,3}$/;
const MAX_ATTEMPTS = 1000;
const MAX_CHANGES = 4 * (MAX_CHUNK_INDEX + 1);

const MODES: ReadonlySet<StereoMode> = new Set(STEREO_MODES);
const STATUSES: ReadonlySet<ChunkStatus> = new Set(['uploaded', 'queued', 'processing', 'ready', 'failed']);
const REASONS: ReadonlySet<EndReason> = new Set(['requested', 'idle']);
const PHASES: ReadonlySet<SessionPhase> = new Set(['live', 'ending', 'ended']);

type Problem = string | null;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v) && v >= 0;
const isCount = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
const optional = (v: unknown, check: (v: unknown) => boolean) => v === undefined || check(v);

/** Stereo settings in their ranges (strength 0…0.1, convergence 0…1). */
export function settingsProblem(value: unknown, field = 'settings', partial = false): Problem {
  if (!isObject(value)) return `${field} must be an object`;
  const inRange = (v: unknown, max: number) => typeof v === 'number' && Number.isFinite(v) && v >= 0 && v <= max;
  if (!(partial && value.strength === undefined) && !inRange(value.strength, 0.1))
    return `${field}.strength must be a number from 0 to 0.1`;
  if (!(partial && value.convergence === undefined) && !inRange(value.convergence, 1))
    return `${field}.convergence must be a number from 0 to 1`;
  return null;
}

/** A live path's state (viewers bounded: a node holds far fewer sockets). */
export function liveProblem(value: unknown, field = 'live'): Problem {
  if (!isObject(value)) return `${field} must be an object`;
  if (typeof value.publishing !== 'boolean') return `${field}.publishing must be a boolean`;
  if (!isCount(value.viewers, 1_000_000)) return `${field}.viewers must be a count`;
  return null;
}

/** One chunk's record. */
export function chunkProblem(value: unknown, field = 'chunk'): Problem {
  if (!isObject(value)) return `${field} must be an object`;
  const c = value as Partial<Record<keyof ChunkRecord, unknown>>;
  if (!isCount(c.index, MAX_CHUNK_INDEX)) return `${field}.index must be an integer from 0 to ${MAX_CHUNK_INDEX}`;
  if (typeof c.status !== 'string' || !STATUSES.has(c.status as ChunkStatus)) return `${field}.status is not a chunk status`;
  if (!isCount(c.attempts, MAX_ATTEMPTS)) return `${field}.attempts must be an integer from 0 to ${MAX_ATTEMPTS}`;
  if (!optional(c.retryPending, (v) => typeof v === 'boolean')) return `${field}.retryPending must be a boolean`;
  if (!optional(c.error, (v) => typeof v === 'string' && v.length <= MAX_ERROR_CHARS))
    return `${field}.error must be a string of at most ${MAX_ERROR_CHARS} characters`;
  if (!isTime(c.uploadedAt)) return `${field}.uploadedAt must be a time`;
  for (const key of ['bytes', 'segmentBytes'] as const) {
    if (!optional(c[key], (v) => isCount(v, Number.MAX_SAFE_INTEGER))) return `${field}.${key} must be a non-negative integer`;
  }
  for (const key of ['duration', 'start', 'readyAt', 'origin'] as const) {
    if (!optional(c[key], isTime)) return `${field}.${key} must be a non-negative number`;
  }
  if (!optional(c.timings, (v) => isObject(v) && Object.keys(v).length <= 8 && Object.values(v).every(isTime)))
    return `${field}.timings must hold stage times`;
  if (!optional(c.init, (v) => typeof v === 'string' && INIT_ID.test(v))) return `${field}.init must be 16 hexadecimal digits`;
  if (!optional(c.codecs, (v) => typeof v === 'string' && CODECS.test(v))) return `${field}.codecs is not an RFC 6381 codecs list`;
  return null;
}

/** A whole session record (what a store keeps and a bus message carries). */
export function recordProblem(value: unknown): Problem {
  if (!isObject(value)) return 'record must be an object';
  const r = value as Partial<Record<keyof SessionRecord, unknown>>;
  if (r.version !== 2) return 'record.version must be 2';
  if (typeof r.sessionId !== 'string' || !ID.test(r.sessionId)) return 'record.sessionId must match ^[A-Za-z0-9_-]{1,64}$';
  if (typeof r.mode !== 'string' || !MODES.has(r.mode as StereoMode)) return `record.mode must be one of ${STEREO_MODES.join(', ')}`;
  const settings = settingsProblem(r.settings, 'record.settings');
  if (settings) return settings;
  if (!isTime(r.createdAt) || !isTime(r.lastChunkAt)) return 'record.createdAt and lastChunkAt must be times';
  if (r.endedAt !== null && !isTime(r.endedAt)) return 'record.endedAt must be null or a time';
  if (r.endReason !== null && !REASONS.has(r.endReason as EndReason)) return 'record.endReason must be null, requested or idle';
  if (typeof r.closed !== 'boolean') return 'record.closed must be a boolean';
  if (!isObject(r.chunks)) return 'record.chunks must be an object';
  const keys = Object.keys(r.chunks);
  if (keys.length > MAX_CHUNK_INDEX + 1) return 'record.chunks has more entries than there are chunk indices';
  for (const key of keys) {
    const chunk = r.chunks[key];
    const problem = chunkProblem(chunk, `record.chunks[${key.slice(0, 8)}]`);
    if (problem) return problem;
    if (String((chunk as ChunkRecord).index) !== key) return `record.chunks[${key.slice(0, 8)}] is filed under another index`;
  }
  if (!optional(r.controlGeneration, (v) => isCount(v, 1_000_000))) return 'record.controlGeneration must be a count';
  if (r.live !== undefined) {
    const live = liveProblem(r.live, 'record.live');
    if (live) return live;
  }
  const seen = seenLength(r.chunks as Record<string, ChunkRecord>);
  if (r.expectedChunks !== null && !isCount(r.expectedChunks, seen + UNSEEN_MARGIN)) {
    return `record.expectedChunks must be null or an integer of at most the chunks seen plus ${UNSEEN_MARGIN}`;
  }
  return null;
}

/** One change as a session's owner announces it. */
export function changeProblem(value: unknown, field = 'change'): Problem {
  if (!isObject(value)) return `${field} must be an object`;
  switch (value.kind as SessionChange['kind']) {
    case 'chunk':
    case 'segment':
      return chunkProblem(value.chunk, `${field}.chunk`);
    case 'playlist':
      if (!isCount(value.from, MAX_CHUNK_INDEX + 1) || !isCount(value.listed, MAX_CHUNK_INDEX + 1) || typeof value.closed !== 'boolean') {
        return `${field}: a playlist change needs from, listed (0…${MAX_CHUNK_INDEX + 1}) and closed`;
      }
      return null;
    case 'phase':
      return PHASES.has(value.phase as SessionPhase) ? null : `${field}.phase is not a session phase`;
    case 'settings':
      if (value.mode !== undefined && !MODES.has(value.mode as StereoMode)) return `${field}.mode is not a stereo mode`;
      return settingsProblem(value.settings, `${field}.settings`);
    case 'control':
      return isCount(value.generation, 1_000_000) ? null : `${field}.generation must be a count`;
    case 'live':
      return liveProblem(value.live, `${field}.live`);
    case 'ended':
      if (!REASONS.has(value.reason as EndReason)) return `${field}.reason must be requested or idle`;
      return isCount(value.ready, MAX_CHUNK_INDEX + 1) && isCount(value.failed, MAX_CHUNK_INDEX + 1)
        ? null
        : `${field}: ready and failed must be counts`;
    default:
      return `${field}.kind is not a change kind`;
  }
}

/** A list of changes (bounded: a whole session's worth at most). */
export function changesProblem(value: unknown): Problem {
  if (!Array.isArray(value)) return 'changes must be an array';
  if (value.length > MAX_CHANGES) return `changes holds more than ${MAX_CHANGES} entries`;
  for (let i = 0; i < value.length; i++) {
    const problem = changeProblem(value[i], `changes[${i}]`);
    if (problem) return problem;
  }
  return null;
}
