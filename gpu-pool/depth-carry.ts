/**
 * Depth state carried from one chunk to the next without running the network again. A chunk's
 * conversion ends by recording the state its last frame was drawn with (the range's EMA and the
 * temporal filter's map), keyed by a hash of the chunk's bytes, and posting it to every worker of the
 * pool on a broadcast channel private to the pool. The next chunk of the session names that chunk as
 * its `previous`: when the state is here, the chunk goes on exactly where its predecessor stopped and
 * the warm-up — decoding the previous chunk and running the network on its last frames again — is
 * skipped. When it is not (the previous chunk is still being converted, or was converted by another
 * pool), the warm-up rebuilds an approximation of it from the previous chunk's bytes, as before.
 */
import { createHash } from 'node:crypto';
import { BroadcastChannel } from 'node:worker_threads';
import type { DepthState } from './types.ts';

/**
 * States kept per worker: one per live session is all that is ever looked up. A state with its
 * filter's map is ≈ 150–250 KB, so this is a few tens of MB at most.
 */
const CAPACITY = 64;
/** The largest map a carried state may hold (a 1024×1024 network output). */
const MAX_MAP = 1024 * 1024;

interface Entry {
  key: string;
  state: DepthState;
}

/** The key a chunk's carried state is filed under. */
export function chunkKey(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('base64url');
}

export class DepthCarry {
  readonly #channel: BroadcastChannel | null;
  /** Insertion-ordered: the oldest entry is the first to go. */
  readonly #states = new Map<string, DepthState>();

  /** `channelName`: the pool's channel (shared by its workers); null: this worker only. */
  constructor(channelName: string | null) {
    this.#channel = channelName ? new BroadcastChannel(channelName) : null;
    if (this.#channel) {
      this.#channel.unref();
      this.#channel.onmessage = (event) => {
        const entry = (event as { data: unknown }).data;
        if (isEntry(entry)) this.#keep(entry.key, entry.state);
      };
    }
  }

  /** The state carried out of the chunk with this key, if any worker of the pool has recorded it. */
  lookup(key: string): DepthState | null {
    return this.#states.get(key) ?? null;
  }

  /** Records the state a chunk hands on, here and in every other worker. */
  record(key: string, state: DepthState): void {
    this.#keep(key, state);
    this.#channel?.postMessage({ key, state } satisfies Entry);
  }

  close(): void {
    this.#channel?.close();
  }

  #keep(key: string, state: DepthState): void {
    this.#states.delete(key);
    this.#states.set(key, state);
    if (this.#states.size > CAPACITY) this.#states.delete(this.#states.keys().next().value!);
  }
}

/** Messages come from our own workers only, but are checked anyway: a bad one is dropped. */
function isEntry(value: unknown): value is Entry {
  if (typeof value !== 'object' || value === null) return false;
  const { key, state } = value as Partial<Entry>;
  if (
    !(
      typeof key === 'string' &&
      key.length <= 64 &&
      typeof state === 'object' &&
      state !== null &&
      Number.isFinite(state.min) &&
      Number.isFinite(state.max) &&
      Array.isArray(state.thumb) &&
      state.thumb.length <= 256
    )
  )
    return false;
  const filter = state.filter;
  if (filter === undefined) return true;
  const size = (w: unknown, h: unknown) =>
    Number.isInteger(w) && Number.isInteger(h) && (w as number) > 0 && (h as number) > 0 && (w as number) * (h as number) <= MAX_MAP;
  return (
    size(filter.width, filter.height) &&
    size(filter.lumaWidth, filter.lumaHeight) &&
    filter.map instanceof Float32Array &&
    filter.map.length === filter.width * filter.height &&
    filter.luma instanceof Uint8Array &&
    filter.luma.length === filter.lumaWidth * filter.lumaHeight
  );
}
