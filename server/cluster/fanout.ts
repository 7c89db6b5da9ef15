/**
 * Change fan-out: the owner of a session publishes each of its changes (with the record as it now
 * is) on one channel, and every other node takes them in — so every node answers for every session
 * with the owner's truth. A node's own messages are not handed back; each handler runs isolated.
 */
import type { SessionChangeMessage } from '../adapters/ports.ts';
import { errorMessage, type Logger } from '../log.ts';
import { parseChangeMessage } from './messages.ts';
import type { ClusterTransport } from './transport.ts';

/** The channel every node publishes its sessions' changes on. */
export const CHANGES_CHANNEL = 'stereospot:sessions';

export class ChangeFanout {
  readonly #transport: ClusterTransport;
  readonly #nodeId: string;
  readonly #log: Logger;
  readonly #handlers: Array<(message: SessionChangeMessage) => void> = [];

  constructor(transport: ClusterTransport, nodeId: string, log: Logger) {
    this.#transport = transport;
    this.#nodeId = nodeId;
    this.#log = log;
  }

  /** Starts taking other nodes' changes in. */
  start(): Promise<void> {
    return this.#transport.listen(CHANGES_CHANNEL, parseChangeMessage, (message) => this.#deliver(message));
  }

  /** Sends a change; a failure is logged (other nodes catch up from the store). */
  publish(message: SessionChangeMessage): void {
    this.#transport.send(CHANGES_CHANNEL, message).catch((error: unknown) => {
      this.#log.warn('bus publish failed (other nodes catch up from the store)', {
        session_id: message.sessionId,
        error: errorMessage(error),
      });
    });
  }

  onMessage(handler: (message: SessionChangeMessage) => void): void {
    this.#handlers.push(handler);
  }

  #deliver(message: SessionChangeMessage): void {
    if (message.from === this.#nodeId) return;
    for (const handler of this.#handlers) {
      try {
        handler(message);
      } catch (error) {
        this.#log.error('bus message handler failed', { session_id: message.sessionId, error: errorMessage(error) });
      }
    }
  }
}
