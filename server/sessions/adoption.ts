/**
 * Sessions whose node died: with leases shared between nodes, every node looks now and then (half a
 * lease's life) for open sessions not running here whose lease has expired, and takes them over —
 * loading one takes its lease when it is free, and fails harmlessly when its owner still renews it.
 */
import type { SessionRegistry } from '../../actors/index.ts';
import type { SessionStore } from '../adapters/ports.ts';
import { errorMessage, type Logger } from '../log.ts';
import type { SessionLoader } from './loader.ts';

export class Adoption {
  readonly #timer: NodeJS.Timeout;
  readonly #store: SessionStore;
  readonly #registry: SessionRegistry;
  readonly #loader: SessionLoader;
  readonly #log: Logger;
  #running = false;
  #closed = false;

  constructor(options: { store: SessionStore; registry: SessionRegistry; loader: SessionLoader; log: Logger; intervalMs: number }) {
    this.#store = options.store;
    this.#registry = options.registry;
    this.#loader = options.loader;
    this.#log = options.log;
    this.#timer = setInterval(() => void this.adoptOrphans(), options.intervalMs);
    this.#timer.unref();
  }

  /** One look for orphans (at most one at a time). */
  async adoptOrphans(): Promise<void> {
    if (this.#running || this.#closed) return;
    this.#running = true;
    try {
      for (const record of await this.#store.list()) {
        if (this.#closed) return;
        if (record.closed || this.#registry.has(record.sessionId)) continue;
        // Not find(): a session another node runs is known here from the bus, but its lease may have expired.
        await this.#loader.load(record.sessionId);
        if (this.#registry.has(record.sessionId))
          this.#log.info('session taken over from a node that stopped renewing its lease', { session_id: record.sessionId });
      }
    } catch (error) {
      this.#log.warn('looking for orphaned sessions failed', { error: errorMessage(error) });
    } finally {
      this.#running = false;
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }
}
