/**
 * HLS playlist rendering: a pure function of a session's chunk map. The output is an EVENT playlist
 * of CMAF segments that only ever grows (see chunks.ts `listedCount`):
 *   - `#EXT-X-MAP` before the first segment and wherever the init segment changes;
 *   - `#EXT-X-PROGRAM-DATE-TIME` on every segment: when its first frame was captured;
 *   - `#EXT-X-DISCONTINUITY` where the capture's timeline (or the format) breaks;
 *   - `#EXT-X-GAP` for a chunk that failed for good, never a silent hole.
 * `#EXT-X-VERSION:8`: MAP in a media playlist needs 6, GAP needs 8, and a gap may appear at any time
 * while a playlist must not change its version, so it declares 8 from the start.
 */
import type { ChunkMap } from './chunks.ts';
import { timeline, type TimelineEntry } from './timeline.ts';

export const PLAYLIST_VERSION = 8;

export interface PlaylistInput {
  chunks: ChunkMap;
  /** The session has ended and every chunk settled: `#EXT-X-ENDLIST` is written. */
  closed: boolean;
  /** Advertised chunk length: the duration given to gaps and the smallest target duration. */
  chunkSeconds: number;
  /** URI of segment `index` (signed URL, relative path, …). */
  segmentUri: (index: number) => string;
  /** URI of init segment `id`. */
  initUri: (id: string) => string;
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
export function renderPlaylist(input: PlaylistInput, entries: TimelineEntry[] = timeline(input.chunks, input.chunkSeconds)): string {
  const lines = [
    '#EXTM3U',
    `#EXT-X-VERSION:${PLAYLIST_VERSION}`,
    '#EXT-X-PLAYLIST-TYPE:EVENT',
    `#EXT-X-TARGETDURATION:${targetDuration(input.chunks, input.chunkSeconds)}`,
    '#EXT-X-MEDIA-SEQUENCE:0',
    '#EXT-X-INDEPENDENT-SEGMENTS',
    // The server holds `?_HLS_msn=N` requests until segment N is listed (LL-HLS blocking reload).
    '#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES',
  ];
  let init: string | null = null;
  for (const entry of entries) {
    if (entry.discontinuity) lines.push('#EXT-X-DISCONTINUITY');
    if (entry.gap) {
      lines.push('#EXT-X-GAP', `#EXTINF:${entry.duration.toFixed(3)},`, input.segmentUri(entry.index));
      continue;
    }
    if (entry.init !== null && entry.init !== init) {
      init = entry.init;
      lines.push(`#EXT-X-MAP:URI="${input.initUri(init)}"`);
    }
    if (entry.capturedAt !== null) lines.push(`#EXT-X-PROGRAM-DATE-TIME:${new Date(entry.capturedAt).toISOString()}`);
    lines.push(`#EXTINF:${entry.duration.toFixed(3)},`, input.segmentUri(entry.index));
  }
  if (input.closed) lines.push('#EXT-X-ENDLIST');
  return lines.join('\n') + '\n';
}
