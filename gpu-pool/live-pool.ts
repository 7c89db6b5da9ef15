/**
 * The live converters: one thread per session whose live path runs (live-worker.ts), at most `max` at
 * once, each fed frame by frame. The host keeps the path at the live edge without ever blocking the
 * caller: a frame sent while HURRY_AHEAD earlier ones are still in the works is converted on the newest
 * depth estimate (no network run), one sent while SKIP_AHEAD are is decoded but not converted (skipped);
 * when the thread is stuck (MAX_IN_FLIGHT behind) frames are dropped until the next keyframe,
 * where decoding can start again. Before the thread is ready, frames from the latest keyframe on wait.
 * A thread takes seconds to load its network on a busy machine, so one is started ahead (`prepare`,
 * when a publisher publishes) and handed to the first viewer's stream.
 * The network's rate follows what the thread measures: it runs on every frame while that keeps up, on
 * every n-th when the stream's frame interval is too short for it.
 */
import { Worker } from 'node:worker_threads';
import { type LiveFrame, LiveKind } from '../protocol/live.ts';
import type { EncodedUnit } from './live-codec.ts';
import type { LivePace } from './live-converter.ts';
import type { LiveStreamSettings, LiveWorkerConfig, LiveWorkerInput, LiveWorkerOutput } from './live-messages.ts';
import type { ExecutionProvider } from './model.ts';

/** A JavaScript entry that imports the TypeScript thread (live-worker-entry.cjs says why). */
const WORKER_BOOT = new URL('./live-worker-entry.cjs', import.meta.url);
const WORKER_ENTRY = new URL('./live-worker.ts', import.meta.url).href;

/** Frames in the works before the next goes without a new depth estimate, and before it is only decoded. */
const HURRY_AHEAD = 2;
const SKIP_AHEAD = 4;
/** Frames in the works before new ones are dropped (the thread is stuck): ≈ 3 s at 30 fps. */
const MAX_IN_FLIGHT = 90;
/** Frames kept while the thread starts (from the latest keyframe on). */
const MAX_WAITING = 120;
/** Share of a frame's interval the conversion may take (the rest is slack for the encoder's spikes). */
const BUDGET = 0.75;
/**
 * How long a thread asked to close may take (its frame in the works, its network's loading) before it
 * is terminated. A last resort: a thread terminated inside libav or the network's runtime can abort
 * the process, so it is asked first and given time.
 */
const STOP_TIMEOUT_MS = 15_000;

/**
 * Asks a converter thread to close and waits for it to exit (terminated only after STOP_TIMEOUT_MS).
 * Resolves to its exit code: 0 when it closed itself, 1 when it had to be terminated, null when it had
 * exited before.
 */
async function stopThread(worker: Worker): Promise<number | null> {
  // (A thread that has exited has no id any more.)
  if (worker.threadId === -1) return null;
  let timer: NodeJS.Timeout | undefined;
  const code = await new Promise<number>((resolve) => {
    worker.once('exit', resolve);
    worker.postMessage({ type: 'close' } satisfies LiveWorkerInput);
    timer = setTimeout(() => void worker.terminate(), STOP_TIMEOUT_MS);
  });
  clearTimeout(timer);
  return code;
}

export interface LivePoolOptions {
  /** Live converters at once (one thread each). */
  max: number;
  modelPath: string | null;
  executionProvider: ExecutionProvider;
  modelInputHeight: number;
}

export interface LiveChannelEvents {
  unit(unit: EncodedUnit): void;
  /** The thread failed (its model, its codec): the live path of this session is over. */
  error(message: string): void;
}

export interface LiveChannelStats {
  /** Video frames received, converted, decoded only (late), dropped (the thread was stuck or starting). */
  received: number;
  converted: number;
  skipped: number;
  dropped: number;
  /** The network runs on every n-th frame. */
  depthEvery: number;
}

/** A converter thread, started (its network loading) before a stream is given to it. */
class LiveThread {
  readonly worker: Worker;
  ready = false;
  /** Why it failed before a channel took it. */
  failure: string | null = null;
  #listener: ((message: LiveWorkerOutput) => void) | null = null;

