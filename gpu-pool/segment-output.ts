/**
 * The memory a worker's segments leave libav through: one write-only I/O context, made once per worker
 * and lent to one segment at a time.
 *
 * node-av 6.1.1 never frees the buffer of an I/O context over JavaScript callbacks (`avio_context_free`
 * without freeing `ctx->buffer`): a muxer with its own context per segment left that buffer behind every
 * time (≈ 4 KiB per chunk with a 4-KB buffer; gpu-pool/README "node-av notes"). Lent over and over, the
 * one context's buffer is the only one there is. Between two segments the context is flushed and whatever
 * it gave is taken, so no byte of one segment can reach the next, even after a failure.
 */
import { IOContext } from 'node-av/lib';

/** Bytes libav writes in one go; the mov muxer writes a fragment in a few large pieces anyway. */
const BUFFER_BYTES = 64 * 1024;

export class SegmentOutput {
  readonly #io: IOContext;
  #parts: Buffer[] = [];
  #lent = false;
  #closed = false;

  constructor() {
    this.#io = new IOContext();
    this.#io.allocContextWithCallbacks(BUFFER_BYTES, 1, null, (chunk: Buffer) => {
      // libav reuses its buffer after the callback returns: keep a copy.
      this.#parts.push(Buffer.from(chunk));
      return chunk.length;
    });
  }

  /** Lends the context to one segment's muxer; throws while another segment has it. */
  lend(): IOContext {
    if (this.#closed) throw new Error('the segment output is closed');
    if (this.#lent) throw new Error('the segment output is in use by another segment');
    this.#lent = true;
    this.#discard();
    return this.#io;
  }

  /** Takes it back after the muxer is done with it (flushed, freed or failed): returns what was written. */
  giveBack(): Buffer {
    if (!this.#lent) throw new Error('the segment output was not lent');
    this.#io.flushSync();
    const bytes = Buffer.concat(this.#parts);
    this.#parts = [];
    this.#lent = false;
    return bytes;
  }

  #discard(): void {
    this.#io.flushSync();
    this.#parts = [];
  }

  /** Frees the context (its buffer stays with node-av, once per worker). Safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#parts = [];
    this.#io.freeContext();
  }
}
