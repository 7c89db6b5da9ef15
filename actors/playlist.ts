/**
 * HLS playlist rendering: a pure function of a session's chunk map.
 * The output is an EVENT playlist that only ever grows (see chunks.ts `listedCount`).
 */
import { sortedChunks, listedCount, type ChunkMap } from './chunks.ts';

export interface PlaylistInput {
  chunks: ChunkMap;
  /** The session has ended and every chunk settled: `#EXT-X-ENDLIST` is written. */
  closed: boolean;
  /** Session creation (ms since epoch): the wall-clock anchor of media time 0. */
  createdAt: number;
  /** Advertised chunk length: the duration given to gaps and the smallest target duration. */
  chunkSeconds: number;
  /** URI of segment `index` (signed URL, relative path, …). */
  segmentUri: (index: number) => string;
}

/** `#EXT-X-TARGETDURATION`: every EXTINF rounded to the nearest integer must not exceed it. */
export function targetDuration(chunks: ChunkMap, chunkSeconds: number): number {
  let target = Math.ceil(chunkSeconds);
  for (const chunk of Object.values(chunks)) {
    if (chunk.duration !== undefined) target = Math.max(target, Math.round(chunk.duration));
  }
  return Math.max(1, target);
}

/** Renders the playlist text (LF line endings, trailing newline). */
export function renderPlaylist(input: PlaylistInput): string {
  const listed = listedCount(input.chunks);
  const lines = [
    '#EXTM3U',
    '#EXT-X-VERSION:3',
    '#EXT-X-PLAYLIST-TYPE:EVENT',
    `#EXT-X-TARGETDURATION:${targetDuration(input.chunks, input.chunkSeconds)}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    // The server holds `?_HLS_msn=N` requests until segment N is listed (LL-HLS blocking reload).
    '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES',
  ];
  let clock = 0; // media time of the next entry, in seconds
  let anchorNext = true; // write a PROGRAM-DATE-TIME before the next real segment
  for (const chunk of sortedChunks(input.chunks).slice(0, listed)) {
    if (chunk.status === 'ready') {
      const start = chunk.start ?? clock;
      if (anchorNext) {
        lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(input.createdAt + start * 1000).toISOString()}`);
        anchorNext = false;
      }
      const duration = chunk.duration ?? input.chunkSeconds;
      lines.push(`#EXTINF:${duration.toFixed(3)},`, input.segmentUri(chunk.index));
      clock = start + duration;
    } else {
      // Failed for good: a gap the player skips, never a silent hole that shifts later segments.
      lines.push('#EXT-X-GAP', `#EXTINF:${input.chunkSeconds.toFixed(3)},`, input.segmentUri(chunk.index));
      clock += input.chunkSeconds;
      anchorNext = true;
    }
  }
  if (input.closed) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}
