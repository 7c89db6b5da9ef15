/**
 * Writes session records to the store without piling up writes: one write in flight per
 * session, and only the newest pending record is written next (older ones are superseded).
 */
import type { SessionRecord } from '../actors/types.ts';
import type { SessionStore } from './adapters/ports.ts';
import { errorMessage, type Logger } from './log.ts';

export class SessionPersister {
  readonly #store: SessionStore;
  readonly #log: Logger;
  readonly #pending = new Map<string, SessionRecord>();
  readonly #writing = new Map<string, Promise<void>>();
  failures = 0;

  constructor(store: SessionStore, log: Logger) {
    this.#store = store;
    this.#log = log;
  }

  /** Schedules `record` to be written; returns once it (or a newer record) is stored. */
  save(record: SessionRecord): Promise<void> {
    this.#pending.set(record.sessionId, record);
    return this.#kick(record.sessionId);
  }

  #kick(sessionId: string): Promise<void> {
    const running = this.#writing.get(sessionId);
    if (running) return running.then(() => this.#kick(sessionId));
    const record = this.#pending.get(sessionId);
    if (!record) return Promise.resolve();
    this.#pending.delete(sessionId);
    const write = this.#store
      .save(record)
      .catch((error: unknown) => {
        this.failures++;
        this.#log.error('session record write failed', { session_id: sessionId, error: errorMessage(error) });
      })
      .finally(() => this.#writing.delete(sessionId));
    this.#writing.set(sessionId, write);
    return write.then(() => this.#kick(sessionId));
  }

  /** Waits until every scheduled record is written. */
  async flush(): Promise<void> {
    while (this.#writing.size > 0 || this.#pending.size > 0) {
      await Promise.all([...new Set([...this.#writing.keys(), ...this.#pending.keys()])].map((id) => this.#kick(id)));
    }
  }
}
