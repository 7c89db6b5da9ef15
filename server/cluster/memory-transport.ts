/**
 * The cluster's wire inside one process: a node alone is a cluster of one, and tests may join several
 * nodes to one MemoryCluster. Payloads cross as JSON text, delivered on a later turn of the event loop,
 * and are parsed by the listener's parser — exactly what Redis gives, without sealing (nothing outside
 * the process can speak on it). A payload nobody else listens to is never serialised, so a node alone
 * pays nothing for its changes.
 */
import type { Logger } from '../log.ts';
import type { Parsed } from './messages.ts';
import { type ClusterTransport, isolated, Refusals } from './transport.ts';

type Listener = { transport: MemoryTransport; deliver: (text: string) => void };

/** The shared medium: channels and expiring keys. */
export class MemoryCluster {
  readonly channels = new Map<string, Set<Listener>>();
  readonly keys = new Map<string, { text: string; expiresAt: number }>();

  /** A node's transport on this cluster. */
  join(log: Logger): MemoryTransport {
    return new MemoryTransport(this, log);
  }
}

export class MemoryTransport implements ClusterTransport {
  readonly #cluster: MemoryCluster;
  readonly #log: Logger;
  readonly #refusals: Refusals;
  readonly #mine = new Set<{ channel: string; listener: Listener }>();
  #closed = false;

  constructor(cluster: MemoryCluster, log: Logger) {
    this.#cluster = cluster;
    this.#log = log;
    this.#refusals = new Refusals(log);
  }

  get connected(): boolean {
    return !this.#closed;
  }

  get refused(): ReadonlyMap<string, number> {
    return this.#refusals.counts;
  }

  async send(channel: string, payload: unknown): Promise<number> {
    if (this.#closed) return 0;
    const others = [...(this.#cluster.channels.get(channel) ?? [])].filter((l) => l.transport !== this);
    if (others.length === 0) return 0;
    const text = JSON.stringify(payload);
    setImmediate(() => {
      for (const listener of others) listener.deliver(text);
    });
    return others.length;
  }

  async listen<T>(channel: string, parse: (payload: unknown) => Parsed<T>, handler: (value: T) => void): Promise<void> {
    if (this.#closed) return;
    const safe = isolated(this.#log, channel, handler);
    const listener: Listener = {
      transport: this,
      deliver: (text) => {
        if (this.#closed) return;
        const parsed = parse(JSON.parse(text));
        if (parsed.ok) safe(parsed.value);
        else this.#refusals.add(channel, 'invalid', parsed.problem);
      },
    };
    let listeners = this.#cluster.channels.get(channel);
    if (!listeners) this.#cluster.channels.set(channel, (listeners = new Set()));
    listeners.add(listener);
    this.#mine.add({ channel, listener });
  }

  async unlisten(channel: string): Promise<void> {
    for (const mine of this.#mine) {
      if (mine.channel !== channel) continue;
      this.#drop(mine);
    }
  }

  #drop(mine: { channel: string; listener: Listener }): void {
    const listeners = this.#cluster.channels.get(mine.channel);
    listeners?.delete(mine.listener);
    if (listeners?.size === 0) this.#cluster.channels.delete(mine.channel);
    this.#mine.delete(mine);
  }

  async put(key: string, payload: unknown, ttlMs: number): Promise<void> {
    if (this.#closed) return;
    this.#cluster.keys.set(key, { text: JSON.stringify(payload), expiresAt: Date.now() + Math.max(1, ttlMs) });
  }

  async scan<T>(prefix: string, parse: (payload: unknown, rest: string) => Parsed<T>): Promise<T[]> {
    const now = Date.now();
    const found: T[] = [];
    for (const [key, { text, expiresAt }] of this.#cluster.keys) {
      if (expiresAt <= now) {
        this.#cluster.keys.delete(key);
        continue;
      }
      if (!key.startsWith(prefix)) continue;
      const parsed = parse(JSON.parse(text), key.slice(prefix.length));
      if (parsed.ok) found.push(parsed.value);
      else this.#refusals.add(key, 'invalid', parsed.problem);
    }
    return found;
  }

  async delete(key: string): Promise<void> {
    this.#cluster.keys.delete(key);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const mine of [...this.#mine]) this.#drop(mine);
  }
}
