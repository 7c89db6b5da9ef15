/**
 * The cluster port (adapters/ports.ts ClusterBus) built from its protocols over any transport:
 * change fan-out (fanout.ts), commands node to node (request-reply.ts), the live relay (live-relay.ts)
 * and presence — a key per node, expiring unless the node renews it, holding its load. Several nodes share Redis (RedisBus.connect);
 * a node alone is a cluster of one (localBus), so the session service never asks whether there are
 * others.
 */
import type { ClusterBus, CommandReply, NodeLoad, SessionChangeMessage, SessionCommand } from '../adapters/ports.ts';
import type { Logger } from '../log.ts';
import { ChangeFanout } from './fanout.ts';
import { LiveRelayChannels } from './live-relay.ts';
import { MemoryCluster } from './memory-transport.ts';
import { parseNodeLoad } from './messages.ts';
import { RedisTransport } from './redis-transport.ts';
import { RequestReply } from './request-reply.ts';
import type { BusSeal } from './seal.ts';
import type { ClusterTransport } from './transport.ts';

/** Presence: one key per node, expiring on its own when the node stops announcing (dies). */
const PRESENCE_PREFIX = 'stereospot:presence:';

export class NodeBus implements ClusterBus {
  readonly #transport: ClusterTransport;
  readonly #nodeId: string;
  readonly #fanout: ChangeFanout;
  readonly #requests: RequestReply;
  readonly live: LiveRelayChannels;
  #closed = false;

  private constructor(transport: ClusterTransport, nodeId: string, log: Logger) {
    this.#transport = transport;
    this.#nodeId = nodeId;
    this.#fanout = new ChangeFanout(transport, nodeId, log);
    this.#requests = new RequestReply(transport, nodeId, log);
    this.live = new LiveRelayChannels(transport, nodeId, log);
  }

  /** The bus of node `nodeId` on `transport`, listening (it closes the transport when closed). */
  static async open(transport: ClusterTransport, nodeId: string, log: Logger): Promise<NodeBus> {
    const bus = new NodeBus(transport, nodeId, log);
    try {
      await Promise.all([bus.#fanout.start(), bus.#requests.start(), bus.live.start()]);
    } catch (error) {
      await transport.close();
      throw error;
    }
    return bus;
  }

  get connected(): boolean {
    return !this.#closed && this.#transport.connected;
  }

  /** Messages dropped, by reason (a bad seal, a stale one, a payload that is not what it claims). */
  get refused(): ReadonlyMap<string, number> {
    return this.#transport.refused;
  }

  publish(message: SessionChangeMessage): void {
    if (!this.#closed) this.#fanout.publish(message);
  }

  onMessage(handler: (message: SessionChangeMessage) => void): void {
    this.#fanout.onMessage(handler);
  }

  request(to: string, command: SessionCommand, timeoutMs: number): Promise<CommandReply> {
    return this.#requests.request(to, command, timeoutMs);
  }

  onCommand(handler: (command: SessionCommand) => Promise<CommandReply>): void {
    this.#requests.onCommand(handler);
  }

  async announce(load: NodeLoad, ttlMs: number): Promise<void> {
    if (!this.#closed) await this.#transport.put(PRESENCE_PREFIX + this.#nodeId, load, ttlMs);
  }

  nodes(): Promise<NodeLoad[]> {
    return this.#transport.scan(PRESENCE_PREFIX, parseNodeLoad);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#requests.close();
    await this.#transport.delete(PRESENCE_PREFIX + this.#nodeId).catch(() => undefined);
    await this.#transport.close();
  }
}

/** Several nodes: the bus over Redis, its messages sealed with the nodes' shared key. */
export const RedisBus = {
  async connect(url: string, nodeId: string, log: Logger, seal: BusSeal): Promise<NodeBus> {
    return NodeBus.open(await RedisTransport.connect(url, nodeId, log, seal), nodeId, log);
  },
};

/** A node alone: a cluster of one (or, given `cluster`, one of several nodes in this process). */
export function localBus(nodeId: string, log: Logger, cluster = new MemoryCluster()): Promise<NodeBus> {
  return NodeBus.open(cluster.join(log), nodeId, log);
}
