/**
 * Where a worker's segments leave libav: a short-lived file in the pool's private scratch folder per
 * segment, written by libav's own file I/O (`avio_open2` … `avio_closep`, which frees its buffer), read
 * back and removed when the segment is done.
 *
 * Not memory callbacks: node-av 6.1.1 never frees the buffer of an I/O context over JavaScript callbacks
 * (`avio_context_free` without `ctx->buffer`), so a context per segment left its buffer behind every
 * time (≈ 4 KiB per chunk with a 4-KB buffer), and one context kept for a worker's whole life keeps a
 * thread-safe function alive that stops the process from exiting on Node 26 once its worker is
 * terminated. Only when no file can be created there (a full or vanished folder) does a segment go
 * through memory, so it is still made.
 *
 * Lent to one segment at a time; whatever a segment that failed half-way wrote is dropped with its file.
 */
import { readFileSync, rmSync } from 'node:fs';
import { IOContext } from 'node-av/lib';
import { AVIO_FLAG_WRITE } from 'node-av/constants';
import { scratchPath } from './scratch.ts';

/** The I/O buffer of the fallback over memory: small, because node-av keeps it afterwards. */
const MEMORY_BUFFER_BYTES = 4096;

interface Lent {
  io: IOContext;
  /** The segment's file; null: through memory into `parts`. */
  path: string | null;
  parts: Buffer[];
}

export class SegmentOutput {
  readonly #dir: string;
  #lent: Lent | null = null;
  #closed = false;

  /** `dir`: a private folder, ideally RAM-backed (the pool's scratch folder). */
  constructor(dir: string) {
    this.#dir = dir;
  }

  /** Lends an I/O context to one segment's muxer; throws while another segment has one. */
  lend(): IOContext {
    if (this.#closed) throw new Error('the segment output is closed');
    if (this.#lent) throw new Error('the segment output is in use by another segment');
    const path = scratchPath(this.#dir, 'segment');
    const io = new IOContext();
    if (io.open2Sync(path, AVIO_FLAG_WRITE) >= 0) {
      this.#lent = { io, path, parts: [] };
    } else {
      rmSync(path, { force: true });
      const lent: Lent = { io, path: null, parts: [] };
      io.allocContextWithCallbacks(MEMORY_BUFFER_BYTES, 1, null, (chunk: Buffer) => {
        // libav reuses its buffer after the callback returns: keep a copy.
        lent.parts.push(Buffer.from(chunk));
        return chunk.length;
      });
      this.#lent = lent;
    }
    return io;
  }

  /**
   * Takes the context back once the muxer is done with it (its format context detached or freed):
   * returns every byte written. Throws when the file could not be written whole.
   */
  giveBack(): Buffer {
    const lent = this.#lent;
    if (!lent) throw new Error('the segment output was not lent');
    this.#lent = null;
    if (lent.path === null) {
      lent.io.flushSync();
      lent.io.freeContext();
      return Buffer.concat(lent.parts);
    }
    try {
      const code = lent.io.closepSync();
      if (code < 0) throw new Error(`the segment could not be written to ${this.#dir} (${code})`);
      return readFileSync(lent.path);
    } finally {
      rmSync(lent.path, { force: true });
    }
  }

  /** Takes the context back from a segment given up: what it wrote is dropped. Never throws. */
  drop(): void {
    try {
      if (this.#lent) this.giveBack();
    } catch {
      // Nothing of it is wanted.
    }
  }

  /** Drops what a segment still holds; nothing is lent afterwards. Safe twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.drop();
  }
}
