/**
 * What the server needs from the outside world. The local profile (files, HTTP uploads,
 * an in-process queue) and the AWS profile (S3, STS, SQS, DynamoDB) implement these.
 * Adapters translate their own errors: an absent object is `undefined`, never an exception.
 */
import type { ChunkResult, ChunkTask } from '../../gpu-pool/types.ts';
import type { SessionChange } from '../../actors/changes.ts';
import type { SessionRecord, StereoMode, StereoSettings } from '../../actors/types.ts';
import type { UploadTarget } from '../../protocol/messages.ts';
import type { LiveConfigMessage, LiveControlMessage } from '../../protocol/live.ts';

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface ObjectStore {
  /** Writes the whole object atomically: readers see the old object or the new one, never a part. */
  put(key: string, body: Uint8Array, contentType: string): Promise<void>;
  /**
   * The same from a body that arrives in pieces (an upload), without holding it whole: the object
   * appears only when `body` ended; if the iteration throws, nothing is stored and the error is rethrown.
   * Resolves with the object's size.
   */
  putStream(key: string, body: AsyncIterable<Uint8Array>, contentType: string): Promise<number>;
  /** The object's bytes, or undefined when it does not exist. */
  get(key: string): Promise<Uint8Array | undefined>;
  head(key: string): Promise<ObjectInfo | undefined>;
  /** Every object whose key starts with `prefix`, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  close(): Promise<void>;
}

/** A new object was stored under an input key (the durable event path). */
export interface ObjectCreatedEvent {
  key: string;
  size: number;
}

/** Delivers object-created events to one handler, at least once, in arrival order per key. */
/**
 * What became of a chunk event: `done` here (acknowledged), or `elsewhere` — its session runs on
 * another node that this one cannot hand the event to directly, so the queue must give it back for
 * another node to receive, without counting that against the event (it has not failed).
 */
export type ChunkEventOutcome = 'done' | 'elsewhere';

export interface ChunkEventQueue {
  /**
   * Starts consuming. The handler's outcome acknowledges the event or gives it back (see
   * ChunkEventOutcome); rejecting leaves it for redelivery (the queue decides when, and when to give up).
   */
  start(handler: (event: ObjectCreatedEvent) => Promise<ChunkEventOutcome>): void;
  /** Stops consuming; in-flight handlers finish first. Safe twice. */
  close(): Promise<void>;
}

export interface SessionStore {
  /** Stores a new session; throws SessionExistsError when the id is taken. */
  create(record: SessionRecord): Promise<void>;
  /**
   * Replaces the stored record. With `fence` (the token of the writer's lease) the write happens only
   * while that lease is still the latest one: after another node took the session over, it throws
   * LeaseLostError and nothing is written (fencing; see SessionLeases).
   */
  save(record: SessionRecord, fence?: number): Promise<void>;
  get(sessionId: string): Promise<SessionRecord | undefined>;
  /** Every stored session, oldest first (the local store lists from memory; the AWS one scans, page by page). */
  list(): Promise<SessionRecord[]>;
  close(): Promise<void>;
}

export class SessionExistsError extends Error {
  override name = 'SessionExistsError';
}

/** One node's right to run a session's actor, until `expiresAt` unless renewed. */
export interface Lease {
  sessionId: string;
  owner: string;
  /** Fencing token: grows with every acquisition, so a record write can prove it is the newest owner's. */
  token: number;
  /** Wall-clock ms. */
  expiresAt: number;
}

/**
 * Who runs each session (exactly one node at a time when several share a store): a lease with a
 * fencing token, taken with a conditional write. A node that is not the owner never writes the
 * session's record — its fenced saves are refused.
 */
export interface SessionLeases {
  /** Other processes share these leases (a node must look for sessions whose owner died). */
  readonly shared: boolean;
  /** Takes the session's lease if it is free, expired or already ours; null when another node holds it. */
  acquire(sessionId: string, owner: string, ttlMs: number): Promise<Lease | null>;
  /** Extends our lease; null when it was lost (expired and taken, or released). */
  renew(lease: Lease, ttlMs: number): Promise<Lease | null>;
  /** Gives the lease up (shutdown) so another node need not wait for it to expire. */
  release(lease: Lease): Promise<void>;
  /** The node holding an unexpired lease on the session, or null. */
  holder(sessionId: string): Promise<string | null>;
}

export class LeaseLostError extends Error {
  override name = 'LeaseLostError';
}

/** Grants a capture client the right to upload chunks for one session only, for a limited time. */
export interface UploadGrants {
  issue(sessionId: string, baseUrl: string): Promise<UploadTarget>;
}

/**
 * Makes URLs of a session's output files (media segments `seg_NNNNN.m4s`, init segments
 * `init_{id}.mp4`) that a player can fetch without other credentials, expiring. `baseUrl` may be
 * empty: local URLs are then relative to the server (what the session socket sends).
 */
export interface SegmentUrls {
  url(sessionId: string, file: string, baseUrl: string): Promise<string>;
}

/** Everything a profile provides. */
export interface Adapters {
  objects: ObjectStore;
  queue: ChunkEventQueue;
  sessions: SessionStore;
  leases: SessionLeases;
  grants: UploadGrants;
  segmentUrls: SegmentUrls;
  /** Counts of the adapters' own housekeeping for /metrics (the local profile: sessions deleted after retention). */
  counters?: () => { sessionsRemoved?: number };
  /** Flushes and closes every adapter (the last step of shutdown). */
  close(): Promise<void>;
}

/** The part of the GPU pool the session service uses (tests substitute a delayed or failing one). */
export interface ChunkProcessor {
  run(task: ChunkTask, options?: { signal?: AbortSignal }): Promise<ChunkResult>;
}

/** The part of the GPU pool the app watches and closes (/metrics, /healthz, shutdown). */
export interface PoolHandle {
  stats(): Record<string, number>;
  /** Each worker thread's own heap, by thread id. */
  workerMemory(): Map<number, { heapUsedBytes: number; externalBytes: number }>;
  /** Lets running tasks finish (up to `timeoutMs`); `forced`: some did not, and their threads were stopped. */
  close(options: { timeoutMs: number }): Promise<{ forced: boolean }>;
}

// ─── The cluster ─────────────────────────────────────────────────────────────
// A node alone is a cluster of one (cluster/memory-transport.ts); several share Redis
// (cluster/redis-transport.ts). The session service sees only this port either way.

/** One session change as the owner saw it. Ordered per session by (token, seq). */
export interface SessionChangeMessage {
  /** The publishing node. */
  from: string;
  sessionId: string;
  /** The owner's lease token: a takeover's messages sort after the old owner's. */
  token: number;
  /** Per session and owner, +1 per message. */
  seq: number;
  changes: SessionChange[];
  record: SessionRecord;
}

/** What a node asks a session's owner to do (a command that reached the wrong node), or asks the least-loaded node to run (create). */
export type SessionCommand =
  | { type: 'create'; mode: StereoMode; settings: StereoSettings }
  | { type: 'chunk'; sessionId: string; index: number; bytes: number; source?: 'socket' | 'queue' }
  | { type: 'end'; sessionId: string; expectedChunks: number | null }
  | { type: 'settings'; sessionId: string; settings: { strength?: number; convergence?: number }; mode?: StereoMode }
  | { type: 'rotate'; sessionId: string };

/** The owner's answer: `ok` false when it does not run the session (any more). */
export interface CommandReply {
  ok: boolean;
  error?: string;
  /** `create`: the new session's id. */
  sessionId?: string;
  /** `rotate`: the session's new control generation. */
  generation?: number;
}

/** What a node announces about itself (presence): alive, and how loaded. */
export interface NodeLoad {
  nodeId: string;
  /** Pool worker threads: how many chunks it converts at once. */
  workers: number;
  /** Open sessions it runs. */
  sessions: number;
}

/** What a node sends the owner of a session's live path (cluster/live-relay.ts); `data`: live wire bytes. */
export type LiveInbound =
  | { kind: 'publish'; sessionId: string; from: string; config: LiveConfigMessage }
  | { kind: 'media'; sessionId: string; from: string; data: Uint8Array }
  | { kind: 'unpublish'; sessionId: string; from: string }
  /** Node `from` has `viewers` of the session (0: it stopped watching); renewed while it watches. */
  | { kind: 'watch'; sessionId: string; from: string; viewers: number; keyframe: boolean };

/** What the owner of a session's live path sends the nodes following it. */
export type LiveOutbound =
  | { kind: 'media'; sessionId: string; data: Uint8Array }
  | { kind: 'control'; sessionId: string; message: LiveControlMessage };

/** The live path across nodes: sockets that reached another node are relayed to the session's owner. */
export interface LiveRelay {
  readonly nodeId: string;
  /** Sends to node `owner`'s live paths; false when nobody heard it. */
  toOwner(owner: string, message: LiveInbound): Promise<boolean>;
  /** What other nodes send this node's live paths. */
  onInbound(handler: (message: LiveInbound) => void): void;
  /** Sends a session's live stream to the nodes following it; false when none does. */
  toFollowers(message: LiveOutbound): Promise<boolean>;
  /** Follows a session's live stream (from its owner) until the returned function is called. */
  follow(sessionId: string, handler: (message: LiveOutbound) => void): Promise<() => Promise<void>>;
}

/** The cross-node channel: change fan-out, commands node to node, presence, the live relay. */
export interface ClusterBus {
  publish(message: SessionChangeMessage): void;
  /** Messages from other nodes (our own are not delivered back); a handler that throws is logged, the others still run. */
  onMessage(handler: (message: SessionChangeMessage) => void): void;
  /** Sends a command to node `to`; rejects when no reply comes within `timeoutMs`, or when the bus closes first. */
  request(to: string, command: SessionCommand, timeoutMs: number): Promise<CommandReply>;
  /** Commands other nodes send to this one (a handler that throws answers `ok: false`). */
  onCommand(handler: (command: SessionCommand) => Promise<CommandReply>): void;
  /** Announces this node alive with its load, for `ttlMs` (renewed by announcing again). */
  announce(load: NodeLoad, ttlMs: number): Promise<void>;
  /** Every node whose announcement has not expired, this one included. */
  nodes(): Promise<NodeLoad[]>;
  /** Whether other nodes' changes and commands can arrive right now (false while Redis reconnects). */
  readonly connected: boolean;
  readonly live: LiveRelay;
  /** Withdraws this node's announcement, settles every pending request, then disconnects. */
  close(): Promise<void>;
}
