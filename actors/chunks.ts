/**
 * Pure functions over a session's chunk map: ordering, settling and dispatch planning.
 * Kept apart from the machine so they can be tested table by table.
 */
import type { ChunkRecord } from './types.ts';

export type ChunkMap = Readonly<Record<string, ChunkRecord>>;

/** True when the chunk will not change any more (ready, or failed for good). */
export function isSettled(chunk: ChunkRecord | undefined): boolean {
  return chunk !== undefined && (chunk.status === 'ready' || chunk.status === 'failed');
}

/** Chunks sorted by index. */
export function sortedChunks(chunks: ChunkMap): ChunkRecord[] {
  return Object.values(chunks).sort((a, b) => a.index - b.index);
}

/**
 * How many entries the playlist may list: the length of the prefix 0..n-1 in which every chunk
 * has settled. The playlist is append-only because this number never decreases (a settled chunk
 * never changes again) and nothing is ever listed behind an entry a player may already have played.
 */
export function listedCount(chunks: ChunkMap): number {
  let n = 0;
  while (isSettled(chunks[n])) n++;
  return n;
}

/** One past the highest index known, or the client's announced count if larger. */
export function expectedLength(chunks: ChunkMap, expectedChunks: number | null): number {
  let max = -1;
  for (const key of Object.keys(chunks)) max = Math.max(max, Number(key));
  return Math.max(max + 1, expectedChunks ?? 0);
}

/** The longest error a chunk record keeps (a decoder's message can be long; the record is not a log). */
export const MAX_ERROR_CHARS = 500;

/** An error message cut to what a record keeps. */
export function clipError(message: string): string {
  return message.length <= MAX_ERROR_CHARS ? message : `${message.slice(0, MAX_ERROR_CHARS - 1)}…`;
}

/**
 * How many chunks an ending may announce beyond the highest one seen: a client's last uploads whose
 * events are still on their way (the ending's bucket reconcile finds them). Nothing more: every
 * announced-but-missing chunk becomes a gap entry that every playlist carries for good.
 */
export const UNSEEN_MARGIN = 32;

/** One past the highest index known (0 for none). */
export function seenLength(chunks: ChunkMap): number {
  let max = -1;
  for (const key of Object.keys(chunks)) max = Math.max(max, Number(key));
  return max + 1;
}

/**
 * The largest chunk count an ending may announce: what was seen plus a margin, which the session's
 * age at its chunk length also bounds (a session 4 s old at 2-s chunks cannot be missing 30 more).
 */
export function announceLimit(chunks: ChunkMap, createdAt: number, now: number, chunkSeconds: number): number {
  const byAge = Math.ceil(Math.max(0, now - createdAt) / 1000 / chunkSeconds) + 2;
  return seenLength(chunks) + Math.min(UNSEEN_MARGIN, byAge);
}

/** True when every chunk below `expectedLength` exists and has settled: nothing left to wait for. */
export function allSettled(chunks: ChunkMap, expectedChunks: number | null): boolean {
  return listedCount(chunks) >= expectedLength(chunks, expectedChunks);
}

export function countByStatus(chunks: ChunkMap): Record<ChunkRecord['status'], number> {
  const counts = { uploaded: 0, queued: 0, processing: 0, ready: 0, failed: 0 };
  for (const chunk of Object.values(chunks)) counts[chunk.status]++;
  return counts;
}

/**
 * Which waiting chunks to start now: lowest index first (the playlist needs them in order),
 * skipping chunks that wait for a retry delay, up to `maxInFlight` in processing at once.
 */
export function planDispatch(chunks: ChunkMap, maxInFlight: number): number[] {
  let inFlight = 0;
  const waiting: number[] = [];
  for (const chunk of Object.values(chunks)) {
    if (chunk.status === 'processing') inFlight++;
    else if ((chunk.status === 'uploaded' || chunk.status === 'queued') && !chunk.retryPending) {
      waiting.push(chunk.index);
    }
  }
  waiting.sort((a, b) => a - b);
  return waiting.slice(0, Math.max(0, maxInFlight - inFlight));
}

/** Retry delay before attempt `attempt + 1`: doubles each time, capped at 30 s. */
export function retryDelay(baseMs: number, attempts: number): number {
  return Math.min(30_000, baseMs * 2 ** Math.max(0, attempts - 1));
}
