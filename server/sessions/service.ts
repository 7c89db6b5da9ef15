/**
 * The session service: creates, finds, resumes and ends sessions, and provides the session
 * actor's side effects (reading chunks, running the pool, writing segments, persisting records).
 * Routes and sockets talk to this; it talks to the actors, the pool and the adapters.
 */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  SessionRegistry,
  newSessionData,
  SESSION_RECORD_VERSION,
  sessionMachine,
  toRecord,
  type SessionChange,
  type SessionConfig,
  type SessionRecord,
  type SessionView,
  type StereoSettings,
} from '../../actors/index.ts';
import { INPUT_PREFIX, isValidChunkIndex, parseChunkKey, type StereoMode } from '../../protocol/keys.ts';
import type { PlaylistEntry } from '../../protocol/messages.ts';
import type { Adapters, ChunkProcessor } from '../adapters/ports.ts';
import type { Config } from '../config.ts';
import { errorMessage, type Logger } from '../log.ts';
import { InitSegments } from '../init-segments.ts';
import { chunkJob } from './chunk-job.ts';
import { SessionEvents, type SessionListener } from './events.ts';
import { NewestPage, type ListCursor } from './list-page.ts';
import { PlaylistCache } from './playlist-cache.ts';
import type { ClusterBus, CommandReply, NodeLoad, SessionChangeMessage, SessionCommand } from '../cluster/bus.ts';
import { Presence } from '../cluster/presence.ts';
import { Ownership } from '../ownership.ts';
import type { ChunkTelemetry } from '../telemetry.ts';
import { SessionPersister } from '../persister.ts';

/** How long a forwarded command waits for the owner's answer. */
const COMMAND_TIMEOUT_MS = 3000;

/** How long a non-owner trusts a session's view read from the store before reading it again. */
const STORED_VIEW_MS = 1000;

/**
 * Another node holds the session's lease and runs its actor: this node may show its stored state but
 * cannot act on it. Queue events are left for redelivery; requests are answered 503 (retry).
 */
export class NotOwnerError extends Error {
  override name = 'NotOwnerError';
}

export interface SessionServiceOptions {
  config: Config;
  adapters: Adapters;
  pool: ChunkProcessor;
  /** Worker threads in the pool: the default in-flight limit per session. */
  poolSize: number;
  log: Logger;
  /** The cross-node channel (several nodes); the service closes it. None: this node runs alone. */
  bus?: ClusterBus | null;
  /** Where conversions are measured (`/metrics`). */
  telemetry?: ChunkTelemetry;
}

export class SessionService {
  readonly #config: Config;
  readonly #adapters: Adapters;
  readonly #log: Logger;
  readonly #registry: SessionRegistry;
  readonly #persister: SessionPersister;
  readonly #ownership: Ownership;
  readonly #bus: ClusterBus | null;
  /** Per session we run: the sequence number of our next bus message. */
  readonly #seq = new Map<string, number>();
  /**
   * Sessions another node runs, as its latest bus message showed them (never moved backwards), or as
   * read from the store (`readAt`; token 0: any bus message supersedes it; trusted STORED_VIEW_MS).
   */
  readonly #remote = new Map<string, { owner: string | null; token: number; seq: number; view: SessionView; readAt?: number }>();
  /** Several nodes: which are alive and how loaded (new sessions go to the least loaded). */
  readonly #presence: Presence | null;
  readonly #poolSize: number;
  readonly #inits: InitSegments;
  readonly #sessionConfig: SessionConfig;
  /** Who hears of each session's changes. */
  readonly #events: SessionEvents;
  /** The actors' chunk work (chunk-job.ts): drained at close, so nothing is written after it. */
  readonly #chunkJobs: ReturnType<typeof chunkJob>;
  readonly #loading = new Map<string, Promise<SessionView | undefined>>();
  readonly #evictions = new Map<string, NodeJS.Timeout>();
  /** Rendered playlists and socket entries, with their signed URLs. */
  readonly #playlists: PlaylistCache;
  #closed = false;
  /** Shared leases only: looks for open sessions whose owner stopped renewing (it died) and adopts them. */
  readonly #adoptTimer: NodeJS.Timeout | null = null;
  #adopting = false;
  /** Aborted on close: releases everyone waiting for a chunk to settle. */
  /** Aborts every wait at shutdown: one listener per upload waiting for its chunk, so no listener limit. */
  readonly #closing = (() => {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  })();
  /** Counters for /metrics. */
  readonly stats = { created: 0, segmentsReady: 0, chunksFailed: 0, eventsDropped: 0 };

