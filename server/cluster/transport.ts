/**
 * What the cluster's protocols (fanout.ts, request-reply.ts, bus.ts's presence) need of the wire:
 * channels that deliver to the other nodes, and keys that expire. Two implement it — Redis for several
 * nodes (redis-transport.ts) and memory for a node alone or nodes in one process (memory-transport.ts) —
 * so the protocols, and the session service above them, never ask which.
 *
 * A transport never trusts what arrives: every payload is parsed with the listener's own parser before
 * it is handed on; what fails is dropped and counted (`refused`, by reason), and logged at most once a
 * minute per reason.
 */
import { errorMessage, type Logger } from '../log.ts';
import type { Parsed } from './messages.ts';

export interface ClusterTransport {
  /** Whether messages can flow right now (false while Redis reconnects). */
  readonly connected: boolean;
  /** Refused payloads by reason (a bad seal, a stale one, one that is not what it claims: `invalid`). */
  readonly refused: ReadonlyMap<string, number>;
  /**
   * Delivers `payload` to the listeners of `channel` on the other nodes; resolves with how many
   * listeners it reached (0: nobody listens — a request to that node can fail at once). Whether the
   * sender's own listeners hear it too is the transport's business (Redis: they do, and count), so
   * protocols tell by sender.
   */
  send(channel: string, payload: unknown): Promise<number>;
  /** Listens on `channel`: payloads that `parse` accepts go to `handler`, the rest are refused. */
  listen<T>(channel: string, parse: (payload: unknown) => Parsed<T>, handler: (value: T) => void): Promise<void>;
  /** Stops listening on `channel` (this node's listener); nothing more arrives from it. */
  unlisten(channel: string): Promise<void>;
  /** Stores `payload` under `key` for `ttlMs`. */
  put(key: string, payload: unknown, ttlMs: number): Promise<void>;
  /** Every unexpired value under a key starting with `prefix`, parsed with the rest of its key. */
  scan<T>(prefix: string, parse: (payload: unknown, rest: string) => Parsed<T>): Promise<T[]>;
  delete(key: string): Promise<void>;
  /** Stops listening and disconnects; sends after it are dropped. */
  close(): Promise<void>;
}

/** Counts refused payloads by reason and logs each reason at most once a minute. */
export class Refusals {
  readonly counts = new Map<string, number>();
  readonly #lastWarned = new Map<string, number>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  add(where: string, reason: string, problem?: string): void {
    const count = (this.counts.get(reason) ?? 0) + 1;
    this.counts.set(reason, count);
    const now = Date.now();
    if (now - (this.#lastWarned.get(reason) ?? 0) <= 60_000) return;
    this.#lastWarned.set(reason, now);
    this.#log.warn('bus message refused', { where, reason, problem: problem?.slice(0, 200), refused: count });
  }
}

/** Runs `handler(value)`; an error is logged, never thrown into the transport (one bad handler stops nothing). */
export function isolated<T>(log: Logger, what: string, handler: (value: T) => void): (value: T) => void {
  return (value) => {
    try {
      handler(value);
    } catch (error) {
      log.error(`${what} handler failed`, { error: errorMessage(error) });
    }
  };
}
