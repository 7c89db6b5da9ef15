/**
 * The server's own measurements as Prometheus instruments: how far behind capture each segment is
 * ready, what each conversion stage costs, how fast a blocking playlist reload answers once its segment
 * is listed, and what fails. The session service and the routes report to it; `/metrics` exposes it.
 */
import type { Counter, Histogram } from 'prom-client';
import type { StageTimingsMs } from '../gpu-pool/types.ts';
import type { Metrics } from './metrics.ts';

/** What the session service reports about conversions (an interface, so tests can leave it out). */
export interface ChunkTelemetry {
  /** A chunk's segment is stored: `latencyMs` from its capture's end (or its upload) to now. */
  converted(latencyMs: number, timings: StageTimingsMs): void;
  /** One conversion attempt failed (retried or not). */
  attemptFailed(permanent: boolean): void;
}

const STAGES = ['decode', 'depth', 'stereo', 'encode', 'total'] as const;

export class Telemetry implements ChunkTelemetry {
  readonly #latency: Histogram;
  readonly #stages: Histogram<'stage'>;
  readonly #wakeups: Histogram;
  readonly #fanOuts: Histogram;
  readonly #attemptsFailed: Counter<'permanent'>;
  /** Blocking playlist reloads held right now. */
  #held = 0;

  constructor(metrics: Metrics) {
    this.#latency = metrics.histogram(
      'stereospot_chunk_latency_seconds',
      'Chunk capture end (its cut) to its segment stored; from the upload when the chunk carries no capture time',
      [0.1, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30],
    );
    this.#stages = metrics.histogram(
      'stereospot_stage_seconds',
      'Time per chunk in each conversion stage (total: the whole conversion in the worker)',
      [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      ['stage'],
    );
    this.#wakeups = metrics.histogram(
      'stereospot_playlist_wakeup_seconds',
      'Blocking playlist reloads: from the awaited segment being listed to the response being sent',
      [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25],
    );
    this.#fanOuts = metrics.histogram(
      'stereospot_ws_fanout_seconds',
      "One batch of a session's changes handed to all its socket subscribers, first write to last",
      [0.0001, 0.0005, 0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    );
    metrics.gauge('stereospot_playlist_requests_held', 'Blocking playlist reloads waiting for their segment right now', () => this.#held);
    this.#attemptsFailed = metrics.counter(
      'stereospot_chunk_attempts_failed_total',
      'Conversion attempts that failed (permanent: no retry)',
      ['permanent'],
    );
  }

  converted(latencyMs: number, timings: StageTimingsMs): void {
    this.#latency.observe(Math.max(0, latencyMs) / 1000);
    for (const stage of STAGES) this.#stages.observe({ stage }, timings[stage] / 1000);
  }

  attemptFailed(permanent: boolean): void {
    this.#attemptsFailed.inc({ permanent: String(permanent) });
  }

  /** A blocking playlist reload starts waiting; the returned function ends its wait (call it once). */
  playlistHeld(): () => void {
    this.#held++;
    let released = false;
    return () => {
      if (!released) this.#held--;
      released = true;
    };
  }

  /** A session's batch of changes reached all its subscribers in `seconds`. */
  fannedOut(seconds: number): void {
    this.#fanOuts.observe(seconds);
  }

  /** A held playlist request answered `seconds` after what it waited for happened. */
  playlistWoke(seconds: number): void {
    this.#wakeups.observe(seconds);
  }
}
