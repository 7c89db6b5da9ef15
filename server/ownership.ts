/**
 * The sessions this node runs, each under a lease (see SessionLeases): taken before a session's actor
 * starts, renewed every third of its lifetime, given up when the session has closed or the node shuts
 * down. A lease that cannot be renewed — this node was paused or cut off past its expiry and another
 * node took the session over — is reported as lost, and the node stops acting for that session; its
 * fenced record writes were already being refused.
 */
import type { Lease, SessionLeases } from './adapters/ports.ts';
import { errorMessage, type Logger } from './log.ts';

export interface OwnershipOptions {
  leases: SessionLeases;
  /** This node's name in the leases. */
  nodeId: string;
  ttlMs: number;
  log: Logger;
  /** The lease of `sessionId` is gone: stop its actor here. */
  onLost(sessionId: string): void;
}

export class Ownership {
  readonly #opts: OwnershipOptions;
  readonly #held = new Map<string, Lease>();
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  constructor(options: OwnershipOptions) {
    this.#opts = options;
    this.#timer = setInterval(() => void this.#renewAll(), Math.max(200, Math.floor(options.ttlMs / 3)));
    this.#timer.unref();
  }

  get nodeId(): string {
    return this.#opts.nodeId;
  }

  /** The fencing token of our lease on the session, if we hold one. */
  token(sessionId: string): number | undefined {
    return this.#held.get(sessionId)?.token;
  }

  /** Takes the session's lease; false when another node holds it. */
  async acquire(sessionId: string): Promise<boolean> {
    if (this.#closed) return false;
    const lease = await this.#opts.leases.acquire(sessionId, this.#opts.nodeId, this.#opts.ttlMs);
    if (!lease) return false;
    this.#held.set(sessionId, lease);
    return true;
  }

  /** Our writes for the session were refused or our renewal failed: forget it and stop acting. */
  lost(sessionId: string): void {
    if (!this.#held.delete(sessionId)) return;
    this.#opts.log.warn('session lease lost: another node runs this session now', { session_id: sessionId, node_id: this.#opts.nodeId });
    this.#opts.onLost(sessionId);
  }

  /** Gives the session's lease up (it closed): any node may serve it from its final record. */
  async release(sessionId: string): Promise<void> {
    const lease = this.#held.get(sessionId);
    if (!lease) return;
    this.#held.delete(sessionId);
    await this.#opts.leases.release(lease).catch((error: unknown) => {
      this.#opts.log.warn('lease release failed (it expires on its own)', { session_id: sessionId, error: errorMessage(error) });
    });
  }

  /** Stops renewing and gives every lease up, so other nodes take the sessions over at once. Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    await Promise.all([...this.#held.keys()].map((id) => this.release(id)));
  }

  async #renewAll(): Promise<void> {
    for (const [sessionId, lease] of [...this.#held]) {
      if (this.#closed) return;
      try {
        const renewed = await this.#opts.leases.renew(lease, this.#opts.ttlMs);
        if (renewed) {
          if (this.#held.get(sessionId)?.token === lease.token) this.#held.set(sessionId, renewed);
        } else this.lost(sessionId);
      } catch (error) {
        // The store is unreachable: keep the lease until it is refused (it may still be ours).
        this.#opts.log.warn('lease renewal failed', { session_id: sessionId, error: errorMessage(error) });
      }
    }
  }
}
