/**
 * The cross-node channel: the owner of a session publishes each of its changes (with the record as it
 * now is), and every other node takes them in, so every node answers for every session with the
 * owner's truth — its sockets, its dashboards, its blocking playlist reloads. Redis pub/sub
 * (`REDIS_URL`); without it a node runs alone and there is no bus.
 */
import { Redis } from 'ioredis';
import type { SessionChange } from '../../actors/index.ts';
import type { SessionRecord } from '../../actors/types.ts';
import { errorMessage, type Logger } from '../log.ts';

/** One session change as the owner saw it. Ordered per session by (token, seq). */
export interface SessionChangeMessage {
  /** The publishing node. */
  from: string;
  sessionId: string;
  /** The owner's lease token: a takeover's messages sort after the old owner's. */
  token: number;
  /** Per session and owner, +1 per message. */
  seq: number;
  changes: SessionChange[];
  record: SessionRecord;
}

export interface ClusterBus {
  publish(message: SessionChangeMessage): void;
  /** Messages from other nodes (our own are not delivered back). */
  onMessage(handler: (message: SessionChangeMessage) => void): void;
  close(): Promise<void>;
}

const CHANNEL = 'stereospot:sessions';

export class RedisBus implements ClusterBus {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #nodeId: string;
  readonly #log: Logger;
  readonly #handlers: Array<(message: SessionChangeMessage) => void> = [];
  #closed = false;

  private constructor(pub: Redis, sub: Redis, nodeId: string, log: Logger) {
    this.#pub = pub;
    this.#sub = sub;
    this.#nodeId = nodeId;
    this.#log = log;
    sub.on('message', (_channel: string, text: string) => this.#deliver(text));
    for (const client of [pub, sub]) client.on('error', (error: Error) => this.#log.warn('redis error', { error: errorMessage(error) }));
  }

  /** Connects both clients (publishing and subscribed) and subscribes; rejects when Redis cannot be reached. */
  static async connect(url: string, nodeId: string, log: Logger): Promise<RedisBus> {
    const options = { lazyConnect: true, maxRetriesPerRequest: 2, connectionName: `stereospot-${nodeId}` };
    const pub = new Redis(url, options);
    const sub = new Redis(url, options);
    try {
      await Promise.all([pub.connect(), sub.connect()]);
      await sub.subscribe(CHANNEL);
    } catch (error) {
      pub.disconnect();
      sub.disconnect();
      throw new Error(`cannot reach Redis at ${url}: ${errorMessage(error)}`);
    }
    return new RedisBus(pub, sub, nodeId, log);
  }

  publish(message: SessionChangeMessage): void {
    if (this.#closed) return;
    this.#pub.publish(CHANNEL, JSON.stringify(message)).catch((error: unknown) => {
      this.#log.warn('bus publish failed (other nodes catch up from the store)', { session_id: message.sessionId, error: errorMessage(error) });
    });
  }

  onMessage(handler: (message: SessionChangeMessage) => void): void {
    this.#handlers.push(handler);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.allSettled([this.#sub.quit(), this.#pub.quit()]);
  }

  #deliver(text: string): void {
    let message: SessionChangeMessage;
    try {
      message = JSON.parse(text) as SessionChangeMessage;
    } catch {
      this.#log.warn('bus message is not JSON: ignored');
      return;
    }
    if (message.from === this.#nodeId) return;
    for (const handler of this.#handlers) handler(message);
  }
}
