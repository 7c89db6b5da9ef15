/**
 * Publishes each session's changes to its subscribers strictly in order. Building a batch's messages
 * may wait (segment URLs are signed asynchronously), so batches of one session are chained: a later
 * `ended` can never overtake the `playlist` before it. Sessions do not wait for each other.
 */
import { errorMessage, type Logger } from '../log.ts';

export class OrderedPublisher {
  readonly #chains = new Map<string, Promise<void>>();
  readonly #log: Logger;

  constructor(log: Logger) {
    this.#log = log;
  }

  /** Runs `task` after every task queued before it for the same session. */
  enqueue(sessionId: string, task: () => Promise<void>): void {
    const previous = this.#chains.get(sessionId) ?? Promise.resolve();
    const next = previous
      .then(task)
      .catch((error: unknown) =>
        this.#log.error('publishing session changes failed', { session_id: sessionId, error: errorMessage(error) }),
      )
      .finally(() => {
        // The last task of the chain removes it, so idle sessions hold nothing.
        if (this.#chains.get(sessionId) === next) this.#chains.delete(sessionId);
      });
    this.#chains.set(sessionId, next);
  }

  /** Resolves when everything queued so far has been published. */
  async idle(): Promise<void> {
    while (this.#chains.size > 0) await Promise.all(this.#chains.values());
  }
}
