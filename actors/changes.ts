/**
 * What changed between two snapshots of a session, as typed changes the server turns into
 * socket messages. Pure: the server subscribes to the actor and diffs consecutive snapshots.
 */
import { listedCount } from './chunks.ts';
import type { ChunkRecord, EndReason, LiveState, SessionContext, StereoMode, StereoSettings } from './types.ts';

export type SessionPhase = 'live' | 'ending' | 'ended';

export interface SessionView {
  phase: SessionPhase;
  context: SessionContext;
}

export type SessionChange =
  | { kind: 'chunk'; chunk: ChunkRecord }
  | { kind: 'segment'; chunk: ChunkRecord }
  /** The playlist grew (entries `from`…`listed`−1 are new) or closed. */
  | { kind: 'playlist'; from: number; listed: number; closed: boolean }
  | { kind: 'phase'; phase: SessionPhase }
  /** Strength, convergence or the output format changed (`mode`: the format now). */
  | { kind: 'settings'; settings: StereoSettings; mode: StereoMode }
  /** The control token was rotated: tokens (and control sockets) of a lower generation lose control. */
  | { kind: 'control'; generation: number }
  /** The live path's publisher or viewers changed. */
  | { kind: 'live'; live: LiveState }
  | { kind: 'ended'; reason: EndReason; ready: number; failed: number };

function chunkChanged(a: ChunkRecord | undefined, b: ChunkRecord): boolean {
  return !a || a.status !== b.status || a.attempts !== b.attempts || a.retryPending !== b.retryPending;
}

/** Changes from `prev` (undefined for the first snapshot) to `next`, in a stable order. */
export function diffSessions(prev: SessionView | undefined, next: SessionView): SessionChange[] {
  const changes: SessionChange[] = [];
  const before = prev?.context.chunks ?? {};
  const after = next.context.chunks;
  const indices = Object.keys(after)
    .map(Number)
    .sort((a, b) => a - b);
  for (const index of indices) {
    const chunk = after[index]!;
    if (!chunkChanged(before[index], chunk)) continue;
    changes.push({ kind: 'chunk', chunk });
    if (chunk.status === 'ready') changes.push({ kind: 'segment', chunk });
  }
  const listedBefore = prev ? listedCount(before) : -1;
  const listedAfter = listedCount(after);
  const closedBefore = prev?.phase === 'ended';
  const closedAfter = next.phase === 'ended';
  if (listedAfter !== listedBefore || closedAfter !== closedBefore) {
    changes.push({ kind: 'playlist', from: Math.max(0, Math.min(listedBefore, listedAfter)), listed: listedAfter, closed: closedAfter });
  }
  const settings = next.context.settings;
  const was = prev?.context;
  if (
    was &&
    (was.settings.strength !== settings.strength || was.settings.convergence !== settings.convergence || was.mode !== next.context.mode)
  ) {
    changes.push({ kind: 'settings', settings, mode: next.context.mode });
  }
  const generation = next.context.controlGeneration ?? 0;
  if (prev && (prev.context.controlGeneration ?? 0) !== generation) changes.push({ kind: 'control', generation });
  const live = next.context.live;
  if (live && (prev?.context.live?.publishing !== live.publishing || prev?.context.live?.viewers !== live.viewers)) {
    changes.push({ kind: 'live', live });
  }
  if (prev?.phase !== next.phase) {
    changes.push({ kind: 'phase', phase: next.phase });
    if (next.phase === 'ended') {
      let ready = 0;
      let failed = 0;
      for (const chunk of Object.values(after)) {
        if (chunk.status === 'ready') ready++;
        else if (chunk.status === 'failed') failed++;
      }
      changes.push({ kind: 'ended', reason: next.context.endReason ?? 'requested', ready, failed });
    }
  }
  return changes;
}
