/**
 * Who hears of each session's changes: listeners of every session (the sockets' publisher, the
 * dashboard) and watchers of one (held playlist reloads — thousands on one session cost the others
 * nothing). A listener that throws is logged and the others still hear: one broken subscriber never
 * stops a session's news.
 */
import type { SessionChange, SessionView } from '../../actors/index.ts';
import { errorMessage, type Logger } from '../log.ts';

export type SessionListener = (sessionId: string, changes: SessionChange[], view: SessionView) => void;

export class SessionEvents {
  readonly #log: Logger;
  readonly #listeners = new Set<SessionListener>();
  /** Listeners of one session each, by session id. */
  readonly #watchers = new Map<string, Set<SessionListener>>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Subscribes to every session's changes; returns the unsubscribe function. */
  subscribe(listener: SessionListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Subscribes to one session's changes (after the `subscribe` listeners hear of them); returns the unsubscribe function. */
  watch(sessionId: string, listener: SessionListener): () => void {
    let watchers = this.#watchers.get(sessionId);
    if (!watchers) this.#watchers.set(sessionId, (watchers = new Set()));
    watchers.add(listener);
    return () => {
      watchers.delete(listener);
      if (watchers.size === 0 && this.#watchers.get(sessionId) === watchers) this.#watchers.delete(sessionId);
    };
  }

  /** Tells every listener, then the session's watchers; a listener's error is logged, not thrown. */
  emit(sessionId: string, changes: SessionChange[], view: SessionView): void {
    const watchers = this.#watchers.get(sessionId);
    for (const listener of watchers ? [...this.#listeners, ...watchers] : this.#listeners) {
      try {
        listener(sessionId, changes, view);
      } catch (error) {
        this.#log.error('session listener failed', { session_id: sessionId, error: errorMessage(error) });
      }
    }
  }

  /**
   * Resolves when `predicate` holds for the session's view (`current` now), or after `timeoutMs` (may be
   * Infinity), or on abort. Resolves with the moment (`performance.now()`) the predicate came to hold
   * while waiting, so a caller can tell how fast it answered; undefined when it held already, there is
   * no such session, it timed out or was aborted.
   */
  waitFor(
    sessionId: string,
    current: SessionView | undefined,
    predicate: (view: SessionView) => boolean,
    timeoutMs: number,
    signal?: AbortSignal,
  ): Promise<number | undefined> {
    if (!current || predicate(current) || timeoutMs <= 0) return Promise.resolve(undefined);
    if (signal?.aborted) return Promise.resolve(undefined);
    return new Promise<number | undefined>((resolve) => {
      const finish = (heldAt?: number) => {
        clearTimeout(timer);
        unsubscribe();
        signal?.removeEventListener('abort', onAbort);
        resolve(heldAt);
      };
      const onAbort = () => finish();
      const timer = Number.isFinite(timeoutMs) ? setTimeout(finish, timeoutMs) : undefined;
      const unsubscribe = this.watch(sessionId, (_id, _changes, view) => {
        if (predicate(view)) finish(performance.now());
      });
      signal?.addEventListener('abort', onAbort);
    });
  }

  /**
   * Resolves once chunk `index` of the session (its owner's view now: `view()`) has settled: 'ready'
   * (its segment is stored), 'failed' (for good), or 'gone' when the session closed without it;
   * 'aborted' when `closing` or `signal` aborts first.
   */
  async settled(
    sessionId: string,
    index: number,
    view: () => SessionView | undefined,
    closing: AbortSignal,
    signal?: AbortSignal,
  ): Promise<'ready' | 'failed' | 'gone' | 'aborted'> {
    const outcome = (): 'ready' | 'failed' | 'gone' | undefined => {
      const now = view();
      if (!now) return 'gone';
      const status = now.context.chunks[index]?.status;
      if (status === 'ready' || status === 'failed') return status;
      return now.phase === 'ended' ? 'gone' : undefined;
    };
    // Not AbortSignal.any: on Node 20 it leaves a WeakRef in the long-lived closing signal for every call
    // (one per chunk; the soak benchmark's heap snapshots showed them pile up).
    const either = new AbortController();
    const sources = [closing, ...(signal ? [signal] : [])];
    const abort = () => either.abort();
    for (const source of sources) source.addEventListener('abort', abort, { once: true });
    try {
      if (sources.some((source) => source.aborted)) either.abort();
      await this.waitFor(sessionId, view(), () => outcome() !== undefined, Infinity, either.signal);
    } finally {
      for (const source of sources) source.removeEventListener('abort', abort);
    }
    return outcome() ?? 'aborted';
  }
}
