/**
 * Plain-data types of a session actor's context. Everything here survives JSON
 * (it is what the session store persists) and structured clone.
 * This folder imports nothing else of ours but protocol/ (the wire's types and bounds, the one leaf
 * every part shares): side effects are provided by the server.
 */

import type { StereoMode } from '../protocol/keys.ts';
import type { ChunkStatus, EndReason } from '../protocol/messages.ts';

/** (ChunkStatus: uploaded → queued → processing → ready | failed; processing may go back to queued for a retry.) */
export type { ChunkStatus, EndReason, StereoMode };

export interface StageTimings {
  decode: number;
  depth: number;
  stereo: number;
  encode: number;
  total: number;
}

export interface ChunkRecord {
  index: number;
  status: ChunkStatus;
  /** Processing attempts started so far. */
  attempts: number;
  /** True while a failed chunk waits for its retry delay. */
  retryPending?: boolean;
  /** Last error, for failed chunks and failed attempts. */
  error?: string;
  /** Size of the uploaded chunk, when known. */
  bytes?: number;
  /** When the chunk became known (ms since epoch). */
  uploadedAt: number;
  /** Ready only: the segment's measured duration (s), its media start time (s), its size. */
  duration?: number;
  start?: number;
  segmentBytes?: number;
  readyAt?: number;
  timings?: StageTimings;
  /** Ready only: the id of the init segment it needs, and its RFC 6381 codecs. */
  init?: string;
  codecs?: string;
  /** Ready only: wall-clock ms of media time 0 as the capture client wrote it into the chunk. */
  origin?: number;
}

/** Tunables of one session, copied into its context so persisted sessions restore alike. */
export interface SessionConfig {
  /** Processing attempts per chunk before it fails for good. */
  maxAttempts: number;
  /** Chunks of one session in the pool at once. */
  maxInFlight: number;
  /** First retry delay; doubles with every further attempt. */
  retryDelayMs: number;
  /** A live session with no new chunk for this long ends itself. */
  idleMs: number;
  /** After end, how long to wait for announced chunks to settle before closing the playlist. */
  settleTimeoutMs: number;
  /** Advertised chunk length (s): the duration assumed for gaps and the playlist's minimum target. */
  chunkSeconds: number;
}

/** How strong the 3D is and where the screen plane sits; changeable while the session is live. */
export interface StereoSettings {
  /** Largest disparity as a fraction of each eye's width (0…0.1). */
  strength: number;
  /** The normalised depth (0 far … 1 near) that sits on the screen plane (0…1). */
  convergence: number;
}

/** The plain data of a session: what its actor holds and what a store persists. */
export interface SessionData {
  sessionId: string;
  mode: StereoMode;
  /** Applies to chunks dispatched from the moment it is set (a retry uses the setting of its attempt). */
  settings: StereoSettings;
  createdAt: number;
  endedAt: number | null;
  endReason: EndReason | null;
  /** Number of chunks the client said it produced (from the end request), if it said. */
  expectedChunks: number | null;
  /** Keyed by chunk index (string keys, as JSON has them). */
  chunks: Record<string, ChunkRecord>;
  lastChunkAt: number;
  /**
   * Control tokens of a lower generation are refused: rotating the control token (a link with it was
   * shared too widely) bumps it. Absent in records from before rotation existed: 0.
   */
  controlGeneration?: number;
  /**
   * The frame-by-frame live path (server/live/), as the node running the session reports it: whether a
   * capture client publishes and how many viewers watch. It lives and dies with that node, so a record
   * restored elsewhere starts without it. Absent: no live path.
   */
  live?: LiveState;
}

/** The live path of a session at a glance. */
export interface LiveState {
  publishing: boolean;
  viewers: number;
}

/** The actor's context: the session's data plus its tunables. */
export interface SessionContext extends SessionData {
  config: SessionConfig;
}

/** What a session store keeps of a session: enough to rebuild its actor after a restart. */
export interface SessionRecord extends SessionData {
  /** Bumped when the shape changes; older records are migrated or refused. (2: CMAF segments.) */
  version: 2;
  /** True once the session reached its final state (playlist closed). */
  closed: boolean;
}

/** A new session's data: nothing uploaded, nothing ended. */
export function newSessionData(sessionId: string, mode: StereoMode, createdAt: number, settings: StereoSettings): SessionData {
  return {
    sessionId,
    mode,
    settings,
    createdAt,
    endedAt: null,
    endReason: null,
    expectedChunks: null,
    chunks: {},
    lastChunkAt: createdAt,
    controlGeneration: 0,
  };
}

export const SESSION_RECORD_VERSION = 2 as const;
