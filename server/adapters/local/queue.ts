/**
 * The local profile's event queue: in-process, bounded, at-least-once. Fed by the object
 * store's created events; a handler failure is redelivered after a delay, a bounded number of times.
 */
import type { Logger } from '../../log.ts';
import type { ChunkEventOutcome, ChunkEventQueue, ObjectCreatedEvent } from '../ports.ts';

export interface LocalQueueOptions {
  /** Events waiting at most; beyond it new events are dropped and counted (the store stays the truth). */
  maxLength: number;
  /** Deliveries per event before it is dropped (the local stand-in for a DLQ). */
  maxReceives: number;
  redeliverDelayMs: number;
}

interface Item {
  event: ObjectCreatedEvent;
  receives: number;
}

export class LocalChunkQueue implements ChunkEventQueue {
  readonly #opts: LocalQueueOptions;
  readonly #log: Logger;
  readonly #items: Item[] = [];
  readonly #timers = new Set<NodeJS.Timeout>();
  #handler: ((event: ObjectCreatedEvent) => Promise<ChunkEventOutcome>) | undefined;
  #running = 0;
  #closed = false;
  #idle: (() => void) | undefined;
  dropped = 0;
  deadLettered = 0;

  constructor(opts: LocalQueueOptions, log: Logger) {
    this.#opts = opts;
    this.#log = log;
  }

  get length(): number {
    return this.#items.length;
  }

  /** Enqueues an event; returns false when the queue is full or closed (the event is dropped). */
  push(event: ObjectCreatedEvent): boolean {
    return this.#enqueue({ event, receives: 0 });
  }

  #enqueue(item: Item): boolean {
    if (this.#closed) return false;
    if (this.#items.length >= this.#opts.maxLength) {
      this.dropped++;
      this.#log.warn('queue full, event dropped', { key: item.event.key });
      return false;
    }
    this.#items.push(item);
    queueMicrotask(() => this.#pump());
    return true;
  }

  start(handler: (event: ObjectCreatedEvent) => Promise<ChunkEventOutcome>): void {
    if (this.#handler) throw new Error('LocalChunkQueue already started');
    this.#handler = handler;
    this.#pump();
  }

  #pump(): void {
    const handler = this.#handler;
    if (!handler || this.#closed) return;
    while (this.#items.length > 0) {
      const item = this.#items.shift()!;
      item.receives++;
      this.#running++;
      handler(item.event)
        .then((outcome) => {
          // No other node reads this in-process queue: an event for another node's session is retried
          // here (the owner may answer the bus next time) and counts like a failure.
          if (outcome === 'elsewhere') throw new Error('its session runs on another node');
        })
        .catch((error: unknown) => {
          if (item.receives >= this.#opts.maxReceives) {
            this.deadLettered++;
            this.#log.error('event failed too often, dropped', { key: item.event.key, receives: item.receives, error: String(error) });
            return;
          }
          const timer = setTimeout(() => {
            this.#timers.delete(timer);
            this.#enqueue(item);
          }, this.#opts.redeliverDelayMs);
          this.#timers.add(timer);
        })
        .finally(() => {
          this.#running--;
          if (this.#running === 0) this.#idle?.();
        });
    }
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.#items.length = 0;
    if (this.#running > 0) await new Promise<void>((resolve) => (this.#idle = resolve));
  }
}
