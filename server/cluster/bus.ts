/**
 * The cross-node channel: the owner of a session publishes each of its changes (with the record as it
 * now is), and every other node takes them in, so every node answers for every session with the
 * owner's truth — its sockets, its dashboards, its blocking playlist reloads. Also: commands from node
 * to node (request/reply on a channel per node), and presence (a key per node, expiring unless the node
 * renews it, holding its load). Redis (`REDIS_URL`); without it a node runs alone and there is no bus.
 *
 * Nothing from Redis is trusted: every message and presence value is sealed with the nodes' shared key
 * (seal.ts) and checked against its type (messages.ts) before any handler sees it; what fails is
 * dropped, counted and logged (at most once a minute per reason).
 */
import { Redis } from 'ioredis';
import type { SessionChange } from '../../actors/index.ts';
import type { SessionRecord, StereoMode, StereoSettings } from '../../actors/types.ts';
import { errorMessage, type Logger } from '../log.ts';
import { changeMessageProblem, commandProblem, NODE_ID, nodeLoadProblem, replyProblem } from './messages.ts';
import type { BusSeal } from './seal.ts';

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

/** What a node asks a session's owner to do for it (a command that reached the wrong node), or asks the least-loaded node to run (create). */
export type SessionCommand =
  | { type: 'create'; mode: StereoMode; settings: StereoSettings }
  | { type: 'chunk'; sessionId: string; index: number; bytes: number }
  | { type: 'end'; sessionId: string; expectedChunks: number | null }
  | { type: 'settings'; sessionId: string; settings: { strength?: number; convergence?: number } }
  | { type: 'rotate'; sessionId: string };

/** The owner's answer: `ok` false when it does not run the session (any more). */
export interface CommandReply {
  ok: boolean;
  error?: string;
  /** `create`: the new session's id. */
  sessionId?: string;
  /** `rotate`: the session's new control generation. */
  generation?: number;
}

/** What a node announces about itself (presence): alive, and how loaded. */
export interface NodeLoad {
  nodeId: string;
  /** Pool worker threads: how many chunks it converts at once. */
  workers: number;
  /** Open sessions it runs. */
  sessions: number;
}

export interface ClusterBus {
  publish(message: SessionChangeMessage): void;
  /** Messages from other nodes (our own are not delivered back). */
  onMessage(handler: (message: SessionChangeMessage) => void): void;
  /** Sends a command to node `to`; rejects when no reply comes within `timeoutMs`. */
  request(to: string, command: SessionCommand, timeoutMs: number): Promise<CommandReply>;
  /** Commands other nodes send to this one. */
  onCommand(handler: (command: SessionCommand) => Promise<CommandReply>): void;
  /** Announces this node alive with its load, for `ttlMs` (renewed by announcing again). */
  announce(load: NodeLoad, ttlMs: number): Promise<void>;
  /** Every node whose announcement has not expired, this one included. */
  nodes(): Promise<NodeLoad[]>;
  /** Whether the bus reaches Redis right now (false while it reconnects: other nodes' changes and commands do not arrive). */
  readonly connected: boolean;
  /** Withdraws this node's announcement (it is shutting down), then disconnects. */
  close(): Promise<void>;
}

const CHANNEL = 'stereospot:sessions';
const nodeChannel = (nodeId: string) => `stereospot:node:${nodeId}`;
/** Presence: one key per node, expiring on its own when the node stops announcing (dies). */
const PRESENCE_PREFIX = 'stereospot:presence:';

type NodeMessage =
  | { kind: 'command'; id: string; from: string; command: SessionCommand }
  | { kind: 'reply'; id: string; reply: CommandReply };

/** A node-to-node message: a command from a node (checked whole) or the reply to one of ours. */
function nodeMessageProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'message must be an object';
  const m = value as Record<string, unknown>;
  if (typeof m.id !== 'string' || m.id.length > 200) return 'id must be a string of at most 200 characters';
  if (m.kind === 'reply') return replyProblem(m.reply);
  if (m.kind !== 'command') return 'kind must be command or reply';
  if (typeof m.from !== 'string' || !NODE_ID.test(m.from)) return 'from must be a node id';
  return commandProblem(m.command);
}

export class RedisBus implements ClusterBus {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #nodeId: string;
  readonly #log: Logger;
  readonly #seal: BusSeal;
  /** Messages dropped, by reason (a bad seal, a stale one, a payload that is not what it claims). */
  readonly refused = new Map<string, number>();
  readonly #lastWarned = new Map<string, number>();
  readonly #handlers: Array<(message: SessionChangeMessage) => void> = [];
  readonly #waiting = new Map<string, (reply: CommandReply) => void>();
  #commandHandler: ((command: SessionCommand) => Promise<CommandReply>) | null = null;
  #nextId = 0;
  #closed = false;

