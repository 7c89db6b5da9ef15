/**
 * Sessions another node runs, as this node knows them: from the owner's bus messages (only ever
 * moved forward — ordered by the owner's lease token, then its sequence), or read from the store
 * (token 0: any bus message supersedes it; trusted for STORED_VIEW_MS, then read again). Ended ones are
 * forgotten after the retention time.
 */
import type { SessionConfig, SessionRecord, SessionView, StereoSettings } from '../../actors/index.ts';
import type { SessionChange } from '../../actors/changes.ts';
import type { ClusterBus, SessionChangeMessage } from '../adapters/ports.ts';

/** How long a view read from the store is trusted before it is read again. */
const STORED_VIEW_MS = 1000;

/** A stored record as a view, for a session whose actor does not run here. */
export function storedView(record: SessionRecord, defaults: StereoSettings, config: SessionConfig): SessionView {
  return {
    phase: record.closed ? 'ended' : record.endedAt !== null ? 'ending' : 'live',
    context: { ...record, settings: record.settings ?? defaults, config },
  };
}

interface RemoteView {
  /** The node running it, when its messages told us; null when read from the store. */
  owner: string | null;
  token: number;
  seq: number;
  view: SessionView;
  /** When it was read from the store (absent: the bus keeps it current). */
  readAt?: number;
}

export class RemoteViews {
  readonly #views = new Map<string, RemoteView>();
  readonly #forget = new Map<string, NodeJS.Timeout>();
  readonly #toView: (record: SessionRecord) => SessionView;
  readonly #retainMs: number;
  #closed = false;

  /**
   * Follows the owners' changes on `bus` for every session not running here (`runsHere`), and tells
   * this node's listeners (`emit`) of each that moves a view forward. `toView`: a stored record as a
   * view; `retainMs`: how long an ended session is kept.
   */
  constructor(options: {
    bus: ClusterBus;
    runsHere: (sessionId: string) => boolean;
    emit: (sessionId: string, changes: SessionChange[], view: SessionView) => void;
    toView: (record: SessionRecord) => SessionView;
    retainMs: number;
  }) {
    this.#toView = options.toView;
    this.#retainMs = options.retainMs;
    options.bus.onMessage((message) => {
      if (this.#closed || options.runsHere(message.sessionId)) return;
      const view = this.apply(message);
      if (view) options.emit(message.sessionId, message.changes, view);
    });
  }

  /** The owner's change: its view when newer than what we know, undefined when it is not. */
  apply(message: SessionChangeMessage): SessionView | undefined {
    const known = this.#views.get(message.sessionId);
    if (known && (message.token < known.token || (message.token === known.token && message.seq <= known.seq))) return undefined;
    const view = this.#toView(message.record);
    this.#views.set(message.sessionId, { owner: message.from, token: message.token, seq: message.seq, view });
    if (view.phase === 'ended') this.#forgetLater(message.sessionId);
    return view;
  }

  /** A record read from the store: its view, unless the bus keeps a newer one. */
  stored(record: SessionRecord): SessionView {
    const known = this.#views.get(record.sessionId);
    if (known && known.readAt === undefined) return known.view;
    const view = this.#toView(record);
    this.#views.set(record.sessionId, { owner: null, token: 0, seq: 0, view, readAt: Date.now() });
    return view;
  }

  /** The view while it can be trusted without reading the store again. */
  fresh(sessionId: string): SessionView | undefined {
    const known = this.#views.get(sessionId);
    return known && (known.readAt === undefined || Date.now() - known.readAt < STORED_VIEW_MS) ? known.view : undefined;
  }

  /** The latest view, however old. */
  view(sessionId: string): SessionView | undefined {
    return this.#views.get(sessionId)?.view;
  }

  /** The node that runs the session, as its messages said. */
  owner(sessionId: string): string | null {
    return this.#views.get(sessionId)?.owner ?? null;
  }

  /** The session runs here now. */
  delete(sessionId: string): void {
    this.#views.delete(sessionId);
    clearTimeout(this.#forget.get(sessionId));
    this.#forget.delete(sessionId);
  }

  close(): void {
    this.#closed = true;
    for (const timer of this.#forget.values()) clearTimeout(timer);
    this.#forget.clear();
  }

  #forgetLater(sessionId: string): void {
    if (this.#forget.has(sessionId)) return;
    const timer = setTimeout(() => {
      this.#forget.delete(sessionId);
      this.#views.delete(sessionId);
    }, this.#retainMs);
    timer.unref();
    this.#forget.set(sessionId, timer);
  }
}
