/**
 * Admission: how much any one client, and everyone together, may hold at once — live sessions per
 * client address and in all, chunk uploads in progress per session and in all. A request past a cap
 * is refused at once with a clear error (429 for one client's share, 503 for the server's, each with
 * Retry-After) and counted in `/metrics` (`stereospot_requests_refused_total{reason}`); nothing queues.
 *
 * Counts are this node's: a client's sessions are those created through this node, released when they
 * end (wherever they ran). Behind a load balancer, TRUST_PROXY makes the client address the one the
 * proxy appended to X-Forwarded-For.
 */
import type { Counter } from 'prom-client';
import { HttpError } from './http/errors.ts';
import type { Metrics } from './metrics.ts';

export interface AdmissionLimits {
  /** Live sessions one client address may have created through this node. */
  sessionsPerClient: number;
  /** Live sessions this node admits in all. */
  sessionsTotal: number;
  /** Chunk uploads in progress for one session. */
  uploadsPerSession: number;
  /** Chunk uploads in progress on this node in all. */
  uploadsTotal: number;
}

export type RefusalReason = 'sessions_per_client' | 'sessions_total' | 'uploads_per_session' | 'uploads_total';

/** Retry-After (s) a refusal suggests: uploads finish in seconds, sessions last minutes. */
const RETRY_UPLOAD_S = 1;
const RETRY_SESSION_S = 30;

export class Admission {
  readonly #limits: AdmissionLimits;
  readonly #refused: Counter<'reason'> | null;
  /** Live sessions by the client address that created them. */
  readonly #byClient = new Map<string, Set<string>>();
  readonly #clientOf = new Map<string, string>();
  /** Creates under way (admitted, not yet created) by client address, and in all. */
  readonly #pending = new Map<string, number>();
  #pendingTotal = 0;
  readonly #uploads = new Map<string, number>();
  #uploadsTotal = 0;

  constructor(limits: AdmissionLimits, metrics?: Metrics) {
    for (const [key, value] of Object.entries(limits)) {
      if (!Number.isInteger(value) || value < 1) throw new TypeError(`limits.${key} must be a positive integer`);
    }
    this.#limits = limits;
    this.#refused =
      metrics?.counter('stereospot_requests_refused_total', 'Requests refused at a cap (admission.ts), by which cap', ['reason']) ?? null;
  }

  #refuse(reason: RefusalReason, status: 429 | 503, message: string, retryAfter: number): never {
    this.#refused?.inc({ reason });
    throw new HttpError(
      status,
      reason === 'uploads_per_session' || reason === 'uploads_total' ? 'too_many_uploads' : 'too_many_sessions',
      message,
      undefined,
      retryAfter,
    );
  }

  /**
   * Admits one create for `client` now (`live`: this node's live sessions), or throws. The place is held
   * from this moment — creates in flight count, so a burst cannot all pass before the first is made —
   * until the returned ticket is `created` (counted then until the session ends) or `dropped` (the
   * create failed). Each ticket is settled once.
   */
  admitCreate(client: string, live: number): { created(sessionId: string): void; dropped(): void } {
    const pending = this.#pending.get(client) ?? 0;
    const own = (this.#byClient.get(client)?.size ?? 0) + pending;
    if (own >= this.#limits.sessionsPerClient) {
      this.#refuse(
        'sessions_per_client',
        429,
        `this address has ${own} live sessions, the most one client may have (MAX_SESSIONS_PER_CLIENT); end one first`,
        RETRY_SESSION_S,
      );
    }
    if (live + this.#pendingTotal >= this.#limits.sessionsTotal) {
      this.#refuse(
        'sessions_total',
        503,
        `this server runs ${live + this.#pendingTotal} live sessions, its limit (MAX_LIVE_SESSIONS); retry later`,
        RETRY_SESSION_S,
      );
    }
    this.#pending.set(client, pending + 1);
    this.#pendingTotal++;
    let settled = false;
    const settle = () => {
      if (settled) return false;
      settled = true;
      this.#pendingTotal--;
      const left = (this.#pending.get(client) ?? 1) - 1;
      if (left === 0) this.#pending.delete(client);
      else this.#pending.set(client, left);
      return true;
    };
    return {
      created: (sessionId) => {
        if (!settle()) return;
        let mine = this.#byClient.get(client);
        if (!mine) this.#byClient.set(client, (mine = new Set()));
        mine.add(sessionId);
        this.#clientOf.set(sessionId, client);
      },
      dropped: () => void settle(),
    };
  }

  /** A session ended: its client's share is free again (unknown ids are ignored). */
  ended(sessionId: string): void {
    const client = this.#clientOf.get(sessionId);
    if (client === undefined) return;
    this.#clientOf.delete(sessionId);
    const own = this.#byClient.get(client);
    own?.delete(sessionId);
    if (own?.size === 0) this.#byClient.delete(client);
  }

  /** Takes an upload slot for `sessionId`, or throws; the returned function gives it back (once). */
  upload(sessionId: string): () => void {
    const own = this.#uploads.get(sessionId) ?? 0;
    if (own >= this.#limits.uploadsPerSession) {
      this.#refuse(
        'uploads_per_session',
        429,
        `this session already has ${own} uploads in progress (MAX_UPLOADS_PER_SESSION); retry when one finishes`,
        RETRY_UPLOAD_S,
      );
    }
    if (this.#uploadsTotal >= this.#limits.uploadsTotal) {
      this.#refuse(
        'uploads_total',
        503,
        `this server has ${this.#uploadsTotal} uploads in progress, its limit (MAX_UPLOADS); retry shortly`,
        RETRY_UPLOAD_S,
      );
    }
    this.#uploads.set(sessionId, own + 1);
    this.#uploadsTotal++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#uploadsTotal--;
      const left = (this.#uploads.get(sessionId) ?? 1) - 1;
      if (left === 0) this.#uploads.delete(sessionId);
      else this.#uploads.set(sessionId, left);
    };
  }

  /** Uploads in progress now (for tests and /metrics). */
  get uploadsInProgress(): number {
    return this.#uploadsTotal;
  }
}

/** The client's address: the socket's peer, or behind a trusted proxy the last X-Forwarded-For entry. */
export function clientAddress(peer: string, forwardedFor: string | undefined, trustProxy: boolean): string {
  if (!trustProxy || !forwardedFor) return peer;
  const last = forwardedFor.split(',').at(-1)?.trim();
  return last && last.length <= 64 ? last : peer;
}
