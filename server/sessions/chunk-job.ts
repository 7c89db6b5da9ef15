/**
 * The session actor's chunk work, provided to its machine as `processChunk`: read the chunk (and its
 * predecessor, for depth continuity), run the pool, store the init and the segment — durable before
 * the actor may list them — and report the result back; a failure is reported, never thrown.
 */
import { fromCallback } from 'xstate';
import type { ProcessChunkInput, SessionEvent } from '../../actors/index.ts';
import type { ChunkTask } from '../../gpu-pool/types.ts';
import { chunkKey, segmentKey } from '../../protocol/keys.ts';
import type { ChunkProcessor, ObjectStore } from '../adapters/ports.ts';
import type { Config } from '../config.ts';
import type { InitSegments } from '../init-segments.ts';
import { errorMessage, type Logger } from '../log.ts';
import type { ChunkTelemetry } from '../telemetry.ts';
import { chunkCutAt } from '../wire.ts';

export interface ChunkJobDeps {
  config: Pick<Config, 'depthWarmupFrames' | 'outputHeight'>;
  objects: ObjectStore;
  pool: ChunkProcessor;
  inits: InitSegments;
  log: Logger;
  telemetry?: ChunkTelemetry;
  /** When the session's chunk `index` was uploaded (for the capture → ready figure), if known. */
  uploadedAt(sessionId: string, index: number): number | undefined;
}

/**
 * The actor logic, and `drain`: resolves once every job started has finished what it was doing — a
 * stopped job still completes a segment write it had begun, so a closing server waits for it and
 * nothing is written after close.
 */
export function chunkJob(deps: ChunkJobDeps) {
  const running = new Set<Promise<void>>();
  const logic = fromCallback<{ type: 'noop' }, ProcessChunkInput>(({ sendBack, input }) => {
    const abort = new AbortController();
    const log = deps.log.child({ session_id: input.sessionId, chunk_index: input.index, attempt: input.attempt });
    const report = (result: Extract<SessionEvent, { type: 'CHUNK_PROCESSED' }>['result']) => {
      if (!abort.signal.aborted) sendBack({ type: 'CHUNK_PROCESSED', index: input.index, attempt: input.attempt, result });
    };
    const job = (async () => {
      // The previous chunk's input warms up the depth range (continuity whatever the completion order).
      const [chunk, previous] = await Promise.all([
        deps.objects.get(chunkKey(input.sessionId, input.index)),
        input.index > 0 && deps.config.depthWarmupFrames > 0
          ? deps.objects.get(chunkKey(input.sessionId, input.index - 1)).catch(() => undefined)
          : undefined,
      ]);
      if (!chunk) {
        deps.telemetry?.attemptFailed(true);
        report({ ok: false, error: 'the chunk object does not exist', permanent: true });
        return;
      }
      const task: ChunkTask = {
        chunk,
        previous: previous ?? null,
        mode: input.mode,
        outputHeight: deps.config.outputHeight,
        strength: input.settings.strength,
        convergence: input.settings.convergence,
      };
      const result = await deps.pool.run(task, { signal: abort.signal });
      // Stopped meanwhile (shutdown, or the session closed): the chunk is redone after a restart.
      if (abort.signal.aborted) return;
      // Durable before ready: the init and the segment are stored before the actor may list them.
      const init = await deps.inits.store(input.sessionId, result.init);
      await deps.objects.put(segmentKey(input.sessionId, input.index), result.media, 'video/iso.segment');
      const uploadedAt = deps.uploadedAt(input.sessionId, input.index);
      if (uploadedAt !== undefined) {
        const cut = chunkCutAt({ uploadedAt, origin: result.origin ?? undefined, start: result.start, duration: result.duration });
        deps.telemetry?.converted(Date.now() - cut, result.timings);
      }
      log.debug('segment ready', {
        duration: result.duration.toFixed(3),
        total_ms: Math.round(result.timings.total),
        bytes: result.media.byteLength,
        warmed_up: result.warmedUp,
      });
      report({
        ok: true,
        duration: result.duration,
        start: result.start,
        segmentBytes: result.media.byteLength,
        timings: result.timings,
        init,
        codecs: result.codecs,
        origin: result.origin,
      });
    })().catch((error: unknown) => {
      if (abort.signal.aborted) return;
      log.warn('chunk attempt failed', { error: errorMessage(error) });
      deps.telemetry?.attemptFailed(false);
      report({ ok: false, error: errorMessage(error) });
    });
    running.add(job);
    void job.finally(() => running.delete(job));
    return () => abort.abort();
  });
  return {
    logic,
    /** Waits for the running jobs, at most `timeoutMs` (a pool that ignored its abort must not hang a shutdown). */
    async drain(timeoutMs = 10_000): Promise<void> {
      let timer: NodeJS.Timeout | undefined;
      const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
      const settled = (async () => {
        while (running.size > 0) await Promise.allSettled([...running]);
      })();
      await Promise.race([settled, deadline]);
      clearTimeout(timer);
    },
  };
}
