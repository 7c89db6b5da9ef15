/**
 * Init segments (ftyp+moov) are stored once per session and content: their id is the first 16 hex
 * digits of their SHA-256, so every chunk of one format names the same `init_{id}.mp4`, writes are
 * idempotent whatever order chunks finish in, and a format change simply gets a new id.
 */
import { createHash } from 'node:crypto';
import { initKey } from '../protocol/keys.ts';
import type { ObjectStore } from './adapters/ports.ts';

/** How many stored init keys are remembered (beyond it, the store is asked again). */
const REMEMBERED = 10_000;

/** The content id of an init segment. */
export function initId(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex').slice(0, 16);
}

export class InitSegments {
  readonly #objects: ObjectStore;
  /** Keys known to be stored, so most chunks cost no extra request. */
  readonly #stored = new Set<string>();

  constructor(objects: ObjectStore) {
    this.#objects = objects;
  }

  /** Stores the session's init segment unless it is already there; returns its id. */
  async store(sessionId: string, bytes: Uint8Array): Promise<string> {
    const id = initId(bytes);
    const key = initKey(sessionId, id);
    if (this.#stored.has(key)) return id;
    if (!(await this.#objects.head(key))) await this.#objects.put(key, bytes, 'video/mp4');
    if (this.#stored.size >= REMEMBERED) this.#stored.clear();
    this.#stored.add(key);
    return id;
  }
}
