/**
 * The session actor: one per stream session. It owns the chunk and segment state and decides
 * what happens next; it performs no I/O. Processing a chunk is the `processChunk` actor, which the
 * server provides (`sessionMachine.provide({ actors: { processChunk } })`): it reads the chunk, runs
 * the pool, writes the segment and only then sends back `CHUNK_PROCESSED`.
 *
 *   starting ─▶ live ──END / idle──▶ ending ──all settled / timeout──▶ ended (final)
 *
 * Invariants:
 * - a chunk index is processed at most once at a time; stale results (older attempts) are ignored;
 * - a chunk settles (ready | failed) exactly once and never changes afterwards;
 * - the playlist lists the settled prefix only (see chunks.ts `listedCount`), so it is append-only.
 */
import { assign, enqueueActions, fromCallback, setup, type ActorRefFrom, type SnapshotFrom } from 'xstate';
import { allSettled, clipError, expectedLength, isSettled, planDispatch, retryDelay, seenLength, UNSEEN_MARGIN } from './chunks.ts';
import {
  newSessionData,
  type ChunkRecord,
  type EndReason,
  type LiveState,
  type SessionConfig,
  type SessionContext,
  type SessionRecord,
  type StageTimings,
  type StereoMode,
  type StereoSettings,
} from './types.ts';

/** What the pool step reports for one attempt. */
export type ProcessResult =
  | {
      ok: true;
      duration: number;
      start: number;
      segmentBytes: number;
      timings: StageTimings;
      /** Id of the stored init segment the segment needs, and its codecs. */
      init: string;
      codecs: string;
      /** Wall-clock ms of media time 0 carried by the chunk, when it carries one. */
      origin: number | null;
    }
  | {
      ok: false;
      error: string;
      /** No retry can help (e.g. the chunk object is gone). */
      permanent?: boolean;
    };

/** How the chunk became known; only for logs (every path is deduplicated on the index). */
export type ChunkSource = 'socket' | 'queue' | 'restore';

export type SessionEvent =
  | { type: 'CHUNK_UPLOADED'; index: number; bytes?: number; source: ChunkSource }
  | { type: 'CHUNK_REJECTED'; index: number; reason: string }
  | { type: 'CHUNK_PROCESSED'; index: number; attempt: number; result: ProcessResult }
  | { type: 'RETRY_CHUNK'; index: number }
  | { type: 'END'; expectedChunks?: number | null }
  /** Validated by the caller (ranges in types.ts); applies to chunks dispatched from now on. */
  | { type: 'SET_SETTINGS'; settings: Partial<StereoSettings>; mode?: StereoMode }
  /** Every control token issued so far stops working (their generation is now below the session's). */
  | { type: 'ROTATE_CONTROL' }
  /** The live path's publisher or viewers changed (server/live/); nothing else depends on it. */
  | { type: 'LIVE_CHANGED'; live: LiveState };

export interface ProcessChunkInput {
  sessionId: string;
  mode: StereoMode;
  settings: StereoSettings;
  index: number;
  attempt: number;
}

export interface SessionInput {
  sessionId: string;
  mode: StereoMode;
  /** A new session's settings; a restored record keeps its own (records from before settings get these). */
  settings: StereoSettings;
  config: SessionConfig;
  /** Creation time (ms); defaults to now. */
  createdAt?: number;
  /** A persisted record to resume from (after a restart). */
  restored?: SessionRecord;
}

export interface SessionOutput {
  reason: EndReason;
  ready: number;
  failed: number;
}

/** The id of the child actor processing attempt `attempt` of chunk `index`. */
export function processChildId(index: number, attempt: number): string {
  return `chunk-${index}-${attempt}`;
}

function initialContext(input: SessionInput): SessionContext {
  const r = input.restored;
  if (!r) return { ...newSessionData(input.sessionId, input.mode, input.createdAt ?? Date.now(), input.settings), config: input.config };
  // Work that was in flight when the process stopped is started again; settled chunks stay settled.
  const chunks: Record<string, ChunkRecord> = {};
  for (const [key, chunk] of Object.entries(r.chunks)) {
    chunks[key] = isSettled(chunk) ? chunk : { ...chunk, status: 'uploaded', retryPending: false };
  }
  // The live path ran on the node that stopped: whoever publishes or watches reconnects.
  const { version: _version, closed: _closed, live: _live, ...data } = r;
  return { ...data, settings: data.settings ?? input.settings, chunks, config: input.config };
}

