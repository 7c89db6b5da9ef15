/**
 * Every live path on this node, by session: made when a publisher or a viewer comes, gone when both
 * have (here and, for a session this node runs, on the nodes relaying to it) or the session ended.
 * A session this node runs gets its own live path (live-stream.ts); any other open session gets one
 * relayed to the node that runs it (relayed-stream.ts), and what other nodes relay to this one's
 * arrives here (cluster/live-relay.ts). Follows the sessions: new stereo settings reach the converter,
 * an ended session ends its live path (viewers fall back, then close), and the session's actor hears
 * who publishes and watches.
 */
import type { LivePool } from '../../gpu-pool/live-pool.ts';
import { parseLiveFrame } from '../../protocol/live.ts';
import type { LiveInbound, LiveRelay } from '../adapters/ports.ts';
import type { Logger } from '../log.ts';
import type { SessionService } from '../sessions/index.ts';
import type { LivePath } from './live-path.ts';
import { LiveStream } from './live-stream.ts';
import { RelayedStream } from './relayed-stream.ts';

/** How often viewers hear the drop counts, relaying nodes renew their leases and expired ones are dropped. */
const TICK_MS = 2000;
/** Viewers coming and going within this long reach the session's actor (and the dashboard) as one change. */
const REPORT_MS = 100;

export interface LiveStreamsOptions {
  pool: LivePool;
  sessions: SessionService;
  relay: LiveRelay;
  outputHeight: number;
  /** Occlusion-aware warping (gpu-pool/stereo.ts; STEREO_OCCLUSION). */
  occlusion: boolean;
  log: Logger;
}

export class LiveStreams {
  readonly #opts: LiveStreamsOptions;
  readonly #streams = new Map<string, LivePath>();
  /** Sockets open on each session's live path: a stream they hold is never forgotten under them. */
  readonly #sockets = new Map<string, number>();
  /** Sessions whose live state changed and is about to be reported. */
  readonly #reports = new Map<string, NodeJS.Timeout>();
  readonly #unsubscribe: () => void;
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(options: LiveStreamsOptions) {
    this.#opts = options;
    this.#unsubscribe = options.sessions.subscribe((sessionId, changes, view) => {
      const stream = this.#streams.get(sessionId);
      if (!stream) return;
      if (stream instanceof LiveStream)
        for (const change of changes) if (change.kind === 'settings') stream.setSettings(change.settings, change.mode);
      if (view.phase === 'ended') {
        void stream.close('session_ended');
        this.#forget(sessionId);
      }
    });
    options.relay.onInbound((message) => void this.#inbound(message));
    this.#timer = setInterval(() => {
      for (const [sessionId, stream] of this.#streams) {
        stream.tick();
        this.release(sessionId);
      }
    }, TICK_MS);
    this.#timer.unref();
  }

  /**
   * The session's live path (made now if there is none): its own when its actor runs here, else one
   * relayed to the node that runs it; undefined when it is unknown, ended or runs nowhere.
   */
  async open(sessionId: string): Promise<LivePath | undefined> {
    const known = this.#streams.get(sessionId);
    if (known) return known;
    const { sessions } = this.#opts;
    const view = await sessions.find(sessionId);
    if (!view || view.phase === 'ended' || this.#closed) return undefined;
    const here = sessions.runsHere(sessionId);
    if (!here && !(await sessions.owner(sessionId))) return undefined;
    const again = this.#streams.get(sessionId);
    if (again) return again;
    const onChange = () => this.#report(sessionId);
    const { pool, relay, outputHeight, occlusion, log } = this.#opts;
    const { mode, settings } = view.context;
    const stream = here
      ? new LiveStream({ sessionId, pool, relay, mode, ...settings, outputHeight, occlusion, onChange })
      : new RelayedStream({ sessionId, relay, owner: () => sessions.owner(sessionId), log, onChange });
    this.#streams.set(sessionId, stream);
    return stream;
  }

  /**
   * A socket on the session's live path opened (ws/live-sockets.ts): the stream it got at its upgrade
   * stays while it is open (a publisher may take seconds to send its configuration). Returns the stream
   * to use — the one registered now, should this one have been let go in between.
   */
  attach(sessionId: string, stream: LivePath): LivePath {
    this.#sockets.set(sessionId, (this.#sockets.get(sessionId) ?? 0) + 1);
    const registered = this.#streams.get(sessionId);
    if (registered) return registered;
    if (!this.#closed) this.#streams.set(sessionId, stream);
    return stream;
  }

  /** That socket closed: the stream goes once no socket holds it and nobody publishes or watches. */
  detach(sessionId: string): void {
    const open = (this.#sockets.get(sessionId) ?? 1) - 1;
    if (open > 0) this.#sockets.set(sessionId, open);
    else this.#sockets.delete(sessionId);
    this.release(sessionId);
  }

  /** A stream no socket holds and nobody publishes to or watches (here or through other nodes) is forgotten. */
  release(sessionId: string): void {
    const stream = this.#streams.get(sessionId);
    if (stream && !this.#sockets.has(sessionId) && !stream.publishing && stream.viewers === 0) {
      void stream.close();
      this.#forget(sessionId);
      this.#opts.sessions.liveChanged(sessionId, { publishing: false, viewers: 0 });
    }
  }

  /** Converters running and viewers watching through this node, for /metrics. */
  counts(): { converters: number; viewers: number } {
    let viewers = 0;
    for (const stream of this.#streams.values()) viewers += stream.viewersHere;
    return { converters: this.#opts.pool.size, viewers };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#unsubscribe();
    clearInterval(this.#timer);
    await Promise.all([...this.#streams.values()].map((stream) => stream.close('session_ended')));
    for (const sessionId of [...this.#streams.keys()]) this.#forget(sessionId);
    await this.#opts.pool.close();
  }

  /** What another node relays to a session this node runs (anything else is not ours to take). */
  async #inbound(message: LiveInbound): Promise<void> {
    const { sessionId, from } = message;
    const stream = message.kind === 'media' ? this.#streams.get(sessionId) : await this.open(sessionId);
    if (!(stream instanceof LiveStream)) return;
    const source = `node:${from}`;
    switch (message.kind) {
      case 'publish':
        stream.configure(message.config, source);
        return;
      case 'media': {
        const check = parseLiveFrame(message.data);
        if (check.ok) stream.frame(check.frame, message.data);
        return;
      }
      case 'unpublish':
        stream.unpublished(source);
        return;
      case 'watch':
        stream.watch(from, message.viewers, message.keyframe);
        return;
    }
  }

  /** Tells the session's actor what its live path is, REPORT_MS after a change (later ones ride along). */
  #report(sessionId: string): void {
    if (this.#reports.has(sessionId)) return;
    const timer = setTimeout(() => {
      this.#reports.delete(sessionId);
      const stream = this.#streams.get(sessionId);
      if (stream) this.#opts.sessions.liveChanged(sessionId, { publishing: stream.publishing, viewers: stream.viewers });
    }, REPORT_MS);
    timer.unref();
    this.#reports.set(sessionId, timer);
  }

  #forget(sessionId: string): void {
    this.#streams.delete(sessionId);
    clearTimeout(this.#reports.get(sessionId));
    this.#reports.delete(sessionId);
  }
}
