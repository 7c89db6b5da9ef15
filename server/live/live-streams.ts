/**
 * Every live path on this node, by session: made when a publisher or a viewer comes, gone when both
 * have and the session ended. Follows the sessions: new stereo settings reach the converter, an ended
 * session ends its live path (viewers fall back, then close).
 */
import type { LivePool } from '../../gpu-pool/live-pool.ts';
import type { SessionService } from '../sessions/index.ts';
import { LiveStream } from './live-stream.ts';

/** How often viewers hear the drop counts. */
const STATS_MS = 2000;
/** Viewers coming and going within this long reach the session's actor (and the dashboard) as one change. */
const REPORT_MS = 100;

export class LiveStreams {
  readonly #pool: LivePool;
  readonly #sessions: SessionService;
  readonly #outputHeight: number;
  readonly #streams = new Map<string, LiveStream>();
  /** Sessions whose live state changed and is about to be reported. */
  readonly #reports = new Map<string, NodeJS.Timeout>();
  readonly #unsubscribe: () => void;
  readonly #timer: NodeJS.Timeout;

  constructor(pool: LivePool, sessions: SessionService, outputHeight: number) {
    this.#pool = pool;
    this.#sessions = sessions;
    this.#outputHeight = outputHeight;
    this.#unsubscribe = sessions.subscribe((sessionId, changes, view) => {
      const stream = this.#streams.get(sessionId);
      if (!stream) return;
      for (const change of changes) if (change.kind === 'settings') stream.setSettings(change.settings);
      if (view.phase === 'ended') {
        void stream.close('session_ended');
        this.#forget(sessionId);
      }
    });
    this.#timer = setInterval(() => {
      for (const stream of this.#streams.values()) stream.sendStats();
    }, STATS_MS);
    this.#timer.unref();
  }

  /** The session's live path (made now if there is none); undefined unless its actor runs here and it is open. */
  async open(sessionId: string): Promise<LiveStream | undefined> {
    const known = this.#streams.get(sessionId);
    if (known) return known;
    const view = await this.#sessions.find(sessionId);
    if (!view || view.phase === 'ended' || !this.#sessions.runsHere(sessionId)) return undefined;
    const again = this.#streams.get(sessionId);
    if (again) return again;
    const { mode, settings } = view.context;
    const stream = new LiveStream({
      pool: this.#pool,
      mode,
      ...settings,
      outputHeight: this.#outputHeight,
      onChange: () => this.#report(sessionId),
    });
    this.#streams.set(sessionId, stream);
    return stream;
  }

  /** A stream nobody publishes to or watches any more is forgotten. */
  release(sessionId: string): void {
    const stream = this.#streams.get(sessionId);
    if (stream && !stream.publishing && stream.viewers === 0) {
      void stream.close();
      this.#forget(sessionId);
      this.#sessions.liveChanged(sessionId, { publishing: false, viewers: 0 });
    }
  }

  /** Tells the session's actor what its live path is, REPORT_MS after a change (later ones ride along). */
  #report(sessionId: string): void {
    if (this.#reports.has(sessionId)) return;
    const timer = setTimeout(() => {
      this.#reports.delete(sessionId);
      const stream = this.#streams.get(sessionId);
      if (stream) this.#sessions.liveChanged(sessionId, { publishing: stream.publishing, viewers: stream.viewers });
    }, REPORT_MS);
    timer.unref();
    this.#reports.set(sessionId, timer);
  }

  #forget(sessionId: string): void {
    this.#streams.delete(sessionId);
    clearTimeout(this.#reports.get(sessionId));
    this.#reports.delete(sessionId);
  }

  /** Converters running and viewers watching, for /metrics. */
  counts(): { converters: number; viewers: number } {
    let viewers = 0;
    for (const stream of this.#streams.values()) viewers += stream.viewers;
    return { converters: this.#pool.size, viewers };
  }

  async close(): Promise<void> {
    this.#unsubscribe();
    clearInterval(this.#timer);
    await Promise.all([...this.#streams.values()].map((stream) => stream.close('session_ended')));
    for (const sessionId of [...this.#streams.keys()]) this.#forget(sessionId);
    await this.#pool.close();
  }
}
