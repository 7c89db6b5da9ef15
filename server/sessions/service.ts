/**
 * The session service: creates, finds, resumes and ends sessions, and provides the session actor's
 * side effects (reading chunks, running the pool, writing segments, persisting records). Routes and
 * sockets talk to this; it talks to the actors, the pool and the adapters. A node alone is a cluster of
 * one: the same bus, presence and command routing serve one node or many.
 *
 * The parts, one job each: commands.ts (where a command runs), loader.ts (from the store, reconcile),
 * remote-views.ts (sessions others run), adoption.ts (sessions whose node died), chunk-job.ts (the
 * actor's chunk work), events.ts (who hears of changes), playlist-cache.ts, list-page.ts.
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
import { isValidChunkIndex, type StereoMode } from '../../protocol/keys.ts';
import type { PlaylistEntry } from '../../protocol/messages.ts';
import type { Adapters, ChunkProcessor, ClusterBus, NodeLoad } from '../adapters/ports.ts';
import { Presence } from '../cluster/presence.ts';
import type { Config } from '../config.ts';
import { InitSegments } from '../init-segments.ts';
import { errorMessage, type Logger } from '../log.ts';
import { Ownership } from '../ownership.ts';
import { SessionPersister } from '../persister.ts';
import type { ChunkTelemetry } from '../telemetry.ts';
import { Adoption } from './adoption.ts';
import { chunkJob } from './chunk-job.ts';
import { Commands, type SessionOrder } from './commands.ts';
import { SessionEvents, type SessionListener } from './events.ts';
import { NewestPage, type ListCursor } from './list-page.ts';
import { SessionLoader } from './loader.ts';
import { PlaylistCache } from './playlist-cache.ts';
import { RemoteViews } from './remote-views.ts';

export { NotOwnerError } from './commands.ts';

export interface SessionServiceOptions {
  config: Config;
  adapters: Adapters;
  pool: ChunkProcessor;
  /** Worker threads in the pool: the default in-flight limit per session. */
  poolSize: number;
  log: Logger;
  /** The cluster (a node alone: a cluster of one, cluster/bus.ts localBus); the service closes it. */
  bus: ClusterBus;
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
  readonly #bus: ClusterBus;
  /** Per session we run: the sequence number of our next bus message. */
  readonly #seq = new Map<string, number>();
  readonly #remote: RemoteViews;
  /** Which nodes are alive and how loaded (new sessions go to the least loaded). */
  readonly #presence: Presence;
  readonly #commands: Commands;
  readonly #loader: SessionLoader;
  /** Shared leases only: takes over open sessions whose owner stopped renewing (it died). */
  readonly #adoption: Adoption | null;
  readonly #poolSize: number;
  readonly #sessionConfig: SessionConfig;
  readonly #events: SessionEvents;
  /** The actors' chunk work (chunk-job.ts): drained at close, so nothing is written after it. */
  readonly #chunkJobs: ReturnType<typeof chunkJob>;
  readonly #evictions = new Map<string, NodeJS.Timeout>();
  /** Rendered playlists and socket entries, with their signed URLs. */
  readonly #playlists: PlaylistCache;
  /** Aborts every wait at shutdown: one listener per upload waiting for its chunk, so no listener limit. */
  readonly #closing = (() => {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  })();
  /** Counters for /metrics. */
  readonly stats = { created: 0, segmentsReady: 0, chunksFailed: 0, eventsDropped: 0 };

  constructor(options: SessionServiceOptions) {
    const { config, adapters, log, bus } = options;
    this.#config = config;
    this.#adapters = adapters;
    this.#log = log;
    this.#bus = bus;
    this.#poolSize = Math.max(1, options.poolSize);
    this.#ownership = new Ownership({
      leases: adapters.leases,
      nodeId: config.nodeId,
      ttlMs: config.sessionLeaseSeconds * 1000,
      log,
      onLost: (sessionId) => this.#stopActing(sessionId),
    });
    this.#persister = new SessionPersister(adapters.sessions, log, (sessionId) => this.#ownership.lost(sessionId));
    this.#playlists = new PlaylistCache(adapters.segmentUrls);
    this.#events = new SessionEvents(log);
    this.#sessionConfig = {
      maxAttempts: config.chunkMaxAttempts,
      maxInFlight: config.sessionMaxInFlight ?? this.#poolSize,
      retryDelayMs: config.chunkRetryDelayMs,
      idleMs: config.sessionIdleSeconds * 1000,
      settleTimeoutMs: config.endSettleSeconds * 1000,
      chunkSeconds: config.chunkSeconds,
    };
    this.#chunkJobs = chunkJob({
      config,
      objects: adapters.objects,
      pool: options.pool,
      inits: new InitSegments(adapters.objects),
      log,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
      uploadedAt: (sessionId, index) => this.#registry.view(sessionId)?.context.chunks[index]?.uploadedAt,
    });
    const logic = sessionMachine.provide({ actors: { processChunk: this.#chunkJobs.logic } });
    this.#registry = new SessionRegistry(logic, {
      onChange: (id, changes, view) => this.#onChange(id, changes, view),
      onError: (id, error) => log.error('session actor error', { session_id: id, error: errorMessage(error) }),
    });
    this.#remote = new RemoteViews((record) => this.#storedView(record), config.sessionRetainSeconds * 1000);
    bus.onMessage((message) => {
      if (this.#closing.signal.aborted || this.#registry.has(message.sessionId)) return;
      const view = this.#remote.apply(message);
      if (view) this.#events.emit(message.sessionId, message.changes, view);
    });
    this.#presence = new Presence({ bus, nodeId: config.nodeId, log, load: () => this.#nodeLoad() });
    void this.#presence.tick();
    this.#loader = new SessionLoader({
      store: adapters.sessions,
      objects: adapters.objects,
      ownership: this.#ownership,
      registry: this.#registry,
      remote: this.#remote,
      log,
      closing: this.#closing.signal,
      sessionConfig: this.#sessionConfig,
      defaultSettings: () => this.defaultSettings,
    });
    this.#commands = new Commands({
      nodeId: config.nodeId,
      bus,
      registry: this.#registry,
      remote: this.#remote,
      leases: adapters.leases,
      presence: this.#presence,
      log,
      closing: this.#closing.signal,
      createHere: (mode, settings) => this.#createHere(mode, settings),
      find: (sessionId) => this.find(sessionId),
    });
    this.#adoption = adapters.leases.shared
      ? new Adoption({
          store: adapters.sessions,
          registry: this.#registry,
          loader: this.#loader,
          log,
          intervalMs: Math.max(500, (config.sessionLeaseSeconds * 1000) / 2),
        })
      : null;
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

  /** The nodes known alive with their load (this one alone in a cluster of one). */
  get nodes(): NodeLoad[] {
    return this.#presence.nodes();
  }

  /** The settings a session gets when its creator chooses none (from the configuration). */
  get defaultSettings(): StereoSettings {
    return { strength: this.#config.stereoStrength, convergence: this.#config.stereoConvergence };
  }

  // ─── What the actors change ───────────────────────────────────────────────

  /** A session we run changed: count, persist, tell the other nodes, and our listeners. */
  #onChange(sessionId: string, changes: SessionChange[], view: SessionView): void {
    for (const change of changes) {
      if (change.kind === 'segment') this.stats.segmentsReady++;
      if (change.kind === 'chunk' && change.chunk.status === 'failed') this.stats.chunksFailed++;
    }
    const token = this.#ownership.token(sessionId);
    const record = toRecord(view);
    const saved = this.#persister.save(record, token);
    if (token !== undefined) {
      const seq = (this.#seq.get(sessionId) ?? 0) + 1;
      this.#seq.set(sessionId, seq);
      this.#bus.publish({ from: this.#config.nodeId, sessionId, token, seq, changes, record });
    }
    if (changes.some((c) => c.kind === 'phase' && c.phase === 'ending') && this.#registry.has(sessionId)) {
      // Before the settle timeout turns a missing chunk into a gap: one that is in the bucket is not
      // missing (its event or announcement was lost — a bus outage, a queue that gave up), so it is
      // announced from the listing, as on resume.
      this.#loader
        .reconcile(sessionId, record)
        .catch((error: unknown) =>
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

  /** Ended sessions leave memory after a while; they are reloaded from the store on demand. */
  #scheduleEviction(sessionId: string): void {
    if (this.#evictions.has(sessionId) || this.#closing.signal.aborted) return;
    const timer = setTimeout(() => {
      this.#evictions.delete(sessionId);
      this.#seq.delete(sessionId);
      this.#registry.remove(sessionId);
    }, this.#config.sessionRetainSeconds * 1000);
    timer.unref();
    this.#evictions.set(sessionId, timer);
  }

  /** Another node took the session over: stop its actor here (in-flight work is aborted). */
  #stopActing(sessionId: string): void {
    clearTimeout(this.#evictions.get(sessionId));
    this.#evictions.delete(sessionId);
    this.#persister.forget(sessionId);
    this.#registry.remove(sessionId);
  }

  /** What this node announces to the others: its worker threads and the open sessions it runs. */
  #nodeLoad(): { workers: number; sessions: number } {
    return { workers: this.#poolSize, sessions: this.liveCount };
  }

  // ─── Operations ───────────────────────────────────────────────────────────

  /** Creates a session (missing settings take the configured defaults) on the least-loaded node. */
  async create(mode: StereoMode, chosen: Partial<StereoSettings> = {}): Promise<SessionView> {
    if (this.#closing.signal.aborted) throw new Error('the server is shutting down');
    return this.#commands.create(mode, { ...this.defaultSettings, ...chosen });
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

  /** `order` for an open session, where it runs; false when the session does not exist or has ended. */
  async #order(order: SessionOrder): Promise<{ ok: boolean; generation?: number }> {
    const view = await this.find(order.sessionId);
    if (!view || view.phase === 'ended') return { ok: false };
    return this.#commands.run(order);
  }

  /**
   * Changes a session's stereo settings (validated by the caller); chunks dispatched from now on use
   * them, and they are persisted with the record. False when the session does not exist or has ended.
   */
  async updateSettings(sessionId: string, settings: Partial<StereoSettings>): Promise<boolean> {
    return (await this.#order({ type: 'settings', sessionId, settings })).ok;
  }

  /**
   * Rotates the session's control token: its control generation goes up by one, so every token issued
   * before is refused. Resolves with the new generation, or null when the session is unknown or ended.
   */
  async rotateControl(sessionId: string): Promise<number | null> {
    return (await this.#order({ type: 'rotate', sessionId })).generation ?? null;
  }

  /** Ends a session (idempotent). Returns false when it does not exist. */
  async end(sessionId: string, expectedChunks: number | null): Promise<boolean> {
    const view = await this.find(sessionId);
    if (!view) return false;
    return view.phase === 'ended' || (await this.#commands.run({ type: 'end', sessionId, expectedChunks })).ok;
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
    return (await this.#commands.run({ type: 'chunk', sessionId, index, bytes, source })).ok;
  }

  /** An upload was refused (not an MP4…): the chunk becomes a gap instead of stalling the playlist. */
  chunkRejected(sessionId: string, index: number, reason: string): void {
    this.#registry.send(sessionId, { type: 'CHUNK_REJECTED', index, reason });
  }

  /**
   * The session's current view, loading it from the store if it is not in memory.
   * Undefined when no such session exists. Store failures reject (callers answer 503).
   */
  find(sessionId: string): Promise<SessionView | undefined> {
    return this.#loader.find(sessionId);
  }

  /** Resumes every stored session whose playlist was still open (after a restart). */
  resumeAll(): Promise<number> {
    return this.#loader.resumeAll();
  }

  /** The owner's view: here, or as the bus shows it. */
  #view(sessionId: string): SessionView | undefined {
    return this.#registry.view(sessionId) ?? this.#remote.view(sessionId);
  }

  /**
   * Resolves once chunk `index` has settled: 'ready' (its segment is stored), 'failed' (for good), or
   * 'gone' when the session closed without it; 'aborted' when the server shuts down first.
   */
  async settled(sessionId: string, index: number, signal?: AbortSignal): Promise<'ready' | 'failed' | 'gone' | 'aborted'> {
    const outcome = (): 'ready' | 'failed' | 'gone' | undefined => {
      const view = this.#view(sessionId);
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

  /** Resolves when `predicate` holds for the session's view, or on timeout or abort (events.ts). */
  waitFor(
    sessionId: string,
    predicate: (view: SessionView) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<number | undefined> {
    return this.#events.waitFor(sessionId, this.#view(sessionId), predicate, timeoutMs, signal);
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
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    this.#adoption?.close();
    this.#presence.close();
    this.#remote.close();
    for (const timer of this.#evictions.values()) clearTimeout(timer);
    this.#evictions.clear();
    this.#registry.close();
    // Stopped jobs abort their conversion; a segment write already begun completes first.
    await this.#chunkJobs.drain();
    await this.#persister.flush();
    await this.#ownership.close();
    await this.#bus.close();
  }
}