  constructor(options: SessionServiceOptions) {
    this.#config = options.config;
    this.#adapters = options.adapters;
    this.#log = options.log;
    this.#ownership = new Ownership({
      leases: options.adapters.leases,
      nodeId: options.config.nodeId,
      ttlMs: options.config.sessionLeaseSeconds * 1000,
      log: options.log,
      onLost: (sessionId) => this.#stopActing(sessionId),
    });
    this.#persister = new SessionPersister(options.adapters.sessions, options.log, (sessionId) => this.#ownership.lost(sessionId));
    this.#bus = options.bus ?? null;
    this.#bus?.onMessage((message) => this.#onRemote(message));
    this.#bus?.onCommand((command) => this.#execute(command));
    if (options.adapters.leases.shared) {
      this.#adoptTimer = setInterval(() => void this.#adoptOrphans(), Math.max(500, (options.config.sessionLeaseSeconds * 1000) / 2));
      this.#adoptTimer.unref();
    }
    this.#inits = new InitSegments(options.adapters.objects);
    this.#playlists = new PlaylistCache(options.adapters.segmentUrls);
    this.#events = new SessionEvents(options.log);
    this.#sessionConfig = {
      maxAttempts: options.config.chunkMaxAttempts,
      maxInFlight: options.config.sessionMaxInFlight ?? Math.max(1, options.poolSize),
      retryDelayMs: options.config.chunkRetryDelayMs,
      idleMs: options.config.sessionIdleSeconds * 1000,
      settleTimeoutMs: options.config.endSettleSeconds * 1000,
      chunkSeconds: options.config.chunkSeconds,
    };
    this.#chunkJobs = chunkJob({
      config: options.config,
      objects: options.adapters.objects,
      pool: options.pool,
      inits: this.#inits,
      log: options.log,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
      uploadedAt: (sessionId, index) => this.#registry.view(sessionId)?.context.chunks[index]?.uploadedAt,
    });
    const logic = sessionMachine.provide({ actors: { processChunk: this.#chunkJobs.logic } });
    this.#registry = new SessionRegistry(logic, {
      onChange: (id, changes, view) => this.#onChange(id, changes, view),
      onError: (id, error) => this.#log.error('session actor error', { session_id: id, error: errorMessage(error) }),
    });
    this.#poolSize = Math.max(1, options.poolSize);
    this.#presence = this.#bus
      ? new Presence({ bus: this.#bus, nodeId: options.config.nodeId, log: options.log, load: () => this.#nodeLoad() })
      : null;
    void this.#presence?.tick();
  }

  /** Subscribes to every session's changes; returns the unsubscribe function. */
  subscribe(listener: SessionListener): () => void {
    return this.#events.subscribe(listener);
  }

  /** Subscribes to one session's changes (after the `subscribe` listeners hear of them). */
  watch(sessionId: string, listener: SessionListener): () => void {
    return this.#events.watch(sessionId, listener);
  }

  get liveCount(): number {
    return this.#registry.views().filter((v) => v.phase !== 'ended').length;
  }

  // ─── Side effects of the actor ────────────────────────────────────────────

  /** The actor's `processChunk`: read the chunk → pool → write the segment → report. */
  #onChange(sessionId: string, changes: SessionChange[], view: SessionView): void {
    for (const change of changes) {
      if (change.kind === 'segment') this.stats.segmentsReady++;
      if (change.kind === 'chunk' && change.chunk.status === 'failed') this.stats.chunksFailed++;
    }
    const token = this.#ownership.token(sessionId);
    const record = toRecord(view);
    const saved = this.#persister.save(record, token);
    if (this.#bus && token !== undefined) {
      const seq = (this.#seq.get(sessionId) ?? 0) + 1;
      this.#seq.set(sessionId, seq);
      this.#bus.publish({ from: this.#config.nodeId, sessionId, token, seq, changes, record });
    }
    if (changes.some((c) => c.kind === 'phase' && c.phase === 'ending') && this.#acts(sessionId)) {
      // Before the settle timeout turns a missing chunk into a gap: one that is in the bucket is not
      // missing (its event or announcement was lost — a bus outage, a queue that gave up), so it is
      // announced from the listing, as on resume.
      this.#reconcile(sessionId, record).catch((error: unknown) =>
        this.#log.warn('could not list the chunks of an ending session', { session_id: sessionId, error: errorMessage(error) }),
      );
    }
    if (view.phase === 'ended') {
      // Closed for good: once the final record is stored any node may serve it; nothing to own.
      void saved.then(() => this.#ownership.release(sessionId));
      this.#scheduleEviction(sessionId);
    }
    this.#events.emit(sessionId, changes, view);
  }

  /** Tells every listener, then the session's own watchers, of a session's changes. */
  /** Ended sessions leave memory after a while; they are reloaded from the store on demand. */
  #scheduleEviction(sessionId: string): void {
    if (this.#evictions.has(sessionId) || this.#closed) return;
    const timer = setTimeout(() => {
      this.#evictions.delete(sessionId);
      this.#registry.remove(sessionId);
    }, this.#config.sessionRetainSeconds * 1000);
    timer.unref();
    this.#evictions.set(sessionId, timer);
  }

  /**
   * A change of a session another node runs: kept as that session's view here (only ever forward:
   * ordered by the owner's lease token, then its sequence), and passed to our listeners, so this node's
   * sockets, dashboards and blocking playlist reloads follow the owner.
   */
  #onRemote(message: SessionChangeMessage): void {
    if (this.#closed || this.#registry.has(message.sessionId)) return;
    const known = this.#remote.get(message.sessionId);
    if (known && (message.token < known.token || (message.token === known.token && message.seq <= known.seq))) return;
    const view = this.#storedView(message.record);
    this.#remote.set(message.sessionId, { owner: message.from, token: message.token, seq: message.seq, view });
    if (view.phase === 'ended') {
      const timer = setTimeout(() => this.#remote.delete(message.sessionId), this.#config.sessionRetainSeconds * 1000);
      timer.unref();
    }
    this.#events.emit(message.sessionId, message.changes, view);
  }

  /**
   * A command for a session another node runs goes to that node (known from its bus messages); the
   * owner answers once its actor has it. NotOwnerError (→ 503, or redelivery for queue events) when the
   * owner is unknown or does not answer in time.
   */
  async #forward(command: Exclude<SessionCommand, { type: 'create' }>): Promise<true> {
    await this.#forwardForReply(command);
    return true;
  }

  /** The same, resolving with the owner's reply (a rotation's new generation). */
  async #forwardForReply(command: Exclude<SessionCommand, { type: 'create' }>): Promise<CommandReply> {
    if (!this.#bus) throw new NotOwnerError(`another node runs session ${command.sessionId}`);
    // Known from its bus messages, else from the lease itself (this node may not have heard of it yet).
    const owner = this.#remote.get(command.sessionId)?.owner ?? (await this.#adapters.leases.holder(command.sessionId));
    if (!owner || owner === this.#config.nodeId) throw new NotOwnerError(`another node runs session ${command.sessionId}`);
    const reply = await this.#bus.request(owner, command, COMMAND_TIMEOUT_MS).catch(() => null);
    if (!reply?.ok)
      throw new NotOwnerError(
        `the node running session ${command.sessionId} did not take the command${reply?.error ? `: ${reply.error}` : ''}`,
      );
    return reply;
  }

  /** A command another node forwarded: done here only while this node runs the session (or, create: a new one). */
  async #execute(command: SessionCommand): Promise<CommandReply> {
    if (command.type === 'create') {
      if (this.#closed) return { ok: false, error: 'shutting down' };
      const view = await this.#createHere(command.mode, command.settings);
      return { ok: true, sessionId: view.context.sessionId };
    }
    if (!this.#acts(command.sessionId)) return { ok: false, error: 'not running here' };
    switch (command.type) {
      case 'chunk':
        this.#registry.send(command.sessionId, { type: 'CHUNK_UPLOADED', index: command.index, bytes: command.bytes, source: 'queue' });
        return { ok: true };
      case 'end':
        this.#registry.send(command.sessionId, { type: 'END', expectedChunks: command.expectedChunks });
        return { ok: true };
      case 'settings':
        this.#registry.send(command.sessionId, { type: 'SET_SETTINGS', settings: command.settings });
        return { ok: true };
      case 'rotate': {
        this.#registry.send(command.sessionId, { type: 'ROTATE_CONTROL' });
        const generation = this.#registry.view(command.sessionId)?.context.controlGeneration;
        return generation === undefined ? { ok: false, error: 'not running here' } : { ok: true, generation };
      }
    }
  }

  /** The nodes known alive with their load (this one alone without a bus). */
  get nodes(): NodeLoad[] {
    return this.#presence?.nodes() ?? [{ nodeId: this.#config.nodeId, ...this.#nodeLoad() }];
  }

  /** What this node announces to the others: its worker threads and the open sessions it runs. */
  #nodeLoad(): { workers: number; sessions: number } {
    let open = 0;
    for (const view of this.#registry.views()) if (view.phase !== 'ended') open++;
    return { workers: this.#poolSize, sessions: open };
  }

  /** Another node took the session over: stop its actor here (in-flight work is aborted). */
  #stopActing(sessionId: string): void {
    const timer = this.#evictions.get(sessionId);
    if (timer) clearTimeout(timer);
    this.#evictions.delete(sessionId);
    this.#persister.forget(sessionId);
    this.#registry.remove(sessionId);
  }

  /** Open sessions not running here whose lease has expired are taken over (find() takes the lease). */
  async #adoptOrphans(): Promise<void> {
    if (this.#adopting || this.#closed) return;
    this.#adopting = true;
    try {
      for (const record of await this.#adapters.sessions.list()) {
        if (this.#closed) return;
        if (record.closed || this.#registry.has(record.sessionId)) continue;
        // Not find(): a session another node runs is known here from the bus, but its lease may have expired.
        await this.#loadOnce(record.sessionId);
        if (this.#registry.has(record.sessionId))
          this.#log.info('session taken over from a node that stopped renewing its lease', { session_id: record.sessionId });
      }
    } catch (error) {
      this.#log.warn('looking for orphaned sessions failed', { error: errorMessage(error) });
    } finally {
      this.#adopting = false;
    }
  }

  /** The session's actor runs on this node (we hold its lease, or it has closed). */
  #acts(sessionId: string): boolean {
    return this.#registry.has(sessionId);
  }

  // ─── Operations ───────────────────────────────────────────────────────────

  /** The settings a session gets when its creator chooses none (from the configuration). */
  get defaultSettings(): StereoSettings {
    return { strength: this.#config.stereoStrength, convergence: this.#config.stereoConvergence };
  }

  /**
   * Creates a session. Missing settings take the configured defaults. With several nodes, its actor
   * runs on the least-loaded one (asked over the bus; here when that fails).
   */
  async create(mode: StereoMode, chosen: Partial<StereoSettings> = {}): Promise<SessionView> {
    if (this.#closed) throw new Error('the server is shutting down');
    const settings = { ...this.defaultSettings, ...chosen };
    const target = this.#presence?.place() ?? this.#config.nodeId;
    if (target !== this.#config.nodeId && this.#bus) {
      const reply = await this.#bus.request(target, { type: 'create', mode, settings }, COMMAND_TIMEOUT_MS).catch((error: unknown) => {
        this.#log.warn('the least-loaded node did not take a new session: it runs here', { node_id: target, error: errorMessage(error) });
        return null;
      });
      const view = reply?.ok && reply.sessionId ? await this.find(reply.sessionId) : undefined;
      if (view) return view;
      this.#presence?.forget(target);
    }
    return this.#createHere(mode, settings);
  }

  /** Creates a session run by this node. */
  async #createHere(mode: StereoMode, settings: StereoSettings): Promise<SessionView> {
    const sessionId = randomUUID();
    const createdAt = Date.now();
    const record: SessionRecord = {
      version: SESSION_RECORD_VERSION,
      ...newSessionData(sessionId, mode, createdAt, settings),
      closed: false,
    };
    await this.#adapters.sessions.create(record);
    if (!(await this.#ownership.acquire(sessionId))) throw new Error(`the lease of the new session ${sessionId} could not be taken`);
    this.stats.created++;
    this.#log.info('session created', { session_id: sessionId, mode, ...settings });
    return this.#registry.start({ sessionId, mode, settings, createdAt, config: this.#sessionConfig });
  }

  /**
   * Changes a session's stereo settings (validated by the caller); chunks dispatched from now on use
   * them, and they are persisted with the record. False when the session does not exist or has ended.
   */
  async updateSettings(sessionId: string, settings: Partial<StereoSettings>): Promise<boolean> {
    const view = await this.find(sessionId);
    if (!view || view.phase === 'ended') return false;
    if (!this.#acts(sessionId)) return this.#forward({ type: 'settings', sessionId, settings });
    this.#log.info('stereo settings changed', { session_id: sessionId, ...settings });
    return this.#registry.send(sessionId, { type: 'SET_SETTINGS', settings });
  }

  /**
   * Rotates the session's control token: its control generation goes up by one, so every token issued
   * before is refused. Resolves with the new generation, or null when the session is unknown or ended.
   */
  async rotateControl(sessionId: string): Promise<number | null> {
    const view = await this.find(sessionId);
    if (!view || view.phase === 'ended') return null;
    if (!this.#acts(sessionId)) {
      const reply = await this.#forwardForReply({ type: 'rotate', sessionId });
      return reply.generation ?? null;
    }
    this.#registry.send(sessionId, { type: 'ROTATE_CONTROL' });
    const generation = this.#registry.view(sessionId)?.context.controlGeneration ?? null;
    this.#log.info('control token rotated', { session_id: sessionId, generation });
    return generation;
  }

  /**
   * The session's current view, loading it from the store if it is not in memory.
   * Undefined when no such session exists. Store failures reject (callers answer 503).
   */
  async find(sessionId: string): Promise<SessionView | undefined> {
    const remote = this.#remote.get(sessionId);
    const trusted = remote && (remote.readAt === undefined || Date.now() - remote.readAt < STORED_VIEW_MS);
    const view = this.#registry.view(sessionId) ?? (trusted ? remote.view : undefined);
    if (view) return view;
    return this.#loadOnce(sessionId);
  }

  /** A session another node runs, as read from the store: kept briefly (unless the bus shows it). */
  #storedRemote(record: SessionRecord): SessionView {
    const known = this.#remote.get(record.sessionId);
    if (known && known.readAt === undefined) return known.view;
    const view = this.#storedView(record);
    this.#remote.set(record.sessionId, { owner: null, token: 0, seq: 0, view, readAt: Date.now() });
    return view;
  }

  /** Loads (and takes the lease of) a session, once however many ask at the same time. */
  #loadOnce(sessionId: string): Promise<SessionView | undefined> {
    let loading = this.#loading.get(sessionId);
    if (!loading) {
      loading = this.#load(sessionId).finally(() => this.#loading.delete(sessionId));
      this.#loading.set(sessionId, loading);
    }
    return loading;
  }

  async #load(sessionId: string): Promise<SessionView | undefined> {
    let record = await this.#adapters.sessions.get(sessionId);
    if (!record || this.#closed) return undefined;
    const existing = this.#registry.view(sessionId);
    if (existing) return existing;
    // A closed session needs no owner (its record is final); an open one runs where its lease is.
    if (!record.closed) {
      if (!(await this.#ownership.acquire(sessionId))) return this.#registry.view(sessionId) ?? this.#storedRemote(record);
      // Read again under the lease: the record read before it may predate the last owner's final
      // writes (it closed the session and gave the lease up in between), and running from that stale
      // record would undo them with our newer fencing token.
      record = await this.#adapters.sessions.get(sessionId);
      if (!record || record.closed) await this.#ownership.release(sessionId);
      if (!record || this.#closed) return undefined;
    }
    if (this.#registry.has(sessionId)) return this.#registry.view(sessionId);
    this.#remote.delete(sessionId);
    this.#log.info('session resumed from the store', { session_id: sessionId, closed: record.closed });
    const view = this.#registry.start({
      sessionId,
      mode: record.mode,
      settings: this.defaultSettings,
      config: this.#sessionConfig,
      restored: record,
    });
    if (!record.closed) await this.#reconcile(sessionId, record);
    return this.#registry.view(sessionId) ?? view;
  }

  /** Announces chunks that are in the store but unknown to the record (uploaded while we were down, or their events lost). */
  async #reconcile(sessionId: string, record: SessionRecord): Promise<void> {
    const objects = await this.#adapters.objects.list(`${INPUT_PREFIX}${sessionId}/`);
    for (const object of objects) {
      const parsed = parseChunkKey(object.key);
      if (parsed && record.chunks[parsed.index] === undefined) {
        this.#registry.send(sessionId, { type: 'CHUNK_UPLOADED', index: parsed.index, bytes: object.size, source: 'restore' });
      }
    }
  }

  /** Resumes every stored session whose playlist was still open (after a restart). */
  async resumeAll(): Promise<number> {
    const records = await this.#adapters.sessions.list();
    let resumed = 0;
    for (const record of records) {
      if (record.closed) continue;
      await this.find(record.sessionId);
      resumed++;
    }
    return resumed;
  }

  /** A chunk object exists (from the queue, the socket fast path or an upload). Deduplicated by the actor. */
  async chunkArrived(sessionId: string, index: number, bytes: number, source: 'socket' | 'queue'): Promise<boolean> {
    if (!isValidChunkIndex(index)) return false;
    if (!this.#config.streamingEnabled) {
      // As in the original system: acknowledged and dropped when streaming is disabled.
      this.stats.eventsDropped++;
      return false;
    }
    const view = await this.find(sessionId);
    if (!view) return false;
    // A chunk arriving after its session closed cannot be listed any more: acknowledged and dropped.
    if (view.phase === 'ended' && view.context.chunks[index] === undefined) return false;
    if (!this.#acts(sessionId)) return this.#forward({ type: 'chunk', sessionId, index, bytes });
    return this.#registry.send(sessionId, { type: 'CHUNK_UPLOADED', index, bytes, source });
  }

  /**
   * Resolves once chunk `index` has settled: 'ready' (its segment is stored), 'failed' (for good), or
   * 'gone' when the session closed without it; 'aborted' when the server shuts down first.
   */
  async settled(sessionId: string, index: number, signal?: AbortSignal): Promise<'ready' | 'failed' | 'gone' | 'aborted'> {
    const outcome = (): 'ready' | 'failed' | 'gone' | undefined => {
      // The owner's view, here or (forwarded to another node) as the bus shows it.
      const view = this.#registry.view(sessionId) ?? this.#remote.get(sessionId)?.view;
      if (!view) return 'gone';
      const status = view.context.chunks[index]?.status;
      if (status === 'ready' || status === 'failed') return status;
      return view.phase === 'ended' ? 'gone' : undefined;
    };
    // Not AbortSignal.any: on Node 20 it leaves a WeakRef in the long-lived closing signal for every call
    // (one per chunk; the soak benchmark's heap snapshots showed them pile up).
    const either = new AbortController();
    const sources = [this.#closing.signal, ...(signal ? [signal] : [])];
    const abort = () => either.abort();
    for (const source of sources) source.addEventListener('abort', abort, { once: true });
    try {
      if (sources.some((source) => source.aborted)) either.abort();
      await this.waitFor(sessionId, () => outcome() !== undefined, Infinity, either.signal);
    } finally {
      for (const source of sources) source.removeEventListener('abort', abort);
    }
    return outcome() ?? 'aborted';
  }

  /** An upload was refused (not an MP4…): the chunk becomes a gap instead of stalling the playlist. */
  chunkRejected(sessionId: string, index: number, reason: string): void {
    this.#registry.send(sessionId, { type: 'CHUNK_REJECTED', index, reason });
  }

  /** Ends a session (idempotent). Returns false when it does not exist. */
  async end(sessionId: string, expectedChunks: number | null): Promise<boolean> {
    const view = await this.find(sessionId);
    if (!view) return false;
    if (view.phase !== 'ended' && !this.#acts(sessionId)) return this.#forward({ type: 'end', sessionId, expectedChunks });
    this.#registry.send(sessionId, { type: 'END', expectedChunks });
    return true;
  }

  /** Resolves when `predicate` holds for the session's view, or on timeout or abort (events.ts). */
  waitFor(
    sessionId: string,
    predicate: (view: SessionView) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<number | undefined> {
    return this.#events.waitFor(
      sessionId,
      this.#registry.view(sessionId) ?? this.#remote.get(sessionId)?.view,
      predicate,
      timeoutMs,
      signal,
    );
  }

  /** The playlist text, with signed URLs based at `baseUrl` (playlist-cache.ts). */
  playlist(view: SessionView, baseUrl: string): Promise<string> {
    return this.#playlists.playlist(view, baseUrl);
  }

  /** The same playlist gzipped. */
  playlistGzip(view: SessionView, baseUrl: string): Promise<Buffer> {
    return this.#playlists.playlistGzip(view, baseUrl);
  }

  /** Listed entries `from`… as the session socket sends them, with signed URLs (playlist-cache.ts). */
  entries(view: SessionView, from: number, baseUrl: string, limit = Infinity): Promise<PlaylistEntry[]> {
    return this.#playlists.entries(view, from, baseUrl, limit);
  }

  /** Every session in memory plus the stored ones, newest first: at most `limit`, older than `before`. */
  async list(limit: number, before?: ListCursor): Promise<SessionView[]> {
    const fits = (createdAt: number, sessionId: string) =>
      !before || createdAt < before.createdAt || (createdAt === before.createdAt && sessionId < before.sessionId);
    const page = new NewestPage(limit);
    for (const view of this.#registry.views()) if (fits(view.context.createdAt, view.context.sessionId)) page.offer(view);
    // The store lists oldest first: only its newest `limit` sessions not running here can make the cut.
    const stored = await this.#adapters.sessions.list();
    for (let i = stored.length - 1, taken = 0; i >= 0 && taken < limit; i--) {
      const record = stored[i]!;
      if (this.#registry.has(record.sessionId) || !fits(record.createdAt, record.sessionId)) continue;
      page.offer(this.#storedView(record));
      taken++;
    }
    return page.views;
  }

  /** A stored record as a view, for sessions whose actor does not run here. */
  #storedView(record: SessionRecord): SessionView {
    return {
      phase: record.closed ? 'ended' : record.endedAt !== null ? 'ending' : 'live',
      context: { ...record, settings: record.settings ?? this.defaultSettings, config: this.#sessionConfig },
    };
  }

  /**
   * Stops every actor (in-flight work is aborted and resumes after a restart, here or on another
   * node), flushes records, then gives the leases up so another node need not wait for them to expire.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#closing.abort();
    if (this.#adoptTimer) clearInterval(this.#adoptTimer);
    this.#presence?.close();
    for (const timer of this.#evictions.values()) clearTimeout(timer);
    this.#evictions.clear();
    this.#registry.close();
    // Stopped jobs abort their conversion; a segment write already begun completes first.
    await this.#chunkJobs.drain();
    await this.#persister.flush();
    await this.#ownership.close();
    await this.#bus?.close();
  }
}
