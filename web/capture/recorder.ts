/**
 * Records a media stream in back-to-back pieces of `chunkSeconds`: one `MediaRecorder` per piece, each
 * a file of its own that starts with a key frame, carrying the wall-clock time its recording started
 * (which places it on the capture's timeline, see chunk-maker.ts).
 *
 * Pieces overlap: the next recorder starts at the boundary, and the previous one is stopped
 * `OVERLAP_MS` later. A recorder's sound does not cover its own span: Chromium's Opus in MP4 declares
 * 80 ms of pre-skip, so a decoder drops the first 80 ms of what was heard, and the last, unfinished
 * 60-ms packet is not written at stop — back-to-back recorders lost ≈ 130 ms of sound at every
 * boundary. With the overlap each piece holds the sound its successor's start lacks, and the chunk
 * maker cuts the picture at the boundary (`lengthMs`) and takes `lengthMs` of sound from where the
 * piece's sound begins, so the chunks' sound is continuous and each frame and sample is used once.
 * Only the capture's first 80 ms of sound, which no earlier recorder holds, is not there.
 */
export interface RecordedPiece {
  /** Order of recording (pieces may be delivered out of order; an empty one is delivered too). */
  index: number;
  /** Wall-clock ms when this piece's recorder started. */
  startedAt: number;
  /** Its span on the timeline: until the next piece started, or until stop was asked for (ms). */
  lengthMs: number;
  bytes: Uint8Array;
  /** The recorder's container and codecs (e.g. `video/mp4;codecs=avc1,opus`). */
  mimeType: string;
}

/** Containers the recorder is asked for, best first: H.264 in MP4 can be remuxed, the rest is re-encoded. */
const PREFERRED = [
  'video/mp4;codecs=avc1,opus',
  'video/mp4;codecs=avc1,mp4a.40.2',
  'video/mp4;codecs=avc1',
  'video/mp4',
  'video/webm;codecs=h264,opus',
  'video/webm;codecs=vp8,opus',
  'video/webm',
];

/** How long a recorder runs past its piece's end: more than the sound a recorder's start and end lack. */
export const OVERLAP_MS = 300;

export function recorderType(): string {
  const found = PREFERRED.find((type) => MediaRecorder.isTypeSupported(type));
  if (!found) throw new Error('this browser cannot record video (no MediaRecorder format it supports)');
  return found;
}

interface Running {
  recorder: MediaRecorder;
  startedAt: number;
  /** Ends the piece at `at` (wall ms) and stops its recorder `OVERLAP_MS` later. */
  end: (at: number) => void;
  stopped: Promise<void>;
}

export class PieceRecorder {
  readonly #stream: MediaStream;
  readonly #chunkMs: number;
  readonly #type: string;
  readonly #onPiece: (piece: RecordedPiece) => void;
  readonly #onError: (error: Error) => void;
  #current: Running | null = null;
  /** Recorders past their piece's end, still recording the overlap. */
  readonly #ending = new Set<Running>();
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

  /** Ends the current piece now; resolves once every piece is delivered (after the overlap). */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      clearTimeout(this.#timer);
      const last = this.#current;
      this.#current = null;
      last?.end(Date.now());
      await Promise.all([...this.#ending].map((r) => r.stopped));
      // Let the last piece's delivery (an arrayBuffer read) reach the consumer first.
      await new Promise((resolve) => setTimeout(resolve, 0));
    })();
    return this.#stopped;
  }

  #next(): void {
    const previous = this.#current;
    const recorder = new MediaRecorder(this.#stream, { mimeType: this.#type, videoBitsPerSecond: 2_500_000, audioBitsPerSecond: 128_000 });
    const index = this.#index++;
    const parts: Blob[] = [];
    let lengthMs = 0;
    recorder.ondataavailable = (event) => event.data.size > 0 && parts.push(event.data);
    recorder.onerror = (event) =>
      this.#onError(new Error(`recording failed: ${String((event as unknown as { error?: Error }).error?.message ?? 'unknown')}`));
    const stopped = new Promise<void>((resolve) => {
      recorder.onstop = () => {
        // Stopped by itself (the tracks ended, e.g. sharing stopped in the browser's own bar): it ends now.
        if (lengthMs === 0) lengthMs = Math.max(1, Date.now() - running.startedAt);
        // Delivered even when empty (a stopped track): the consumer orders pieces by index.
        void new Blob(parts, { type: this.#type }).arrayBuffer().then((buffer) => {
          this.#onPiece({ index, startedAt: running.startedAt, lengthMs, bytes: new Uint8Array(buffer), mimeType: this.#type });
          resolve();
        });
      };
    });
    recorder.start();
    const running: Running = {
      recorder,
      startedAt: Date.now(),
      stopped,
      end: (at) => {
        lengthMs = Math.max(1, at - running.startedAt);
        this.#ending.add(running);
        void stopped.then(() => this.#ending.delete(running));
        window.setTimeout(() => recorder.state !== 'inactive' && recorder.stop(), OVERLAP_MS);
      },
    };
    // The previous piece ends where this one starts.
    previous?.end(running.startedAt);
    this.#current = running;
  }
}
