/** Turns a session's typed changes into the messages its subscribers receive. */
import type { SessionChange, SessionView } from '../../actors/index.ts';
import type { ChunkInfo, DashboardMessage, PlaylistEntry, ServerMessage } from '../../protocol/messages.ts';
import type { ChunkRecord } from '../../actors/types.ts';
import { listedCount, countByStatus } from '../../actors/chunks.ts';

export function chunkInfo(chunk: ChunkRecord): ChunkInfo {
  const info: ChunkInfo = { index: chunk.index, status: chunk.status, attempts: chunk.attempts };
  if (chunk.error !== undefined) info.error = chunk.error;
  if (chunk.duration !== undefined) info.duration = chunk.duration;
  return info;
}

/**
 * The messages a session's subscribers receive for one batch of changes, in order. `entries(from)`
 * gives the listed entries from `from` on (with signed URLs) for the `playlist` message.
 */
export async function toServerMessages(
  sessionId: string,
  changes: SessionChange[],
  entries: (from: number) => Promise<PlaylistEntry[]>,
): Promise<ServerMessage[]> {
  const out: ServerMessage[] = [];
  for (const change of changes) {
    switch (change.kind) {
      case 'chunk':
        out.push({ type: 'chunk', session_id: sessionId, chunk: chunkInfo(change.chunk) });
        break;
      case 'segment': {
        const t = change.chunk.timings;
        out.push({
          type: 'segment',
          session_id: sessionId,
          index: change.chunk.index,
          duration: change.chunk.duration ?? 0,
          bytes: change.chunk.segmentBytes ?? 0,
          timings: {
            decode_ms: t?.decode ?? 0,
            depth_ms: t?.depth ?? 0,
            stereo_ms: t?.stereo ?? 0,
            encode_ms: t?.encode ?? 0,
            total_ms: t?.total ?? 0,
          },
        });
        break;
      }
      case 'playlist':
        out.push({
          type: 'playlist',
          session_id: sessionId,
          listed: change.listed,
          ended: change.closed,
          entries: change.listed > change.from ? await entries(change.from) : [],
        });
        break;
      case 'ended':
        out.push({ type: 'ended', session_id: sessionId, reason: change.reason, ready: change.ready, failed: change.failed });
        break;
      case 'phase':
        break;
    }
  }
  return out;
}

/** The dashboard's one-line view of a session, sent whenever its phase or playlist changes. */
export function toDashboardMessage(view: SessionView): DashboardMessage {
  const counts = countByStatus(view.context.chunks);
  return {
    type: 'session',
    session_id: view.context.sessionId,
    state: view.phase,
    mode: view.context.mode,
    listed: listedCount(view.context.chunks),
    ready: counts.ready,
    failed: counts.failed,
  };
}
