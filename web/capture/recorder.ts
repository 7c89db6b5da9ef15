/**
 * Records a media stream in back-to-back pieces of `chunkSeconds`: one `MediaRecorder` per piece,
 * the next started in the same task the previous is stopped in, so no frame falls between them and
 * every piece is a file of its own that starts with a key frame. Each piece carries the wall-clock
 * time its recording started, which places it on the capture's timeline (see chunk-maker.ts).
 */
export interface RecordedPiece {
  /** Order of recording (pieces may be delivered out of order; an empty one is delivered too). */
  index: number;
  /** Wall-clock ms when this piece's recorder started. */
  startedAt: number;
  /** Wall-clock ms when it was stopped (its length, when it holds no frame to tell). */
  stoppedAt: number;
  bytes: Uint8Array;
  /** The recorder's container and codecs (e.g. `video/mp4;codecs=avc1,opus`). */
  mimeType: string;
}

/** Containers the recorder is asked for, best first: H.264 in MP4 can be remuxed, the rest is re-encoded. */
const PREFERRED = ['video/mp4;codecs=avc1,opus', 'video/mp4;codecs=avc1,mp4a.40.2', 'video/mp4;codecs=avc1', 'video/mp4', 'video/webm;codecs=h264,opus', 'video/webm;codecs=vp8,opus', 'video/webm'];

export function recorderType(): string {
  const found = PREFERRED.find((type) => MediaRecorder.isTypeSupported(type));
  if (!found) throw new Error('this browser cannot record video (no MediaRecorder format it supports)');
  return found;
}

export class PieceRecorder {
  readonly #stream: MediaStream;
  readonly #chunkMs: number;
  readonly #type: string;
  readonly #onPiece: (piece: RecordedPiece) => void;
  readonly #onError: (error: Error) => void;
  #current: { recorder: MediaRecorder; stop: () => void } | null = null;
  #timer: number | undefined;
  #index = 0;
  #stopped: Promise<void> | null = null;

  constructor(stream: MediaStream, chunkSeconds: number, events: { piece: (piece: RecordedPiece) => void; error: (error: Error) => void }) {
    this.#stream = stream;
    this.#chunkMs = chunkSeconds * 1000;
    this.#type = recorderType();
    this.#onPiece = events.piece;
    this.#onError = events.error;
  }

  get mimeType(): string {
    return this.#type;
  }

  start(): void {
    this.#next();
    // A drifting timer is corrected each time: pieces stay chunkSeconds long on average.
    const t0 = performance.now();
    const tick = () => {
      this.#next();
      this.#timer = window.setTimeout(tick, t0 + this.#chunkMs * this.#index - performance.now());
    };
    this.#timer = window.setTimeout(tick, this.#chunkMs);
  }

  /** Stops after the current piece (delivered before this resolves). */
  stop(): Promise<void> {
    this.#stopped ??= new Promise<void>((resolve) => {
      clearTimeout(this.#timer);
      const last = this.#current;
      this.#current = null;
      if (!last || last.recorder.state === 'inactive') return resolve();
      last.recorder.addEventListener('stop', () => setTimeout(resolve, 0), { once: true });
      last.stop();
    });
    return this.#stopped;
  }

  #next(): void {
    const previous = this.#current;
    const recorder = new MediaRecorder(this.#stream, { mimeType: this.#type, videoBitsPerSecond: 2_500_000, audioBitsPerSecond: 128_000 });
    const index = this.#index++;
    const parts: Blob[] = [];
    let startedAt = 0;
    let stoppedAt = 0;
    recorder.ondataavailable = (event) => event.data.size > 0 && parts.push(event.data);
    recorder.onerror = (event) => this.#onError(new Error(`recording failed: ${String((event as unknown as { error?: Error }).error?.message ?? 'unknown')}`));
    recorder.onstop = () => {
      // Delivered even when empty (a stopped track): the consumer orders pieces by index.
      void new Blob(parts, { type: this.#type }).arrayBuffer().then((buffer) => {
        this.#onPiece({ index, startedAt, stoppedAt, bytes: new Uint8Array(buffer), mimeType: this.#type });
      });
    };
    // Same task: the last frame of one piece and the first of the next are adjacent.
    previous?.stop();
    recorder.start();
    startedAt = Date.now();
    this.#current = {
      recorder,
      stop: () => {
        stoppedAt = Date.now();
        recorder.stop();
      },
    };
  }
}
