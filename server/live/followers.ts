/**
 * The other nodes watching a session's live path on its owner (cluster/live-relay.ts): each holds a lease
 * it renews while it has viewers, with their count. To the owner's live path they are one viewer — the
 * relay, sending each message once to every node that follows the session — joined with the first node
 * and gone with the last. Bounded: the relay holds at most MAX_IN_FLIGHT sends; past it frames are
 * skipped to the next keyframe, as for a slow socket.
 */
import type { LiveRelay } from '../adapters/ports.ts';
import type { LiveViewer } from './viewer-set.ts';

/** A node that has not renewed its lease for this long watches no more (it renews every LiveStreams tick, 2 s). */
export const FOLLOW_LEASE_MS = 7000;
const MAX_IN_FLIGHT = 64;

export class Followers {
  readonly #nodes = new Map<string, { viewers: number; until: number }>();
  #inFlight = 0;
  /** The viewer standing for every following node. */
  readonly viewer: LiveViewer;

  constructor(sessionId: string, relay: LiveRelay) {
    const sent = () => this.#inFlight--;
    this.viewer = {
      sendText: (message) => void relay.toFollowers({ kind: 'control', sessionId, message }),
      sendBinary: (data) => {
        if (this.#inFlight >= MAX_IN_FLIGHT) return false;
        this.#inFlight++;
        void relay.toFollowers({ kind: 'media', sessionId, data }).finally(sent);
        return true;
      },
    };
  }

  /** Nodes following. */
  get size(): number {
    return this.#nodes.size;
  }

  /** Their viewers, all told. */
  get viewers(): number {
    let viewers = 0;
    for (const node of this.#nodes.values()) viewers += node.viewers;
    return viewers;
  }

  /** Node `node` watches with `viewers` (0: it stopped); true when it is new. */
  watch(node: string, viewers: number, now = Date.now()): boolean {
    const known = this.#nodes.has(node);
    if (viewers === 0) this.#nodes.delete(node);
    else this.#nodes.set(node, { viewers, until: now + FOLLOW_LEASE_MS });
    return !known && viewers > 0;
  }

  /** Forgets nodes whose lease ran out (they died, or lost the bus); true when any was forgotten. */
  expire(now = Date.now()): boolean {
    let expired = false;
    for (const [node, lease] of this.#nodes) {
      if (lease.until > now) continue;
      this.#nodes.delete(node);
      expired = true;
    }
    return expired;
  }
}
