/**
 * The session service: creates, finds, resumes and ends sessions. Routes and sockets talk to this;
 * it composes the parts, one job each:
 * - running.ts — the sessions this node runs (actors, leases, records, publishing their changes);
 * - remote-views.ts — the sessions other nodes run, as their owners' messages show them;
 * - commands.ts — where a command runs: here, or on the session's owner; new sessions placed;
 * - loader.ts — sessions brought in from the store (resume, reconcile); adoption.ts — from dead nodes;
 * - events.ts — who hears of changes; playlist-cache.ts, list-page.ts — what is read.
 * A node alone is a cluster of one: the same bus, presence and routing serve one node or many. */
import { randomUUID } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import {
  type LiveState,
  newSessionData,
  SESSION_RECORD_VERSION,
  type SessionRecord,
  type SessionView,
  type StereoSettings,
} from '../../actors/index.ts';
import { isValidChunkIndex, type StereoMode } from '../../protocol/keys.ts';
import type { Adapters, ChunkProcessor, ClusterBus, NodeLoad } from '../adapters/ports.ts';
import { Presence } from '../cluster/presence.ts';
import type { Config } from '../config.ts';
import type { Logger } from '../log.ts';
import type { ChunkTelemetry } from '../telemetry.ts';
import { Adoption } from './adoption.ts';
import { Commands, type SessionOrder } from './commands.ts';
import { SessionEvents, type SessionListener } from './events.ts';
import { type ListCursor, listPage } from './list-page.ts';
import { SessionLoader } from './loader.ts';
import { PlaylistCache } from './playlist-cache.ts';
import { RemoteViews, storedView } from './remote-views.ts';
import { RunningSessions } from './running.ts';

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
  readonly #bus: ClusterBus;
  readonly #running: RunningSessions;
  readonly #remote: RemoteViews;
  /** Which nodes are alive and how loaded (new sessions go to the least loaded). */
  readonly #presence: Presence;
  readonly #commands: Commands;
  readonly #loader: SessionLoader;
  /** Shared leases only: takes over open sessions whose owner stopped renewing (it died). */
  readonly #adoption: Adoption | null;
  readonly #events: SessionEvents;
  /** Rendered playlists (plain and gzipped) and socket entries, with their signed URLs (playlist-cache.ts). */
  readonly playlists: PlaylistCache;
  /** Aborts every wait at shutdown: one listener per upload waiting for its chunk, so no listener limit. */
  readonly #closing = (() => {
    const controller = new AbortController();
    setMaxListeners(0, controller.signal);
    return controller;
  })();
  readonly #counts = { created: 0, eventsDropped: 0 };

  constructor(options: SessionServiceOptions) {
    const { config, adapters, log, bus } = options;
    this.#config = config;
    this.#adapters = adapters;
    this.#log = log;
    this.#bus = bus;
    const workers = Math.max(1, options.poolSize);
    this.playlists = new PlaylistCache(adapters.segmentUrls);
    this.#events = new SessionEvents(log);
    this.#running = new RunningSessions({
      ...options,
      emit: (sessionId, changes, view) => this.#events.emit(sessionId, changes, view),
      reconcile: (sessionId, record) => this.#loader.reconcile(sessionId, record),
    });
    const registry = this.#running.registry;
    const closing = this.#closing.signal;
    this.#remote = new RemoteViews({
      bus,
      runsHere: (sessionId) => registry.has(sessionId),
      emit: (sessionId, changes, view) => this.#events.emit(sessionId, changes, view),
      toView: (record) => this.#storedView(record),
      retainMs: config.sessionRetainSeconds * 1000,
    });
    this.#presence = new Presence({ bus, nodeId: config.nodeId, log, load: () => ({ workers, sessions: this.#running.open }) });
    void this.#presence.tick();
    const { ownership } = this.#running;
    const remote = this.#remote;
    this.#loader = new SessionLoader({
      store: adapters.sessions,
      objects: adapters.objects,
      ownership,
      registry,
      remote,
      log,
      closing,
      sessionConfig: this.#running.sessionConfig,
      defaultSettings: () => this.defaultSettings,
    });
    this.#commands = new Commands({
      nodeId: config.nodeId,
      bus,
      registry,
      remote,
      leases: adapters.leases,
      presence: this.#presence,
      log,
      closing,
      createHere: (mode, settings) => this.#createHere(mode, settings),
      find: (sessionId) => this.find(sessionId),
    });
    const adoptEveryMs = Math.max(500, (config.sessionLeaseSeconds * 1000) / 2);
    this.#adoption = adapters.leases.shared
      ? new Adoption({ store: adapters.sessions, registry, loader: this.#loader, log, intervalMs: adoptEveryMs })
      : null;
  }

  /** Counters for /metrics. */
  get stats(): { created: number; segmentsReady: number; chunksFailed: number; eventsDropped: number } {
    return { ...this.#counts, ...this.#running.stats };
  }

  /** Subscribes to every session's changes; returns the unsubscribe function. */
  subscribe(listener: SessionListener): () => void {
    return this.#events.subscribe(listener);
  }

  /** Subscribes to one session's changes (after the `subscribe` listeners hear of them). */
  watch(sessionId: string, listener: SessionListener): () => void {
    return this.#events.watch(sessionId, listener);
  }

  /** Open sessions this node runs. */
  get liveCount(): number {
    return this.#running.open;
  }

  /** The nodes known alive with their load (this one alone in a cluster of one). */
  get nodes(): NodeLoad[] {
    return this.#presence.nodes();
  }

  /** The settings a session gets when its creator chooses none (from the configuration). */
  get defaultSettings(): StereoSettings {
    return { strength: this.#config.stereoStrength, convergence: this.#config.stereoConvergence };
  }

  /** Creates a session (missing settings take the configured defaults) on the least-loaded node. */
  async create(mode: StereoMode, chosen: Partial<StereoSettings> = {}): Promise<SessionView> {
    if (this.#closing.signal.aborted) throw new Error('the server is shutting down');
    return this.#commands.create(mode, { ...this.defaultSettings, ...chosen });
  }

  /** Creates a session run by this node. */
  async #createHere(mode: StereoMode, settings: StereoSettings): Promise<SessionView> {
    const sessionId = randomUUID();
    const createdAt = Date.now();
    const data = newSessionData(sessionId, mode, createdAt, settings);
    await this.#adapters.sessions.create({ version: SESSION_RECORD_VERSION, ...data, closed: false });
    if (!(await this.#running.ownership.acquire(sessionId)))
      throw new Error(`the lease of the new session ${sessionId} could not be taken`);
    this.#counts.created++;
    this.#log.info('session created', { session_id: sessionId, mode, ...settings });
    return this.#running.registry.start({ sessionId, mode, settings, createdAt, config: this.#running.sessionConfig });
  }

  /** `order` for an open session, where it runs; not ok when the session does not exist or has ended. */
  async #order(order: SessionOrder): Promise<{ ok: boolean; generation?: number }> {
    const view = await this.find(order.sessionId);
    if (!view || view.phase === 'ended') return { ok: false };
    return this.#commands.run(order);
  }

  /**
   * Changes a session's stereo settings (validated by the caller); chunks dispatched from now on use
   * them, and they are persisted with the record. False when the session does not exist or has ended.
   */
  async updateSettings(sessionId: string, settings: Partial<StereoSettings>, mode?: StereoMode): Promise<boolean> {
    return (await this.#order({ type: 'settings', sessionId, settings, ...(mode ? { mode } : {}) })).ok;
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
      this.#counts.eventsDropped++;
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
    this.#running.registry.send(sessionId, { type: 'CHUNK_REJECTED', index, reason });
  }

  /** The session's live path changed (server/live/, which runs only where the actor does): its actor notes it. */
  liveChanged(sessionId: string, live: LiveState): void {
    this.#running.registry.send(sessionId, { type: 'LIVE_CHANGED', live });
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

  /** Whether the session's actor runs on this node (its live path runs where it does). */
  runsHere(sessionId: string): boolean {
    return this.#running.registry.has(sessionId);
  }

  /** The node running the session's actor (this one, or another); undefined when none is known. */
  owner(sessionId: string): Promise<string | undefined> {
    return this.#commands.owner(sessionId);
  }

  /** The owner's view: here, or as the bus shows it. */
  #view(sessionId: string): SessionView | undefined {
    return this.#running.registry.view(sessionId) ?? this.#remote.view(sessionId);
  }

  /** Resolves once chunk `index` has settled (events.ts): 'ready', 'failed', 'gone', or 'aborted' at shutdown. */
  settled(sessionId: string, index: number, signal?: AbortSignal): Promise<'ready' | 'failed' | 'gone' | 'aborted'> {
    return this.#events.settled(sessionId, index, () => this.#view(sessionId), this.#closing.signal, signal);
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

  /** Every session in memory plus the stored ones, newest first: at most `limit`, older than `before`. */
  async list(limit: number, before?: ListCursor): Promise<SessionView[]> {
    const running = this.#running.registry.views();
    return listPage(running, await this.#adapters.sessions.list(), (record) => this.#storedView(record), limit, before);
  }

  #storedView(record: SessionRecord): SessionView {
    return storedView(record, this.defaultSettings, this.#running.sessionConfig);
  }

  /** Stops the sessions run here (running.ts: their records flushed, leases given up), then the bus. */
  async close(): Promise<void> {
    if (this.#closing.signal.aborted) return;
    this.#closing.abort();
    this.#adoption?.close();
    this.#presence.close();
    this.#remote.close();
    await this.#running.close();
    await this.#bus.close();
  }
}
