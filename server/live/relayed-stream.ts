/**
 * A session's live path on a node that does not run it: its sockets relayed to the owner's
 * (live-stream.ts) over the cluster (cluster/live-relay.ts). A publisher here sends its configuration
 * and frames on to the owner; viewers here are fed from the owner's stream, which this node follows
 * while it has any — one copy over the wire for all of them, each viewer starting at a keyframe and
 * skipping on its own (viewer-set.ts). This node renews its lease with the owner every tick, with its
 * viewer count (the owner counts them in the session's status) and a keyframe request when one joins.
 * The owner is looked up again every tick, so a session taken over by another node is followed there.
 */
import {
  KeyframeGate,
  type LiveConfigMessage,
  type LiveControlMessage,
  type LiveEndReason,
  type LiveFrame,
  LiveKind,
  parseLiveFrame,
} from '../../protocol/live.ts';
import type { LiveInbound, LiveOutbound, LiveRelay } from '../adapters/ports.ts';
import { errorMessage, type Logger } from '../log.ts';
import type { LivePath } from './live-path.ts';
import { type LiveViewer, ViewerSet } from './viewer-set.ts';

export interface RelayedStreamOptions {
  sessionId: string;
  relay: LiveRelay;
  /** The node running the session now (undefined: none known). */
  owner(): Promise<string | undefined>;
  log: Logger;
  /** Called when the publisher here comes or goes, or viewers here join or leave. */
  onChange?: () => void;
}

/** Media sends to the owner at once, at most. */
const MAX_IN_FLIGHT = 64;

type Distributive<T> = T extends unknown ? Omit<T, 'sessionId' | 'from'> : never;

export class RelayedStream implements LivePath {
  readonly #opts: RelayedStreamOptions;
  readonly #viewers = new ViewerSet();
  #owner: string | undefined;
  #publisher: unknown = null;
  /** The owner's stream state as last heard (its configuration, or why it does not run): told to each viewer joining. */
  #state: LiveControlMessage | null = null;
  /** Stops following the owner's stream; null while not following. */
  #unfollow: Promise<() => Promise<void>> | null = null;
  #closed = false;
  /** The publisher's media on their way to the owner, and whether video waits for a keyframe. */
  #inFlight = 0;
  readonly #gate = new KeyframeGate();

  constructor(options: RelayedStreamOptions) {
    this.#opts = options;
  }

  get publishing(): boolean {
    return this.#publisher !== null;
  }

  get viewers(): number {
    return this.#viewers.size;
  }

  get viewersHere(): number {
    return this.#viewers.size;
  }

  configure(config: LiveConfigMessage, source: unknown): boolean {
    const changed = this.#publisher === null;
    this.#publisher = source;
    if (changed) this.#opts.onChange?.();
    this.#gate.reset();
    void this.#locate().then(() => this.#send({ kind: 'publish', config }));
    return true;
  }

  frame(frame: LiveFrame, bytes: Uint8Array): void {
    if (this.#publisher === null || !this.#owner) return;
    // Bounded: past MAX_IN_FLIGHT sends the wire is behind, and video waits for the next keyframe.
    if (!this.#gate.pass(frame, this.#inFlight < MAX_IN_FLIGHT)) return;
    this.#inFlight++;
    void this.#send({ kind: 'media', data: bytes }).finally(() => this.#inFlight--);
  }

  unpublished(source: unknown): void {
    if (source !== this.#publisher) return;
    this.#publisher = null;
    this.#opts.onChange?.();
    void this.#send({ kind: 'unpublish' });
  }

  addViewer(viewer: LiveViewer): void {
    this.#viewers.add(viewer);
    this.#opts.onChange?.();
    if (this.#state) viewer.sendText(this.#state);
    this.#follow();
    void this.#locate().then(() => this.#watch(true));
  }

  removeViewer(viewer: LiveViewer): void {
    if (!this.#viewers.delete(viewer)) return;
    this.#opts.onChange?.();
    this.#watch(false);
    if (this.#viewers.size === 0) this.#stopFollowing();
  }

  tick(): void {
    if (this.#viewers.size === 0) return;
    void this.#locate().then(() => this.#watch(false));
  }

  async close(reason: LiveEndReason = 'session_ended'): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#viewers.sendText({ type: 'live_end', reason });
    if (this.#viewers.size > 0) {
      this.#viewers.clear();
      this.#watch(false);
    }
    await this.#stopFollowing();
  }

  /** The owner's stream, heard while viewers here watch it. */
  #follow(): void {
    if (this.#unfollow || this.#closed) return;
    this.#unfollow = this.#opts.relay.follow(this.#opts.sessionId, (message) => this.#heard(message));
    this.#unfollow.catch((error: unknown) => {
      this.#unfollow = null;
      this.#opts.log.warn('cannot follow a live path on another node', { session_id: this.#opts.sessionId, error: errorMessage(error) });
    });
  }

  async #stopFollowing(): Promise<void> {
    const unfollow = this.#unfollow;
    this.#unfollow = null;
    this.#state = null;
    if (unfollow) await (await unfollow.catch(() => async () => undefined))();
  }

  #heard(message: LiveOutbound): void {
    if (message.kind === 'media') {
      const check = parseLiveFrame(message.data);
      if (check.ok) this.#viewers.broadcast(message.data, check.frame.kind === LiveKind.Video, check.frame.key);
      return;
    }
    const text = message.message;
    if (text.type === 'live_stats') {
      this.#viewers.sendStats(text.received, text.dropped);
      return;
    }
    // The owner tells its state to every node when one starts following: the others know it already.
    if (JSON.stringify(text) === JSON.stringify(this.#state)) return;
    this.#state = text;
    this.#viewers.sendText(text);
  }

  /** This node's viewers to the owner (renewing its lease; 0 ends it). */
  #watch(keyframe: boolean): void {
    void this.#send({ kind: 'watch', viewers: this.#viewers.size, keyframe });
  }

  async #locate(): Promise<void> {
    this.#owner = await this.#opts.owner().catch(() => this.#owner);
  }

  #send(message: Distributive<LiveInbound>): Promise<boolean> {
    const owner = this.#owner;
    if (!owner) return Promise.resolve(false);
    return this.#opts.relay.toOwner(owner, { ...message, sessionId: this.#opts.sessionId, from: this.#opts.relay.nodeId } as LiveInbound);
  }
}