  private constructor(pub: Redis, sub: Redis, nodeId: string, log: Logger, seal: BusSeal) {
    this.#pub = pub;
    this.#sub = sub;
    this.#nodeId = nodeId;
    this.#log = log;
    this.#seal = seal;
    sub.on('message', (channel: string, text: string) => {
      if (channel === CHANNEL) this.#deliver(text);
      else this.#onNodeMessage(text);
    });
    for (const client of [pub, sub]) client.on('error', (error: Error) => this.#log.warn('redis error', { error: errorMessage(error) }));
  }

  get connected(): boolean {
    return !this.#closed && this.#pub.status === 'ready' && this.#sub.status === 'ready';
  }

  /** Connects both clients (publishing and subscribed) and subscribes; rejects when Redis cannot be reached. */
  static async connect(url: string, nodeId: string, log: Logger, seal: BusSeal): Promise<RedisBus> {
    const options = { lazyConnect: true, maxRetriesPerRequest: 2, connectionName: `stereospot-${nodeId}` };
    const pub = new Redis(url, options);
    const sub = new Redis(url, options);
    try {
      await Promise.all([pub.connect(), sub.connect()]);
      await sub.subscribe(CHANNEL, nodeChannel(nodeId));
    } catch (error) {
      pub.disconnect();
      sub.disconnect();
      throw new Error(`cannot reach Redis at ${url}: ${errorMessage(error)}`);
    }
    return new RedisBus(pub, sub, nodeId, log, seal);
  }

  publish(message: SessionChangeMessage): void {
    if (this.#closed) return;
    this.#pub.publish(CHANNEL, this.#seal.seal(CHANNEL, message)).catch((error: unknown) => {
      this.#log.warn('bus publish failed (other nodes catch up from the store)', {
        session_id: message.sessionId,
        error: errorMessage(error),
      });
    });
  }

  onMessage(handler: (message: SessionChangeMessage) => void): void {
    this.#handlers.push(handler);
  }

  request(to: string, command: SessionCommand, timeoutMs: number): Promise<CommandReply> {
    if (this.#closed) return Promise.reject(new Error('the bus is closed'));
    const id = `${this.#nodeId}:${++this.#nextId}`;
    return new Promise<CommandReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#waiting.delete(id);
        reject(new Error(`node ${to} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.#waiting.set(id, (reply) => {
        clearTimeout(timer);
        resolve(reply);
      });
      const message: NodeMessage = { kind: 'command', id, from: this.#nodeId, command };
      this.#pub.publish(nodeChannel(to), this.#seal.seal(nodeChannel(to), message)).catch((error: unknown) => {
        clearTimeout(timer);
        this.#waiting.delete(id);
        reject(error instanceof Error ? error : new Error(String(error)));
      });
    });
  }

  onCommand(handler: (command: SessionCommand) => Promise<CommandReply>): void {
    this.#commandHandler = handler;
  }

  async announce(load: NodeLoad, ttlMs: number): Promise<void> {
    if (this.#closed) return;
    const key = PRESENCE_PREFIX + this.#nodeId;
    await this.#pub.set(key, this.#seal.seal(key, load), 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async nodes(): Promise<NodeLoad[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.#pub.scan(cursor, 'MATCH', `${PRESENCE_PREFIX}*`, 'COUNT', 200);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const values = await this.#pub.mget(...keys);
    const nodes: NodeLoad[] = [];
    values.forEach((value, i) => {
      if (value === null) return; // expired between SCAN and MGET
      const key = keys[i]!;
      // Announced presence is renewed well within MAX_AGE_MS; an older value is a node that stopped.
      const load = this.#open(key, value, (p) => nodeLoadProblem(p, key.slice(PRESENCE_PREFIX.length))) as NodeLoad | null;
      if (load) nodes.push(load);
    });
    return nodes;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#pub.del(PRESENCE_PREFIX + this.#nodeId).catch(() => undefined);
    await Promise.allSettled([this.#sub.quit(), this.#pub.quit()]);
  }

  /** The payload of a sealed text received on `where` when it verifies and passes `check`; null (counted) otherwise. */
  #open(where: string, text: string, check: (payload: unknown) => string | null): unknown {
    const opened = this.#seal.open(where, text);
    const problem = opened.ok ? check(opened.payload) : opened.reason;
    if (problem === null && opened.ok) return opened.payload;
    const reason = opened.ok ? 'invalid' : opened.reason;
    this.refused.set(reason, (this.refused.get(reason) ?? 0) + 1);
    const now = Date.now();
    if (now - (this.#lastWarned.get(reason) ?? 0) > 60_000) {
      this.#lastWarned.set(reason, now);
      this.#log.warn('bus message refused', { where, reason, problem: problem?.slice(0, 200), refused: this.refused.get(reason) });
    }
    return null;
  }

  #onNodeMessage(text: string): void {
    const message = this.#open(nodeChannel(this.#nodeId), text, nodeMessageProblem) as NodeMessage | null;
    if (!message) return;
    if (message.kind === 'reply') {
      this.#waiting.get(message.id)?.(message.reply);
      this.#waiting.delete(message.id);
      return;
    }
    const handler = this.#commandHandler;
    const answer = (reply: CommandReply) => {
      const out: NodeMessage = { kind: 'reply', id: message.id, reply };
      const channel = nodeChannel(message.from);
      void this.#pub.publish(channel, this.#seal.seal(channel, out)).catch(() => undefined);
    };
    if (!handler) {
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

  #deliver(text: string): void {
    const message = this.#open(CHANNEL, text, changeMessageProblem) as SessionChangeMessage | null;
    if (!message || message.from === this.#nodeId) return;
    for (const handler of this.#handlers) {
      try {
        handler(message);
      } catch (error) {
        this.#log.error('bus message handler failed', { session_id: message.sessionId, error: errorMessage(error) });
      }
    }
  }
}
