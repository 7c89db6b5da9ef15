/**
 * Names for files in a pool's scratch folder: node-av 6.1.1 never frees the I/O buffer of a demuxer or
 * muxer over memory callbacks (≈ 40 KB each, two demuxers and a muxer per chunk — the largest part of a
 * worker's native growth), while libav's own file I/O frees everything. So chunks reach libav, and
 * segments leave it, through short-lived files in a private, RAM-backed folder (see `GpuPool`).
 */
import { join } from 'node:path';
import { threadId } from 'node:worker_threads';

let made = 0;

/** A path in `dir` no other file of this process uses: the thread's id and a counter. */
export function scratchPath(dir: string, label: string): string {
  return join(dir, `${threadId}-${made++}-${label}`);
}
