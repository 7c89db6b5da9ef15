/**
 * Each worker's own V8 heap, for `/metrics`: the process's figures (RSS, the main thread's heap) do not
 * show whether a worker's JavaScript grows. Workers post their heap statistics on a broadcast channel
 * private to their pool every few seconds (and once at start); the pool keeps the latest per thread.
 * A channel rather than Piscina's port: tasks and their results stay Piscina's alone.
 */
import { getHeapStatistics } from 'node:v8';
import { BroadcastChannel, threadId } from 'node:worker_threads';

export interface WorkerMemory {
  /** V8 heap in use (live objects and garbage not yet collected). */
  heapUsedBytes: number;
  /** V8 heap reserved. */
  heapTotalBytes: number;
  /** Memory outside the heap that V8 objects hold (array buffers included). */
  externalBytes: number;
}

interface Report extends WorkerMemory {
  thread: number;
}

/** How often a worker reports. */
export const MEMORY_REPORT_MS = 5_000;

/** Worker side: reports this thread's heap on `channelName` now and every `intervalMs`. */
export function reportMemory(channelName: string, intervalMs = MEMORY_REPORT_MS): void {
  const channel = new BroadcastChannel(channelName);
  // Neither the channel nor the timer keeps the thread alive.
  channel.unref();
  const report = () => {
    const heap = getHeapStatistics();
    const message: Report = {
      thread: threadId,
      heapUsedBytes: heap.used_heap_size,
      heapTotalBytes: heap.total_heap_size,
      externalBytes: heap.external_memory,
    };
    channel.postMessage(message);
  };
  report();
  setInterval(report, intervalMs).unref();
}

/** Pool side: the latest report of each worker thread. */
export class WorkerMemoryBoard {
  readonly #channel: BroadcastChannel;
  readonly #latest = new Map<number, WorkerMemory>();

  constructor(channelName: string) {
    this.#channel = new BroadcastChannel(channelName);
    this.#channel.unref();
    this.#channel.onmessage = (event) => {
      const { thread, heapUsedBytes, heapTotalBytes, externalBytes } = (event as { data: Report }).data;
      this.#latest.set(thread, { heapUsedBytes, heapTotalBytes, externalBytes });
    };
  }

  /** Each thread's latest report, by thread id. */
  snapshot(): Map<number, WorkerMemory> {
    return new Map(this.#latest);
  }

  /** Forgets threads that are gone (a replaced worker keeps no row). */
  retain(threads: Iterable<number>): void {
    const alive = new Set(threads);
    for (const thread of this.#latest.keys()) if (!alive.has(thread)) this.#latest.delete(thread);
  }

  close(): void {
    this.#channel.close();
  }
}
