/**
 * The wire forms of a session's state (snake_case, as the protocol has them): its status for the HTTP
 * API and the session socket, its chunks, its settings, and its line on the dashboard.
 */
import { countByStatus, listedCount, sortedChunks, type ChunkRecord, type SessionView, type StereoSettings } from '../actors/index.ts';
import { playlistUrlOf, vrPlaylistUrlOf } from './http/route.ts';
import type {
  ChunkInfo,
  DashboardChunk,
  DashboardSession,
  LiveStatus,
  PoolStatus,
  SessionStatus,
  StereoSettingsWire,
} from '../protocol/messages.ts';

/** Chunks the dashboard draws per session (its latency timeline). */
const DASHBOARD_CHUNKS = 60;

export function chunkInfo(chunk: ChunkRecord): ChunkInfo {
  const info: ChunkInfo = { index: chunk.index, status: chunk.status, attempts: chunk.attempts };
  if (chunk.error !== undefined) info.error = chunk.error;
  if (chunk.duration !== undefined) info.duration = chunk.duration;
  return info;
}

export function toSettingsWire(settings: StereoSettings): StereoSettingsWire {
  return { stereo_strength: settings.strength, convergence: settings.convergence };
}

/** The settings named in a (validated) wire object; absent ones stay absent. */
export function fromSettingsWire(wire: Partial<StereoSettingsWire>): Partial<StereoSettings> {
  const settings: Partial<StereoSettings> = {};
  if (wire.stereo_strength !== undefined) settings.strength = wire.stereo_strength;
  if (wire.convergence !== undefined) settings.convergence = wire.convergence;
  return settings;
}

/** Chunks a status carries by default (the newest), and at most when asked for a page. */
export const STATUS_CHUNKS = 200;
export const MAX_STATUS_CHUNKS = 1000;
/** Chunks each session of a list carries (the newest): the list is for finding sessions. */
export const LIST_CHUNKS = 20;

/** Which of a session's chunks a status carries: from index `from` (null: the newest `limit`). */
export interface ChunkPage {
  from: number | null;
  limit: number;
}

/**
 * The wire form of a session's status, its chunks one page of them (a long session has tens of
 * thousands: no status is allowed to grow with its session's age).
 */
export function toStatus(view: SessionView, baseUrl: string, page: ChunkPage = { from: null, limit: STATUS_CHUNKS }): SessionStatus {
  const c = view.context;
  const counts = countByStatus(c.chunks);
  const sorted = sortedChunks(c.chunks);
  const start = page.from === null ? Math.max(0, sorted.length - page.limit) : firstAtOrAfter(sorted, page.from);
  const shown = sorted.slice(start, start + page.limit);
  return {
    session_id: c.sessionId,
    mode: c.mode,
    state: view.phase,
    created_at: new Date(c.createdAt).toISOString(),
    ended_at: c.endedAt === null ? null : new Date(c.endedAt).toISOString(),
    end_reason: c.endReason,
    playlist_url: playlistUrlOf(baseUrl, c.sessionId),
    vr_playlist_url: vrPlaylistUrlOf(baseUrl, c.sessionId, c.mode),
    listed: listedCount(c.chunks),
    ready: counts.ready,
    failed: counts.failed,
    pending: counts.uploaded + counts.queued + counts.processing,
    chunks: shown.map(chunkInfo),
    chunks_total: sorted.length,
    chunks_next: start + page.limit < sorted.length ? sorted[start + page.limit]!.index : null,
    settings: toSettingsWire(c.settings),
    live: toLiveStatus(view),
  };
}

/** The live path on the wire: none once the session ended (it stops with it). */
export function toLiveStatus(view: SessionView): LiveStatus {
  const live = view.phase === 'ended' ? undefined : view.context.live;
  return { publishing: live?.publishing ?? false, viewers: live?.viewers ?? 0 };
}

/** Position of the first chunk whose index is `index` or more (chunks sorted by index). */
function firstAtOrAfter(sorted: ChunkRecord[], index: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]!.index < index) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * When a chunk's capture ended (its cut): its origin + end time on the capture client's clock, or its
 * upload when it carries no capture time.
 */
export function chunkCutAt(chunk: Pick<ChunkRecord, 'origin' | 'start' | 'duration' | 'uploadedAt'>): number {
  if (chunk.origin !== undefined && chunk.start !== undefined && chunk.duration !== undefined) {
    return chunk.origin + (chunk.start + chunk.duration) * 1000;
  }
  return chunk.uploadedAt;
}

/** How long a ready chunk took: from its cut to its segment being stored. */
export function chunkLatencyMs(chunk: ChunkRecord): number | null {
  if (chunk.status !== 'ready' || chunk.readyAt === undefined) return null;
  return Math.round(chunk.readyAt - chunkCutAt(chunk));
}

/** A session's line on the dashboard. */
export function toDashboardSession(view: SessionView): DashboardSession {
  const c = view.context;
  const counts = countByStatus(c.chunks);
  const sorted = sortedChunks(c.chunks);
  const chunks: DashboardChunk[] = sorted.slice(-DASHBOARD_CHUNKS).map((chunk) => ({
    index: chunk.index,
    status: chunk.status,
    latency_ms: chunkLatencyMs(chunk),
  }));
  return {
    session_id: c.sessionId,
    state: view.phase,
    mode: c.mode,
    created_at: new Date(c.createdAt).toISOString(),
    ended_at: c.endedAt === null ? null : new Date(c.endedAt).toISOString(),
    listed: listedCount(c.chunks),
    uploaded: sorted.length,
    ready: counts.ready,
    failed: counts.failed,
    pending: counts.uploaded + counts.queued + counts.processing,
    settings: toSettingsWire(c.settings),
    live: toLiveStatus(view),
    chunks,
  };
}

/** The pool's load on the wire, from its stats (missing figures are 0). */
export function toPoolStatus(stats: Record<string, number>): PoolStatus {
  return {
    threads: stats.threads ?? 0,
    queue_size: stats.queueSize ?? 0,
    utilization: stats.utilization ?? 0,
    completed: stats.completed ?? 0,
  };
}
