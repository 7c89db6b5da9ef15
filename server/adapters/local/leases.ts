/**
 * The local profile's leases: one process owns its data folder, so they live in memory, with the same
 * rules as the shared store's (free, expired or ours; the token grows on every acquisition). The file
 * session store asks `isCurrent` before a fenced save, so the local profile fences exactly as AWS does.
 */
import type { Lease, SessionLeases } from '../ports.ts';

export class MemoryLeases implements SessionLeases {
  readonly shared = false;
  readonly #leases = new Map<string, Lease>();
  readonly #now: () => number;

  constructor(now: () => number = Date.now) {
    this.#now = now;
  }

  async acquire(sessionId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    const now = this.#now();
    const held = this.#leases.get(sessionId);
    if (held && held.owner !== owner && held.expiresAt >= now) return null;
    const lease = { sessionId, owner, token: (held?.token ?? 0) + 1, expiresAt: now + ttlMs };
    this.#leases.set(sessionId, lease);
    return lease;
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease | null> {
    if (!this.isCurrent(lease.sessionId, lease.token) || this.#leases.get(lease.sessionId)!.owner !== lease.owner) return null;
    const renewed = { ...lease, expiresAt: this.#now() + ttlMs };
    this.#leases.set(lease.sessionId, renewed);
    return renewed;
  }

  async release(lease: Lease): Promise<void> {
    const held = this.#leases.get(lease.sessionId);
    if (held?.token === lease.token && held.owner === lease.owner) this.#leases.set(lease.sessionId, { ...held, expiresAt: 0 });
  }

  async holder(sessionId: string): Promise<string | null> {
    const held = this.#leases.get(sessionId);
    return held && held.expiresAt >= this.#now() ? held.owner : null;
  }

  /** True while `token` is the session's newest lease (no lease yet counts as current: nothing to fence). */
  isCurrent(sessionId: string, token: number): boolean {
    const held = this.#leases.get(sessionId);
    return held === undefined || held.token === token;
  }
}
