/**
 * The listed part of a session as a timeline: one entry per listed chunk (a ready segment or a gap),
 * with where it sits on the capture's clock, when its first frame was captured, and whether it
 * breaks from the entry before it. Pure; the playlist and the viewers' socket messages both read it,
 * so an HLS player and the WebSocket viewer see the same stream.
 *
 * Discontinuity: a ready entry whose origin (the capture's clock) or init segment differs from the
 * previous ready entry's, or whose start is not where the previous one (plus any gaps) ended — a
 * capture client that restarted its recorder starts a new timeline.
 *
 * Capture time (`capturedAt`, PROGRAM-DATE-TIME): origin + start, where the origin is what the capture
 * client wrote into the chunk. A chunk without one continues its timeline's origin; the first chunk
 * of a timeline without one is estimated from when it arrived (upload time − its end).
 */
import { listedCount, type ChunkMap } from './chunks.ts';

export interface TimelineEntry {
  index: number;
  /** Failed for good: listed as `#EXT-X-GAP`. */
  gap: boolean;
  /** Media time of the first frame on the capture's timeline (s); for a gap, where it would start. */
  start: number;
  /** Seconds; a gap lasts the advertised chunk length. */
  duration: number;
  /** Wall-clock ms when the first frame was captured; null for a gap. */
  capturedAt: number | null;
  /** The timestamps (or the format) do not continue from the previous ready entry. */
  discontinuity: boolean;
  /** Ready entries: the init segment id and codecs they need. */
  init: string | null;
  codecs: string | null;
}

/** Starts further than this from where the previous entry ended (plus half a chunk per gap) break the timeline. */
const CONTINUITY_TOLERANCE_S = 0.25;

/** Every listed entry (the settled prefix), in order. */
export function timeline(chunks: ChunkMap, chunkSeconds: number): TimelineEntry[] {
  const listed = listedCount(chunks);
  const entries: TimelineEntry[] = [];
  let end: number | null = null; // media time where the previous entry ended
  let gapsSinceReady = 0;
  let previous: { origin: number | null; init: string | null } | null = null;
  let origin: number | null = null; // the current timeline's origin (known or estimated)
  for (let i = 0; i < listed; i++) {
    const chunk = chunks[i]!;
    if (chunk.status !== 'ready') {
      const start: number = end ?? 0;
      entries.push({
        index: i,
        gap: true,
        start,
        duration: chunkSeconds,
        capturedAt: null,
        discontinuity: false,
        init: null,
        codecs: null,
      });
      end = start + chunkSeconds;
      gapsSinceReady++;
      continue;
    }
    const start: number = chunk.start ?? end ?? 0;
    const duration = chunk.duration ?? chunkSeconds;
    const own = chunk.origin ?? null;
    let discontinuity = false;
    if (previous !== null && end !== null) {
      const slack = CONTINUITY_TOLERANCE_S + (gapsSinceReady * chunkSeconds) / 2;
      discontinuity =
        (own !== null && previous.origin !== null && Math.abs(own - previous.origin) > 1) ||
        (chunk.init ?? null) !== previous.init ||
        Math.abs(start - end) > slack;
    }
    if (own !== null) origin = own;
    else if (discontinuity || origin === null) origin = chunk.uploadedAt - (start + duration) * 1000;
    entries.push({
      index: i,
      gap: false,
      start,
      duration,
      capturedAt: origin + start * 1000,
      discontinuity,
      init: chunk.init ?? null,
      codecs: chunk.codecs ?? null,
    });
    previous = { origin: own, init: chunk.init ?? null };
    end = start + duration;
    gapsSinceReady = 0;
  }
  return entries;
}
