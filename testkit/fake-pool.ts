/**
 * A stand-in for the GPU pool that the test controls: each task's chunk carries its index in a
 * marker, and the test decides when (and whether) each index completes. Used to test ordering,
 * retries and shutdown without paying for real video work.
 */
import type { ChunkResult, ChunkTask } from '../gpu-pool/types.ts';

/** A minimal "MP4" (an ftyp box) carrying `index`, for the fake pool. */
export function fakeChunk(index: number): Buffer {
  const ftyp = Buffer.alloc(16);
  ftyp.writeUInt32BE(16, 0);
  ftyp.write('ftypisom', 4, 'latin1');
  return Buffer.concat([ftyp, Buffer.from(`#idx:${index}`)]);
}

function indexOf(chunk: Uint8Array): number {
  const m = /#idx:(\d+)/.exec(Buffer.from(chunk).toString('latin1'));
  if (!m) throw new Error('not a fake chunk: no index marker (decode failed)');
  return Number(m[1]);
}

export class FakePool {
  readonly size: number;
  readonly started: number[] = [];
  /** For each index run: the index of the previous chunk it was given for the depth warm-up. */
  readonly previous = new Map<number, number | null>();
  /** For each index run: the stereo settings its task carried. */
  readonly settings = new Map<number, { strength?: number; convergence?: number }>();
  readonly #gates = new Map<number, { promise: Promise<void>; open: () => void }>();
  #held = new Set<number>();
  closed = false;

  constructor(size = 2) {
    this.size = size;
  }

  /** Index `index` will not complete until `release(index)`. */
  hold(...indices: number[]): void {
    for (const i of indices) this.#held.add(i);
  }

  release(index: number): void {
    this.#held.delete(index);
    this.#gate(index).open();
  }

  #gate(index: number) {
    let gate = this.#gates.get(index);
    if (!gate) {
      let open!: () => void;
      const promise = new Promise<void>((r) => (open = r));
      gate = { promise, open };
      this.#gates.set(index, gate);
    }
    return gate;
  }

  async run(task: ChunkTask, options?: { signal?: AbortSignal }): Promise<ChunkResult> {
    const index = indexOf(task.chunk);
    this.started.push(index);
    this.settings.set(index, { strength: task.strength, convergence: task.convergence });
    if (this.#held.has(index)) {
      await Promise.race([
        this.#gate(index).promise,
        new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(new Error('aborted')))),
      ]);
    }
    this.previous.set(index, task.previous ? indexOf(task.previous) : null);
    return {
      init: Buffer.from(`init ${task.mode}`),
      media: Buffer.from(`segment ${index} ${task.mode}`),
      codecs: 'avc1.42C01E,mp4a.40.2',
      duration: 2,
      start: index * 2,
      origin: null,
      frames: 60,
      fps: 30,
      width: 64,
      height: 16,
      hasAudio: true,
      warmedUp: task.previous != null,
      depthCarried: false,
      depthRuns: 60,
      depthInterval: 1,
      warmUpRuns: 0,
      timings: { decode: 1, depth: 1, stereo: 1, encode: 1, total: 4 },
    };
  }

  stats(): Record<string, number> {
    return { threads: this.size, queueSize: 0, completed: this.started.length };
  }

  workerMemory(): Map<number, { heapUsedBytes: number; externalBytes: number }> {
    return new Map();
  }

  async close(): Promise<{ forced: boolean }> {
    this.closed = true;
    return { forced: false };
  }
}
