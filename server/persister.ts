/**
 * Writes session records to the store without piling up writes: one write in flight per
 * session, and only the newest pending record is written next (older ones are superseded).
 */
import type { SessionRecord } from '../actors/types.ts';
import { LeaseLostError, type SessionStore } from './adapters/ports.ts';
import { errorMessage, type Logger } from './log.ts';

export class SessionPersister {
  readonly #store: SessionStore;
  readonly #log: Logger;
  readonly #onLeaseLost: (sessionId: string) => void;
  readonly #pending = new Map<string, { record: SessionRecord; fence: number | undefined }>();
  readonly #writing = new Map<string, Promise<void>>();
  failures = 0;

  /** `onLeaseLost`: a fenced write was refused — another node owns the session now. */
  constructor(store: SessionStore, log: Logger, onLeaseLost: (sessionId: string) => void = () => {}) {
    this.#store = store;
    this.#log = log;
    this.#onLeaseLost = onLeaseLost;
  }

  /**
   * Schedules `record` to be written (fenced with `fence`, the writer's lease token, when given);
   * returns once it (or a newer record) is stored or refused.
   */
  save(record: SessionRecord, fence?: number): Promise<void> {
    this.#pending.set(record.sessionId, { record, fence });
    return this.#kick(record.sessionId);
  }

  /** Drops what is waiting to be written for a session this node no longer runs. */
  forget(sessionId: string): void {
    this.#pending.delete(sessionId);
  }

  #kick(sessionId: string): Promise<void> {
    const running = this.#writing.get(sessionId);
    if (running) return running.then(() => this.#kick(sessionId));
    const pending = this.#pending.get(sessionId);
    if (!pending) return Promise.resolve();
    this.#pending.delete(sessionId);
    const write = this.#store
      .save(pending.record, pending.fence)
      .catch((error: unknown) => {
        if (error instanceof LeaseLostError) {
          this.#pending.delete(sessionId);
          this.#onLeaseLost(sessionId);
          return;
        }
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