  constructor(config: LiveWorkerConfig) {
    this.worker = new Worker(WORKER_BOOT, { workerData: { ...config, entry: WORKER_ENTRY } });
    this.worker.on('message', (message: LiveWorkerOutput) => {
      if (message.type === 'ready') this.ready = true;
      if (message.type === 'error' && !this.#listener) this.failure = message.message;
      this.#listener?.(message);
    });
    this.worker.on('error', (error) => {
      if (!this.#listener) this.failure = error.message;
      this.#listener?.({ type: 'error', message: error.message });
    });
  }

  /** From now on its messages go to `listener` (the channel that took it). */
  attach(listener: (message: LiveWorkerOutput) => void): void {
    this.#listener = listener;
  }
}

export class LivePool {
  readonly #opts: LivePoolOptions;
  readonly #open = new Set<LiveChannel>();
  /** A thread started ahead, for the next stream. */
  #spare: LiveThread | null = null;
  #closed = false;

  constructor(options: LivePoolOptions) {
    this.#opts = options;
  }

  /** Live paths running. */
  get size(): number {
    return this.#open.size;
  }

  /** Starts a thread ahead of need (a publisher publishes: a viewer may come), unless all are taken. */
  prepare(): void {
    if (this.#closed || this.#spare || this.#open.size >= this.#opts.max) return;
    const spare = new LiveThread({
      modelPath: this.#opts.modelPath,
      executionProvider: this.#opts.executionProvider,
      modelInputHeight: this.#opts.modelInputHeight,
    });
    spare.worker.once('exit', () => {
      if (this.#spare === spare) this.#spare = null;
    });
    this.#spare = spare;
  }

  /** A converter for one stream; null when `max` already run (the caller says the live path is overloaded). */
  open(stream: LiveStreamSettings, events: LiveChannelEvents): LiveChannel | null {
    if (this.#closed || this.#open.size >= this.#opts.max) return null;
    if (!this.#spare) this.prepare();
    const thread = this.#spare!;
    this.#spare = null;
    const channel = new LiveChannel(thread, stream, events, () => this.#open.delete(channel));
    this.#open.add(channel);
    return channel;
  }

  async close(): Promise<void> {
    this.#closed = true;
    const spare = this.#spare;
    this.#spare = null;
    await Promise.all([...[...this.#open].map((channel) => channel.close()), spare ? stopThread(spare.worker) : undefined]);
  }
}

export class LiveChannel {
  readonly stats: LiveChannelStats = { received: 0, converted: 0, skipped: 0, dropped: 0, depthEvery: 1 };
  readonly #worker: Worker;
  readonly #events: LiveChannelEvents;
  readonly #onClosed: () => void;
  #ready = false;
  #closed = false;
  #inFlight = 0;
  /** Frames waiting for the thread to start, from the latest keyframe on. */
  #waiting: LiveFrame[] = [];
  /** Dropping until a keyframe (the decoder cannot start elsewhere). */
  #needKey = false;
  /** Recent per-frame costs (ms) and frame intervals (µs), to set the network's rate. */
  #cost = { depth: 0, rest: 0, frames: 0 };
  #lastTime = 0;
  #interval = 0;

  constructor(thread: LiveThread, stream: LiveStreamSettings, events: LiveChannelEvents, onClosed: () => void) {
    this.#worker = thread.worker;
    this.#events = events;
    this.#onClosed = onClosed;
    this.#ready = thread.ready;
    thread.attach((message) => this.#receive(message));
    this.#worker.on('exit', () => this.#finish());
    this.#post({ type: 'start', stream });
    const failure = thread.failure;
    if (failure) queueMicrotask(() => this.#fail(failure));
  }

  /** One video frame (audio does not pass through the converter). */
  push(frame: LiveFrame): void {
    if (this.#closed || frame.kind !== LiveKind.Video) return;
    this.stats.received++;
    if (this.#lastTime > 0 && frame.time > this.#lastTime) {
      const step = frame.time - this.#lastTime;
      this.#interval = this.#interval === 0 ? step : this.#interval * 0.9 + step * 0.1;
    }
    this.#lastTime = frame.time;
    if (!this.#ready) {
      // Kept: a copy (the frame's bytes may be a view into a socket's message, valid only now).
      const kept = { ...frame, data: frame.data.slice() };
      if (frame.key) {
        this.stats.dropped += this.#waiting.length;
        this.#waiting = [kept];
      } else if (this.#waiting.length > 0 && this.#waiting.length < MAX_WAITING) this.#waiting.push(kept);
      else this.stats.dropped++;
      return;
    }
    if (this.#needKey && !frame.key) {
      this.stats.dropped++;
      return;
    }
    this.#needKey = false;
    if (this.#inFlight >= MAX_IN_FLIGHT) {
      this.stats.dropped++;
      this.#needKey = true;
      return;
    }
    this.#send(frame, this.#inFlight >= SKIP_AHEAD ? 'skip' : this.#inFlight >= HURRY_AHEAD ? 'hurry' : 'full');
  }

  /** The next converted frame is a keyframe (a viewer joined). */
  requestKeyframe(): void {
    this.#post({ type: 'keyframe' });
  }

  setSettings(settings: { strength?: number; convergence?: number }): void {
    this.#post({ type: 'settings', settings });
  }

  /** The thread's exit code once `close` has stopped it: 0 when it closed itself (as it should), 1 when terminated. */
  exitCode: number | null = null;

  /** Stops the thread (after the frame in the works; the frames queued behind it are let go). Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // The slot is free at once (its thread converts nothing more while it exits): a new stream may take it.
    this.#onClosed();
    this.exitCode = await stopThread(this.#worker);
  }

  #send(frame: LiveFrame, pace: LivePace): void {
    // A copy the thread owns (the frame's bytes may be a view into a socket's message).
    const data = frame.data.slice().buffer as ArrayBuffer;
    this.#inFlight++;
    this.#post({ type: 'frame', data, time: frame.time, pace }, [data]);
  }

  #post(message: LiveWorkerInput, transfer: ArrayBuffer[] = []): void {
    if (this.#closed) return;
    this.#worker.postMessage(message, transfer);
  }

  #receive(message: LiveWorkerOutput): void {
    switch (message.type) {
      case 'ready': {
        this.#ready = true;
        // What waited goes now: all but the newest decoded only, so the path starts at the live edge.
        const waiting = this.#waiting;
        this.#waiting = [];
        for (const [i, frame] of waiting.entries()) this.#send(frame, i < waiting.length - 1 ? 'skip' : 'full');
        break;
      }
      case 'unit':
        if (!this.#closed) this.#events.unit({ data: new Uint8Array(message.data), time: message.time, key: message.key });
        break;
      case 'done':
        this.#inFlight--;
        this.stats.converted += message.converted;
        this.stats.skipped += message.skipped;
        if (message.converted > 0) this.#pace(message.timings, message.converted);
        break;
      case 'error':
        this.#fail(message.message);
        break;
    }
  }

  /** Every 30 converted frames: the network on every n-th frame, so that a frame's conversion fits its interval. */
  #pace(timings: { decode: number; depth: number; stereo: number; encode: number }, frames: number): void {
    const cost = this.#cost;
    cost.depth += timings.depth;
    cost.rest += timings.decode + timings.stereo + timings.encode;
    cost.frames += frames;
    if (cost.frames < 30 || this.#interval <= 0) return;
    const depthPerRun = (cost.depth / cost.frames) * this.stats.depthEvery;
    const rest = cost.rest / cost.frames;
    const budget = (this.#interval / 1000) * BUDGET;
    const every = Math.min(30, Math.max(1, Math.ceil(depthPerRun / Math.max(1, budget - rest))));
    this.#cost = { depth: 0, rest: 0, frames: 0 };
    if (every !== this.stats.depthEvery) {
      this.stats.depthEvery = every;
      this.#post({ type: 'depth_every', every });
    }
  }

  #fail(message: string): void {
    if (this.#closed) return;
    this.#events.error(message);
    void this.close();
  }

  #finish(): void {
    this.#closed = true;
    this.#onClosed();
  }
}
