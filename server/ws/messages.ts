/** Turns a session's typed changes into the messages its subscribers receive. */
import type { SessionChange, SessionView } from '../../actors/index.ts';
import type { DashboardMessage, PlaylistEntry, ServerMessage } from '../../protocol/messages.ts';
import { chunkInfo, toDashboardSession, toSettingsWire } from '../wire.ts';

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
      case 'settings':
        out.push({ type: 'settings', session_id: sessionId, ...toSettingsWire(change.settings), mode: change.mode });
        break;
      case 'phase':
      case 'live': // the dashboard and the status show it; a session socket's client needs it not
        break;
    }
  }
  return out;
}

/** The dashboard's message for one session that changed. */
export function toDashboardMessage(view: SessionView): DashboardMessage {
  return { type: 'session', ...toDashboardSession(view) };
}
