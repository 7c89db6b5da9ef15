/**
 * Commands from node to node: each node listens on a channel of its own; a request carries an id and
 * the sender, and the answer comes back on the sender's channel with the same id. A request that reaches
 * nobody, or gets no answer within its time, rejects; closing rejects every request still waiting (nothing hangs past
 * shutdown). The command handler runs isolated: one that throws answers `ok: false` with its message.
 */
import type { CommandReply, SessionCommand } from '../adapters/ports.ts';
import { errorMessage, type Logger } from '../log.ts';
import { type NodeMessage, parseNodeMessage } from './messages.ts';
import type { ClusterTransport } from './transport.ts';

/** The channel a node takes its commands and replies on. */
export const nodeChannel = (nodeId: string): string => `stereospot:node:${nodeId}`;

type Pending = { resolve: (reply: CommandReply) => void; reject: (error: Error) => void; timer: NodeJS.Timeout };

export class RequestReply {
  readonly #transport: ClusterTransport;
  readonly #nodeId: string;
  readonly #log: Logger;
  readonly #pending = new Map<string, Pending>();
  #handler: ((command: SessionCommand) => Promise<CommandReply>) | null = null;
  #nextId = 0;
  #closed = false;

  constructor(transport: ClusterTransport, nodeId: string, log: Logger) {
    this.#transport = transport;
    this.#nodeId = nodeId;
    this.#log = log;
  }

  /** Starts taking commands and replies on this node's channel. */
  start(): Promise<void> {
    return this.#transport.listen(nodeChannel(this.#nodeId), parseNodeMessage, (message) => this.#receive(message));
  }

  /** How many requests wait for an answer. */
  get pending(): number {
    return this.#pending.size;
  }

  request(to: string, command: SessionCommand, timeoutMs: number): Promise<CommandReply> {
    if (this.#closed) return Promise.reject(new Error('the bus is closed'));
    const id = `${this.#nodeId}:${++this.#nextId}`;
    return new Promise<CommandReply>((resolve, reject) => {
      const timer = setTimeout(() => this.#settle(id, new Error(`node ${to} did not answer within ${timeoutMs} ms`)), timeoutMs);
      this.#pending.set(id, { resolve, reject, timer });
      const message: NodeMessage = { kind: 'command', id, from: this.#nodeId, command };
      this.#transport.send(nodeChannel(to), message).then(
        (reached) => {
          if (reached === 0) this.#settle(id, new Error(`node ${to} is not listening`));
        },
        (error: unknown) => this.#settle(id, error instanceof Error ? error : new Error(String(error))),
      );
    });
  }

  onCommand(handler: (command: SessionCommand) => Promise<CommandReply>): void {
    this.#handler = handler;
  }

  /** Rejects every request still waiting. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const id of [...this.#pending.keys()]) this.#settle(id, new Error('the bus closed before the answer came'));
  }

  #settle(id: string, outcome: CommandReply | Error): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (outcome instanceof Error) pending.reject(outcome);
    else pending.resolve(outcome);
  }

  #receive(message: NodeMessage): void {
    if (message.kind === 'reply') {
      this.#settle(message.id, message.reply);
      return;
    }
    const answer = (reply: CommandReply) => {
      const out: NodeMessage = { kind: 'reply', id: message.id, reply };
      this.#transport
        .send(nodeChannel(message.from), out)
        .catch((error: unknown) => this.#log.warn('could not answer a command', { to: message.from, error: errorMessage(error) }));
    };
    const handler = this.#handler;
    if (!handler || this.#closed) {
      answer({ ok: false, error: 'this node takes no commands' });
      return;
    }
    let running: Promise<CommandReply>;
    try {
      running = handler(message.command);
    } catch (error) {
      running = Promise.reject(error);
    }
    running.then(answer, (error: unknown) => answer({ ok: false, error: errorMessage(error).slice(0, 500) }));
  }
}
