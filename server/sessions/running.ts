/**
 * The sessions this node runs: their actors (the registry), each with its lease held (ownership.ts),
 * its record persisted after every change (persister.ts, fenced by the lease's token) and the change
 * published for the other nodes in order. An ending session's bucket is listed once more (a chunk whose
 * event was lost is not missing); an ended one gives its lease up and leaves memory after the retention
 * time. A session whose lease another node took stops here at once.
 */
import {
  SessionRegistry,
  sessionMachine,
  toRecord,
  type SessionChange,
  type SessionConfig,
  type SessionRecord,
  type SessionView,
} from '../../actors/index.ts';
import type { Adapters, ChunkProcessor, ClusterBus } from '../adapters/ports.ts';
import type { Config } from '../config.ts';
import { InitSegments } from '../init-segments.ts';
import { errorMessage, type Logger } from '../log.ts';
import { Ownership } from '../ownership.ts';
import { SessionPersister } from '../persister.ts';
import type { ChunkTelemetry } from '../telemetry.ts';
import { chunkJob } from './chunk-job.ts';

export interface RunningOptions {
  config: Config;
  adapters: Adapters;
  pool: ChunkProcessor;
  /** Worker threads in the pool: the default in-flight limit per session. */
  poolSize: number;
  bus: ClusterBus;
  log: Logger;
  telemetry?: ChunkTelemetry;
  /** Tells this node's listeners of a change. */
  emit(sessionId: string, changes: SessionChange[], view: SessionView): void;
  /** Announces the chunks in the bucket that the record does not know (loader.ts). */
  reconcile(sessionId: string, record: SessionRecord): Promise<void>;
}

export class RunningSessions {
  readonly registry: SessionRegistry;
  readonly ownership: Ownership;
  /** What every session's actor runs by (from the configuration). */
  readonly sessionConfig: SessionConfig;
  /** Counters for /metrics. */
  readonly stats = { segmentsReady: 0, chunksFailed: 0 };
  readonly #opts: RunningOptions;
  readonly #persister: SessionPersister;
  /** The actors' chunk work: drained at close, so nothing is written after it. */
  readonly #chunkJobs: ReturnType<typeof chunkJob>;
  /** Per session: the sequence number of our last bus message. */
  readonly #seq = new Map<string, number>();
  readonly #evictions = new Map<string, NodeJS.Timeout>();
  #closed = false;

  constructor(options: RunningOptions) {
    const { config, adapters, log } = options;
    this.#opts = options;
    this.sessionConfig = {
      maxAttempts: config.chunkMaxAttempts,
      maxInFlight: config.sessionMaxInFlight ?? Math.max(1, options.poolSize),
      retryDelayMs: config.chunkRetryDelayMs,
      idleMs: config.sessionIdleSeconds * 1000,
      settleTimeoutMs: config.endSettleSeconds * 1000,
      chunkSeconds: config.chunkSeconds,
    };
    this.ownership = new Ownership({
      leases: adapters.leases,
      nodeId: config.nodeId,
      ttlMs: config.sessionLeaseSeconds * 1000,
      log,
      onLost: (sessionId) => this.#stop(sessionId),
    });
    this.#persister = new SessionPersister(adapters.sessions, log, (sessionId) => this.ownership.lost(sessionId));
    this.#chunkJobs = chunkJob({
      config,
      objects: adapters.objects,
      pool: options.pool,
      inits: new InitSegments(adapters.objects),
      log,
      ...(options.telemetry ? { telemetry: options.telemetry } : {}),
      uploadedAt: (sessionId, index) => this.registry.view(sessionId)?.context.chunks[index]?.uploadedAt,
    });
    const logic = sessionMachine.provide({ actors: { processChunk: this.#chunkJobs.logic } });
    this.registry = new SessionRegistry(logic, {
      onChange: (id, changes, view) => this.#changed(id, changes, view),
      onError: (id, error) => log.error('session actor error', { session_id: id, error: errorMessage(error) }),
    });
  }

  /** How many of them are open. */
  get open(): number {
    let open = 0;
    for (const view of this.registry.views()) if (view.phase !== 'ended') open++;
    return open;
  }

  /** A session we run changed: count, persist, tell the other nodes, and this node's listeners. */
  #changed(sessionId: string, changes: SessionChange[], view: SessionView): void {
    for (const change of changes) {
      if (change.kind === 'segment') this.stats.segmentsReady++;
      if (change.kind === 'chunk' && change.chunk.status === 'failed') this.stats.chunksFailed++;
    }
    const token = this.ownership.token(sessionId);
    const record = toRecord(view);
    const saved = this.#persister.save(record, token);
    if (token !== undefined) {
      const seq = (this.#seq.get(sessionId) ?? 0) + 1;
      this.#seq.set(sessionId, seq);
      this.#opts.bus.publish({ from: this.#opts.config.nodeId, sessionId, token, seq, changes, record });
    }
    if (changes.some((c) => c.kind === 'phase' && c.phase === 'ending') && this.registry.has(sessionId)) {
      // Before the settle timeout turns a missing chunk into a gap: one that is in the bucket is not
      // missing (its event or announcement was lost — a bus outage, a queue that gave up), so it is
      // announced from the listing, as on resume.
      this.#opts
        .reconcile(sessionId, record)
        .catch((error: unknown) =>
          this.#opts.log.warn('could not list the chunks of an ending session', { session_id: sessionId, error: errorMessage(error) }),
        );
    }
    if (view.phase === 'ended') {
      // Closed for good: once the final record is stored any node may serve it; nothing to own.
      void saved.then(() => this.ownership.release(sessionId));
      this.#evictLater(sessionId);
    }
    this.#opts.emit(sessionId, changes, view);
  }

  /** Ended sessions leave memory after a while; they are reloaded from the store on demand. */
  #evictLater(sessionId: string): void {
    if (this.#evictions.has(sessionId) || this.#closed) return;
    const timer = setTimeout(() => {
      this.#evictions.delete(sessionId);
      this.#seq.delete(sessionId);
      this.registry.remove(sessionId);
    }, this.#opts.config.sessionRetainSeconds * 1000);
    timer.unref();
    this.#evictions.set(sessionId, timer);
  }

  /** Another node took the session over: stop its actor here (in-flight work is aborted). */
  #stop(sessionId: string): void {
    clearTimeout(this.#evictions.get(sessionId));
    this.#evictions.delete(sessionId);
    this.#persister.forget(sessionId);
    this.registry.remove(sessionId);
  }

  /**
   * Stops every actor (in-flight work is aborted and resumes after a restart, here or on another
   * node), flushes records, then gives the leases up so another node need not wait for them to expire.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#evictions.values()) clearTimeout(timer);
    this.#evictions.clear();
    this.registry.close();
    // Stopped jobs abort their conversion; a segment write already begun completes first.
    await this.#chunkJobs.drain();
    await this.#persister.flush();
    await this.ownership.close();
  }
}