export const sessionMachine = setup({
  types: {
    context: {} as SessionContext,
    events: {} as SessionEvent,
    input: {} as SessionInput,
    output: {} as SessionOutput,
  },
  actors: {
    // Replaced by the server. The default fails loudly so a missing provide() is obvious.
    processChunk: fromCallback<{ type: 'noop' }, ProcessChunkInput>(({ sendBack, input }) => {
      sendBack({
        type: 'CHUNK_PROCESSED',
        index: input.index,
        attempt: input.attempt,
        result: { ok: false, error: 'processChunk was not provided', permanent: true },
      } satisfies SessionEvent);
    }),
  },
  guards: {
    isNewChunk: ({ context, event }) => event.type === 'CHUNK_UPLOADED' && context.chunks[event.index] === undefined,
    allSettled: ({ context }) => allSettled(context.chunks, context.expectedChunks),
    restoredEnded: ({ context }) => context.endedAt !== null,
  },
  delays: {
    idleTimeout: ({ context }) => Math.max(0, context.lastChunkAt + context.config.idleMs - Date.now()),
    settleTimeout: ({ context }) => Math.max(0, (context.endedAt ?? Date.now()) + context.config.settleTimeoutMs - Date.now()),
  },
  actions: {
    acceptChunk: assign(({ context, event }) => {
      if (event.type !== 'CHUNK_UPLOADED' || context.chunks[event.index] !== undefined) return {};
      const now = Date.now();
      const chunk: ChunkRecord = { index: event.index, status: 'uploaded', attempts: 0, uploadedAt: now };
      if (event.bytes !== undefined) chunk.bytes = event.bytes;
      return { chunks: { ...context.chunks, [event.index]: chunk }, lastChunkAt: now };
    }),

    rejectChunk: assign(({ context, event }) => {
      if (event.type !== 'CHUNK_REJECTED') return {};
      const prev = context.chunks[event.index];
      // A chunk already being processed or settled keeps its own outcome.
      if (prev && (isSettled(prev) || prev.status === 'processing')) return {};
      const now = Date.now();
      const chunk: ChunkRecord = {
        ...(prev ?? { index: event.index, attempts: 0, uploadedAt: now }),
        status: 'failed',
        error: clipError(event.reason),
      };
      return { chunks: { ...context.chunks, [event.index]: chunk }, lastChunkAt: now };
    }),

    /** Starts as many waiting chunks as the in-flight limit allows, lowest index first. */
    dispatch: enqueueActions(({ context, enqueue }) => {
      const start = planDispatch(context.chunks, context.config.maxInFlight);
      const chunks = { ...context.chunks };
      let changed = false;
      for (const chunk of Object.values(context.chunks)) {
        if (chunk.status === 'uploaded' && !start.includes(chunk.index)) {
          chunks[chunk.index] = { ...chunk, status: 'queued' };
          changed = true;
        }
      }
      for (const index of start) {
        const chunk = chunks[index]!;
        chunks[index] = { ...chunk, status: 'processing', attempts: chunk.attempts + 1, retryPending: false };
        changed = true;
      }
      if (!changed) return;
      enqueue.assign({ chunks });
      for (const index of start) {
        const attempt = chunks[index]!.attempts;
        enqueue.spawnChild('processChunk', {
          id: processChildId(index, attempt),
          input: { sessionId: context.sessionId, mode: context.mode, settings: context.settings, index, attempt },
        });
      }
    }),

    /** Records one attempt's outcome: ready, a delayed retry, or failed for good. */
    settleAttempt: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'CHUNK_PROCESSED') return;
      enqueue.stopChild(processChildId(event.index, event.attempt));
      const chunk = context.chunks[event.index];
      if (chunk?.status !== 'processing' || chunk.attempts !== event.attempt) return; // stale
      const { result } = event;
      if (result.ok) {
        const ready: ChunkRecord = {
          ...chunk,
          status: 'ready',
          duration: result.duration,
          start: result.start,
          segmentBytes: result.segmentBytes,
          timings: result.timings,
          init: result.init,
          codecs: result.codecs,
          readyAt: Date.now(),
        };
        if (result.origin !== null) ready.origin = result.origin;
        delete ready.error;
        enqueue.assign({ chunks: { ...context.chunks, [event.index]: ready } });
        return;
      }
      if (!result.permanent && chunk.attempts < context.config.maxAttempts) {
        enqueue.assign({
          chunks: { ...context.chunks, [event.index]: { ...chunk, status: 'queued', retryPending: true, error: clipError(result.error) } },
        });
        enqueue.raise({ type: 'RETRY_CHUNK', index: event.index }, { delay: retryDelay(context.config.retryDelayMs, chunk.attempts) });
        return;
      }
      enqueue.assign({
        chunks: { ...context.chunks, [event.index]: { ...chunk, status: 'failed', retryPending: false, error: clipError(result.error) } },
      });
    }),

    clearRetry: assign(({ context, event }) => {
      if (event.type !== 'RETRY_CHUNK') return {};
      const chunk = context.chunks[event.index];
      if (!chunk?.retryPending) return {};
      return { chunks: { ...context.chunks, [event.index]: { ...chunk, retryPending: false } } };
    }),

    markEnd: assign(({ context, event }) => {
      // Bounded here too (a bus message may carry anything): what was seen plus the margin.
      const announced = event.type === 'END' && typeof event.expectedChunks === 'number' ? event.expectedChunks : null;
      const expected = announced === null ? null : Math.min(announced, seenLength(context.chunks) + UNSEEN_MARGIN);
      return {
        endedAt: context.endedAt ?? Date.now(),
        endReason: context.endReason ?? ('requested' as const),
        expectedChunks: expected === null ? context.expectedChunks : Math.max(expected, context.expectedChunks ?? 0),
      };
    }),

    applySettings: assign(({ context, event }) => {
      if (event.type !== 'SET_SETTINGS') return {};
      return { settings: { ...context.settings, ...event.settings }, ...(event.mode ? { mode: event.mode } : {}) };
    }),

    rotateControl: assign(({ context }) => ({ controlGeneration: (context.controlGeneration ?? 0) + 1 })),

    noteLive: assign(({ event }) => (event.type === 'LIVE_CHANGED' ? { live: { ...event.live } } : {})),

    markIdle: assign({ endedAt: () => Date.now(), endReason: 'idle' as const }),

    /** The settle timeout passed: whatever has not settled (or never arrived) becomes a gap. */
    failUnsettled: assign(({ context }) => {
      const chunks = { ...context.chunks };
      const length = expectedLength(chunks, context.expectedChunks);
      const now = Date.now();
      for (let i = 0; i < length; i++) {
        const chunk = chunks[i];
        if (!chunk) {
          chunks[i] = { index: i, status: 'failed', attempts: 0, uploadedAt: now, error: 'chunk never arrived' };
        } else if (!isSettled(chunk)) {
          chunks[i] = { ...chunk, status: 'failed', retryPending: false, error: 'timed out after the session ended' };
        }
      }
      return { chunks };
    }),
  },
}).createMachine({
  id: 'session',
  context: ({ input }) => initialContext(input),
  initial: 'starting',
  on: {
    CHUNK_REJECTED: { actions: ['rejectChunk', 'dispatch'] },
    CHUNK_PROCESSED: { actions: ['settleAttempt', 'dispatch'] },
    RETRY_CHUNK: { actions: ['clearRetry', 'dispatch'] },
    SET_SETTINGS: { actions: 'applySettings' },
    ROTATE_CONTROL: { actions: 'rotateControl' },
    LIVE_CHANGED: { actions: 'noteLive' },
  },
  states: {
    // A restored session that had ended goes straight to `ending`, which closes at once when
    // everything had settled, or finishes the work that was in flight.
    starting: {
      always: [{ guard: 'restoredEnded', target: 'ending' }, { target: 'live' }],
    },
    live: {
      entry: 'dispatch',
      after: { idleTimeout: { target: 'ending', actions: 'markIdle' } },
      on: {
        // A new chunk restarts the idle timer (re-entering restarts `after`); duplicates change nothing.
        CHUNK_UPLOADED: { guard: 'isNewChunk', target: 'live', reenter: true, actions: 'acceptChunk' },
        END: { target: 'ending', actions: 'markEnd' },
      },
    },
    ending: {
      entry: 'dispatch',
      always: { guard: 'allSettled', target: 'ended' },
      after: { settleTimeout: { target: 'ended', actions: 'failUnsettled' } },
      on: {
        CHUNK_UPLOADED: { guard: 'isNewChunk', actions: ['acceptChunk', 'dispatch'] },
        END: { actions: 'markEnd' },
      },
    },
    ended: {
      type: 'final',
    },
  },
  output: ({ context }) => {
    let ready = 0;
    let failed = 0;
    for (const chunk of Object.values(context.chunks)) {
      if (chunk.status === 'ready') ready++;
      else if (chunk.status === 'failed') failed++;
    }
    return { reason: context.endReason ?? 'requested', ready, failed };
  },
});

export type SessionMachine = typeof sessionMachine;
export type SessionActor = ActorRefFrom<SessionMachine>;
export type SessionSnapshot = SnapshotFrom<SessionMachine>;
