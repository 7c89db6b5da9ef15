/**
 * Bringing sessions into memory: a session not running here is read from the store and, while open,
 * started here if its lease can be taken (after a restart, or adopted from a node that died) — else
 * shown as stored. Once per session however many ask at once. Chunks that are in the bucket but unknown
 * to the record (uploaded while no node ran it, or their events lost) are announced to its actor.
 */
import type { SessionConfig, SessionRecord, SessionRegistry, SessionView, StereoSettings } from '../../actors/index.ts';
import { INPUT_PREFIX, parseChunkKey } from '../../protocol/keys.ts';
import type { ObjectStore, SessionStore } from '../adapters/ports.ts';
import type { Logger } from '../log.ts';
import type { Ownership } from '../ownership.ts';
import type { RemoteViews } from './remote-views.ts';

export interface LoaderOptions {
  store: SessionStore;
  objects: ObjectStore;
  ownership: Ownership;
  registry: SessionRegistry;
  remote: RemoteViews;
  log: Logger;
  /** Aborted when the service closes: nothing more is started. */
  closing: AbortSignal;
  sessionConfig: SessionConfig;
  /** The settings a restored session starts with until its record's apply. */
  defaultSettings(): StereoSettings;
}

export class SessionLoader {
  readonly #opts: LoaderOptions;
  readonly #loading = new Map<string, Promise<SessionView | undefined>>();

  constructor(options: LoaderOptions) {
    this.#opts = options;
  }

  /**
   * The session's current view: running here, known fresh from its owner, or loaded from the store.
   * Undefined when no such session exists. Store failures reject (callers answer 503).
   */
  async find(sessionId: string): Promise<SessionView | undefined> {
    return this.#opts.registry.view(sessionId) ?? this.#opts.remote.fresh(sessionId) ?? this.load(sessionId);
  }

  /** Loads (and takes the lease of) a session, once however many ask at the same time. */
  load(sessionId: string): Promise<SessionView | undefined> {
    let loading = this.#loading.get(sessionId);
    if (!loading) {
      loading = this.#load(sessionId).finally(() => this.#loading.delete(sessionId));
      this.#loading.set(sessionId, loading);
    }
    return loading;
  }

  /** Resumes every stored session whose playlist was still open (after a restart). */
  async resumeAll(): Promise<number> {
    let resumed = 0;
    for (const record of await this.#opts.store.list()) {
      if (record.closed) continue;
      await this.find(record.sessionId);
      resumed++;
    }
    return resumed;
  }

  /** Announces the chunks in the bucket that the record does not know. */
  async reconcile(sessionId: string, record: SessionRecord): Promise<void> {
    const objects = await this.#opts.objects.list(`${INPUT_PREFIX}${sessionId}/`);
    for (const object of objects) {
      const parsed = parseChunkKey(object.key);
      if (parsed && record.chunks[parsed.index] === undefined) {
        this.#opts.registry.send(sessionId, { type: 'CHUNK_UPLOADED', index: parsed.index, bytes: object.size, source: 'restore' });
      }
    }
  }

  async #load(sessionId: string): Promise<SessionView | undefined> {
    const { store, ownership, registry, remote, closing } = this.#opts;
    let record = await store.get(sessionId);
    if (!record || closing.aborted) return undefined;
    const existing = registry.view(sessionId);
    if (existing) return existing;
    // A closed session needs no owner (its record is final); an open one runs where its lease is.
    if (!record.closed) {
      if (!(await ownership.acquire(sessionId))) return registry.view(sessionId) ?? remote.stored(record);
      // Read again under the lease: the record read before it may predate the last owner's final
      // writes (it closed the session and gave the lease up in between), and running from that stale
      // record would undo them with our newer fencing token.
      record = await store.get(sessionId);
      if (!record || record.closed) await ownership.release(sessionId);
      if (!record || closing.aborted) return undefined;
    }
    if (registry.has(sessionId)) return registry.view(sessionId);
    remote.delete(sessionId);
    this.#opts.log.info('session resumed from the store', { session_id: sessionId, closed: record.closed });
    const view = registry.start({
      sessionId,
      mode: record.mode,
      settings: this.#opts.defaultSettings(),
      config: this.#opts.sessionConfig,
      restored: record,
    });
    if (!record.closed) await this.reconcile(sessionId, record);
    return registry.view(sessionId) ?? view;
  }
}
