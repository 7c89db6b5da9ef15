/**
 * The local profile keeps nothing for ever: an ended session's chunks, segments and record are deleted
 * DATA_RETAIN_SECONDS after it ended (the AWS profile has the buckets' lifecycle rules and the table's
 * TTL for the same). A sweep runs every half retention period (between 1 s and 10 min); a live session
 * is never touched, whatever its age.
 */
import { INPUT_PREFIX, OUTPUT_PREFIX } from '../../../protocol/keys.ts';
import { errorMessage, type Logger } from '../../log.ts';
import type { FsObjectStore } from './object-store.ts';
import type { FsSessionStore } from './session-store.ts';

export class LocalRetention {
  readonly #retainMs: number;
  readonly #objects: FsObjectStore;
  readonly #sessions: FsSessionStore;
  readonly #log: Logger;
  readonly #timer: NodeJS.Timeout;
  #sweeping: Promise<number> | null = null;
  #closed = false;
  /** Sessions deleted since start (for /metrics). */
  removed = 0;

  constructor(retainSeconds: number, objects: FsObjectStore, sessions: FsSessionStore, log: Logger) {
    this.#retainMs = retainSeconds * 1000;
    this.#objects = objects;
    this.#sessions = sessions;
    this.#log = log;
    const every = Math.min(600_000, Math.max(1000, this.#retainMs / 2));
    this.#timer = setInterval(() => void this.sweep(), every);
    this.#timer.unref();
  }

  /** Deletes every session that ended more than the retention period before `now`; resolves with how many. */
  sweep(now = Date.now()): Promise<number> {
    if (this.#closed) return Promise.resolve(0);
    this.#sweeping ??= this.#sweep(now).finally(() => (this.#sweeping = null));
    return this.#sweeping;
  }

  async #sweep(now: number): Promise<number> {
    let count = 0;
    try {
      for (const record of await this.#sessions.list()) {
        if (this.#closed) break;
        if (!record.closed || record.endedAt === null || now - record.endedAt <= this.#retainMs) continue;
        const id = record.sessionId;
        // Media first, the record last: a sweep cut short leaves a record to find again next time.
        await this.#objects.removeFolder(`${INPUT_PREFIX}${id}/`);
        await this.#objects.removeFolder(`${OUTPUT_PREFIX}${id}/`);
        await this.#sessions.remove(id);
        count++;
      }
    } catch (error) {
      this.#log.warn('retention sweep failed (next sweep retries)', { error: errorMessage(error) });
    }
    this.removed += count;
    if (count > 0) this.#log.info('ended sessions deleted after their retention period', { count, retain_seconds: this.#retainMs / 1000 });
    return count;
  }

  /** Stops sweeping; waits for a sweep in progress. */
  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    await this.#sweeping;
  }
}
