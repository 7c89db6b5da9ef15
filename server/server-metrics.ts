/**
 * What /metrics reads at scrape time from the server's parts: sessions and their counters, the
 * cluster, the sockets, the pool and each worker thread's memory. (Latencies are observed where they
 * happen: telemetry.ts, the hub.)
 */
import type { Adapters, PoolHandle } from './adapters/ports.ts';
import type { LiveStreams } from './live/live-streams.ts';
import type { Metrics } from './metrics.ts';
import type { SessionService } from './sessions/index.ts';
import type { SocketHub } from './ws/hub.ts';

export function registerServerMetrics(
  m: Metrics,
  {
    sessions,
    adapters,
    hub,
    pool,
    live,
  }: { sessions: SessionService; adapters: Adapters; hub: SocketHub; pool: PoolHandle; live?: LiveStreams },
): void {
  if (live) {
    m.gauge('stereospot_live_converters', 'Live-path converter threads running (one per watched stream)', () => live.counts().converters);
    m.gauge('stereospot_live_viewers', 'Viewers of live paths on this node', () => live.counts().viewers);
  }
  const s = () => sessions.stats;
  m.gauge('stereospot_sessions_live', 'Sessions that are live or ending', () => sessions.liveCount);
  m.counterFrom('stereospot_sessions_created_total', 'Sessions created', () => s().created);
  m.counterFrom('stereospot_segments_ready_total', 'Segments written', () => s().segmentsReady);
  m.counterFrom('stereospot_chunks_failed_total', 'Chunks failed for good', () => s().chunksFailed);
  m.counterFrom(
    'stereospot_sessions_removed_total',
    'Ended sessions whose stored data was deleted after DATA_RETAIN_SECONDS (local profile)',
    () => adapters.counters?.().sessionsRemoved ?? 0,
  );
  m.counterFrom('stereospot_chunk_events_dropped_total', 'Chunk events dropped (streaming disabled)', () => s().eventsDropped);
  m.gauge('stereospot_cluster_nodes', 'Server nodes known alive (this one included)', () => sessions.nodes.length);
  m.gauge('stereospot_sessions_running', 'Open sessions whose actor runs on this node', () => sessions.nodes[0]?.sessions ?? 0);
  m.gauge('stereospot_ws_subscribers', 'Open WebSocket subscribers', () => hub.size);
  m.counterFrom('stereospot_ws_slow_consumers_dropped_total', 'Subscribers disconnected for backpressure', () => hub.slowConsumersDropped);
  m.labeledCounterFrom('stereospot_ws_disconnects_total', 'WebSocket subscribers gone, by reason', 'reason', () => hub.disconnects);
  m.counterFrom('stereospot_ws_messages_sent_total', 'WebSocket messages sent', () => hub.messagesSent);
  for (const key of ['threads', 'queueSize', 'completed']) {
    m.gauge(`stereospot_pool_${key.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())}`, `GPU pool ${key}`, () => pool.stats()[key] ?? 0);
  }
  // The process's heap figures are the main thread's: each worker's own, by thread.
  const workers = (read: (w: { heapUsedBytes: number; externalBytes: number }) => number) => () =>
    Object.fromEntries([...pool.workerMemory()].map(([thread, w]) => [String(thread), read(w)]));
  m.labeledGauge(
    'stereospot_pool_worker_heap_used_bytes',
    'V8 heap used by each GPU pool worker thread',
    'thread',
    workers((w) => w.heapUsedBytes),
  );
  m.labeledGauge(
    'stereospot_pool_worker_external_bytes',
    "Memory held outside the V8 heap by each GPU pool worker thread's objects",
    'thread',
    workers((w) => w.externalBytes),
  );
}
