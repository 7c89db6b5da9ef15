/**
 * Names for files in a pool's scratch folder: node-av 6.1.1 never frees the I/O buffer of a demuxer or
 * muxer over memory callbacks (≈ 40 KB each, two demuxers and a muxer per chunk — the largest part of a
 * worker's native growth), while libav's own file I/O frees everything. So chunks reach libav, and
 * segments leave it, through short-lived files in a private, RAM-backed folder (see `GpuPool`).
 */
import { rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';
import { Demuxer } from 'node-av/api';

let made = 0;

/** A path in `dir` no other file of this process uses: the thread's id and a counter. */
export function scratchPath(dir: string, label: string): string {
  return join(dir, `${threadId}-${made++}-${label}`);
}

/**
 * Opens `bytes` in libav through a file in `dir`, unlinked as soon as it is open (libav holds its
 * descriptor: the data lives until the demuxer closes). Null when the file cannot be written (the folder
 * is full or gone: a container's small /dev/shm, say); throws when libav refuses the bytes.
 */
export function demuxFromFile(bytes: Buffer, dir: string, label: string): Demuxer | null {
  // No extension, and the MP4 demuxer named: clients' bytes are not probed for any format libav knows.
  const path = scratchPath(dir, label);
  try {
    writeFileSync(path, bytes, { mode: 0o600 });
  } catch {
    rmSync(path, { force: true });
    return null;
  }
  try {
    return Demuxer.openSync(path, { format: 'mp4' });
  } finally {
    unlinkSync(path);
  }
}
