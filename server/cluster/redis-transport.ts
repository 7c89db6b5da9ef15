/**
 * The cluster's wire for several nodes: Redis pub/sub for channels (one client publishing, one
 * subscribed) and keys with a PX expiry. Nothing from Redis is trusted: every payload travels sealed
 * with the nodes' shared key (seal.ts) for the channel or key it was meant for, and is parsed by its
 * listener's parser after the seal verified; what fails either is refused (transport.ts).
 */
import { Redis } from 'ioredis';
import { errorMessage, type Logger } from '../log.ts';
import type { Parsed } from './messages.ts';
import type { BusSeal } from './seal.ts';
import { type ClusterTransport, isolated, Refusals } from './transport.ts';

export class RedisTransport implements ClusterTransport {
  readonly #pub: Redis;
  readonly #sub: Redis;
  readonly #seal: BusSeal;
  readonly #log: Logger;
  readonly #refusals: Refusals;
  /** What to do with a text arriving on each subscribed channel. */
  readonly #listeners = new Map<string, (text: string) => void>();
  #closed = false;

  private constructor(pub: Redis, sub: Redis, seal: BusSeal, log: Logger) {
    this.#pub = pub;
    this.#sub = sub;
    this.#seal = seal;
    this.#log = log;
    this.#refusals = new Refusals(log);
    sub.on('message', (channel: string, text: string) => this.#listeners.get(channel)?.(text));
    for (const client of [pub, sub]) client.on('error', (error: Error) => log.warn('redis error', { error: errorMessage(error) }));
  }

  /** Connects both clients; rejects, naming the URL, when Redis cannot be reached. */
  static async connect(url: string, nodeId: string, log: Logger, seal: BusSeal): Promise<RedisTransport> {
    const options = { lazyConnect: true, maxRetriesPerRequest: 2, connectionName: `stereospot-${nodeId}` };
    const pub = new Redis(url, options);
    const sub = new Redis(url, options);
    try {
      await Promise.all([pub.connect(), sub.connect()]);
    } catch (error) {
      pub.disconnect();
      sub.disconnect();
      throw new Error(`cannot reach Redis at ${url}: ${errorMessage(error)}`);
    }
    return new RedisTransport(pub, sub, seal, log);
  }

  get connected(): boolean {
    return !this.#closed && this.#pub.status === 'ready' && this.#sub.status === 'ready';
  }

  get refused(): ReadonlyMap<string, number> {
    return this.#refusals.counts;
  }

  async send(channel: string, payload: unknown): Promise<number> {
    if (this.#closed) return 0;
    return this.#pub.publish(channel, this.#seal.seal(channel, payload));
  }

  async listen<T>(channel: string, parse: (payload: unknown) => Parsed<T>, handler: (value: T) => void): Promise<void> {
    const safe = isolated(this.#log, channel, handler);
    this.#listeners.set(channel, (text) => {
      const value = this.#open(channel, text, parse);
      if (value.ok) safe(value.value);
    });
    await this.#sub.subscribe(channel);
  }

  async unlisten(channel: string): Promise<void> {
    if (!this.#listeners.delete(channel) || this.#closed) return;
    await this.#sub.unsubscribe(channel);
  }

  async put(key: string, payload: unknown, ttlMs: number): Promise<void> {
    if (this.#closed) return;
    await this.#pub.set(key, this.#seal.seal(key, payload), 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async scan<T>(prefix: string, parse: (payload: unknown, rest: string) => Parsed<T>): Promise<T[]> {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await this.#pub.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 200);
      keys.push(...batch);
      cursor = next;
    } while (cursor !== '0');
    if (keys.length === 0) return [];
    const values = await this.#pub.mget(...keys);
    const found: T[] = [];
    values.forEach((text, i) => {
      if (text === null) return; // expired between SCAN and MGET
      const key = keys[i]!;
      const value = this.#open(key, text, (payload) => parse(payload, key.slice(prefix.length)));
      if (value.ok) found.push(value.value);
    });
    return found;
  }

  async delete(key: string): Promise<void> {
    await this.#pub.del(key);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#listeners.clear();
    await Promise.allSettled([this.#sub.quit(), this.#pub.quit()]);
  }

  /** A sealed text received on `where`, opened and parsed; refused (counted) when either fails. */
  #open<T>(where: string, text: string, parse: (payload: unknown) => Parsed<T>): Parsed<T> {
    const opened = this.#seal.open(where, text);
    if (!opened.ok) {
      this.#refusals.add(where, opened.reason);
      return { ok: false, problem: opened.reason };
    }
    const parsed = parse(opened.payload);
    if (!parsed.ok) this.#refusals.add(where, 'invalid', parsed.problem);
    return parsed;
  }
}
