/**
 * `/metrics` as Prometheus reads it: parsed with an exposition-format parser (not by substring), with
 * the process's default metrics, and histograms that really observed what happened — a conversion, a
 * blocking playlist reload woken by its segment, a subscriber that left.
 */
import parsePrometheusTextFormat, { type MetricFamily } from 'parse-prometheus-text-format';
import t from 'tap';
import { FakePool, fakeChunk } from '../../testkit/fake-pool.ts';
import { createSession, getText, putChunk } from '../../testkit/http.ts';
import { startTestServer, until } from '../../testkit/server.ts';
import { openSocket } from '../../testkit/ws.ts';

/** A sample value as Prometheus reads it (Go's ParseFloat: Inf and NaN in any case — prom-client writes `Nan` for an empty event-loop histogram). */
const NUMBER = /^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$|^[+-]?(inf|infinity)$|^nan$/i;

interface Scrape {
  families: Map<string, MetricFamily>;
  text: string;
}

/** Parsed, with what the parser lets through checked too: each family once, every value a number. */
async function scrape(url: string): Promise<Scrape> {
  const answer = await fetch(`${url}/metrics`);
  if (answer.status !== 200) throw new Error(`/metrics answered ${answer.status}`);
  if (!answer.headers.get('content-type')?.startsWith('text/plain; version=0.0.4'))
    throw new Error(`content type ${answer.headers.get('content-type')}`);
  const text = await answer.text();
  const families = new Map<string, MetricFamily>();
  for (const family of parsePrometheusTextFormat(text)) {
    if (families.has(family.name)) throw new Error(`metric family ${family.name} appears twice`);
    if (family.type === 'UNTYPED') throw new Error(`metric family ${family.name} has no TYPE`);
    for (const sample of family.metrics) {
      for (const v of [sample.value, sample.sum, sample.count, ...Object.values(sample.buckets ?? {})]) {
        if (v !== undefined && !NUMBER.test(v)) throw new Error(`${family.name}: "${v}" is not a number`);
      }
    }
    families.set(family.name, family);
  }
  return { families, text };
}

/** One sample line's value, e.g. `stereospot_stage_seconds_sum{stage="total"}` (the parser folds labelled histograms together). */
function sampleValue(text: string, series: string): string | undefined {
  return text
    .split('\n')
    .find((line) => line.startsWith(series + ' '))
    ?.slice(series.length + 1);
}

t.test('/metrics parses as Prometheus text and its histograms observe real events', async (t) => {
  const pool = new FakePool();
  const server = await startTestServer(t, { pool });
  const s = await createSession(server.url);

  // A blocking reload waiting for segment 0, a subscriber that comes and goes, then the chunk.
  pool.hold(0);
  const held = getText(`${s.playlist_url}?_HLS_msn=0`);
  const heldNow = async () => (await scrape(server.url)).families.get('stereospot_playlist_requests_held')?.metrics[0]?.value;
  await until(async () => (await heldNow()) === '1', 'the reload to be counted as held');
  const socket = await openSocket(t, `${server.url.replace('http', 'ws')}/ws/sessions/${s.session_id}?format=json`);
  socket.ws.close(1000);
  await socket.closed;
  const watching = await openSocket(t, `${server.url.replace('http', 'ws')}/ws/sessions/${s.session_id}?format=json`);
  t.equal((await putChunk(s, 0, fakeChunk(0))).status, 201);
  await until(() => pool.started.includes(0), 'the conversion to start');
  pool.release(0);
  t.match((await held).text, /seg_00000/, 'the held reload answered with the segment');
  t.equal(await heldNow(), '0', 'no reload held once it is answered');

  const { families: metrics, text } = await until(
    async () => {
      const m = await scrape(server.url);
      return m.families.get('stereospot_playlist_wakeup_seconds')?.metrics[0]?.count === '1' && m;
    },
    'the wake-up to be observed',
    5000,
  );
  await watching.next((m) => m.type === 'playlist', 'the listing on the socket that stayed');

  for (const name of [
    'process_cpu_user_seconds_total',
    'process_resident_memory_bytes',
    'nodejs_heap_size_used_bytes',
    'nodejs_eventloop_lag_p99_seconds',
  ]) {
    t.ok(metrics.has(name), `default process metric ${name}`);
  }
  const type = (name: string) => metrics.get(name)?.type;
  t.equal(type('stereospot_sessions_created_total'), 'COUNTER');
  t.equal(metrics.get('stereospot_sessions_created_total')!.metrics[0]!.value, '1');
  t.equal(type('stereospot_sessions_live'), 'GAUGE');

  t.equal(type('stereospot_chunk_latency_seconds'), 'HISTOGRAM');
  const latency = metrics.get('stereospot_chunk_latency_seconds')!.metrics[0]!;
  t.equal(latency.count, '1', 'one conversion observed');
  t.equal(latency.buckets?.['+Inf'], '1');
  t.ok(
    Number(latency.sum) >= 0 && Number(latency.sum) < 30,
    `latency ${latency.sum} s, from the upload (the fake chunk carries no capture time)`,
  );

  t.equal(type('stereospot_stage_seconds'), 'HISTOGRAM');
  for (const stage of ['decode', 'depth', 'stereo', 'encode', 'total']) {
    t.equal(sampleValue(text, `stereospot_stage_seconds_count{stage="${stage}"}`), '1', `stage ${stage} observed once`);
  }
  t.equal(sampleValue(text, 'stereospot_stage_seconds_sum{stage="total"}'), '0.004', "the pool's own timings (4 ms total)");

  const wakeup = metrics.get('stereospot_playlist_wakeup_seconds')!.metrics[0]!;
  t.ok(Number(wakeup.sum) < 1, `the held reload answered ${(Number(wakeup.sum) * 1000).toFixed(2)} ms after the segment was listed`);

  // Each batch of changes (uploaded, queued, processing, ready + listed…) went to the one subscriber that stayed.
  const fanOut = (await scrape(server.url)).families.get('stereospot_ws_fanout_seconds')!;
  t.equal(fanOut.type, 'HISTOGRAM');
  t.ok(
    Number(fanOut.metrics[0]!.count) >= 1 && Number(fanOut.metrics[0]!.sum) < 1,
    `fan-outs observed: ${fanOut.metrics[0]!.count}, ${fanOut.metrics[0]!.sum} s in all`,
  );

  const disconnects = metrics.get('stereospot_ws_disconnects_total')!;
  t.equal(disconnects.type, 'COUNTER');
  t.equal(disconnects.metrics.find((m) => m.labels?.reason === 'client')?.value, '1', 'the subscriber that closed normally');
});

t.test('failed conversion attempts are counted', async (t) => {
  const server = await startTestServer(t, { pool: new FakePool(), env: { CHUNK_MAX_ATTEMPTS: '2' } });
  const s = await createSession(server.url);
  // Not a fake chunk (no index marker): the fake pool fails it like an undecodable upload.
  t.equal((await putChunk(s, 0, Buffer.concat([fakeChunk(0).subarray(0, 16), Buffer.from('garbage')]))).status, 201);
  const metrics = await until(
    async () => {
      const { families } = await scrape(server.url);
      const failed = families.get('stereospot_chunk_attempts_failed_total')?.metrics.find((x) => x.labels?.permanent === 'false');
      return failed?.value === '2' && families;
    },
    'both attempts to fail',
    10_000,
  );
  t.equal(metrics.get('stereospot_chunk_latency_seconds')!.metrics[0]!.count, '0', 'nothing converted');
  await until(
    async () => (await scrape(server.url)).families.get('stereospot_chunks_failed_total')?.metrics[0]?.value === '1',
    'the chunk to fail for good',
    10_000,
  );
});

t.test('each GPU pool worker thread reports its own heap (the real pool)', async (t) => {
  const server = await startTestServer(t, { env: { GPU_POOL_WORKERS: '2', EXECUTION_PROVIDER: 'cpu' } });
  const families = await until(
    async () => {
      const { families } = await scrape(server.url);
      return (families.get('stereospot_pool_worker_heap_used_bytes')?.metrics.length ?? 0) === 2 && families;
    },
    'both workers in /metrics',
    30_000,
  );
  for (const name of ['stereospot_pool_worker_heap_used_bytes', 'stereospot_pool_worker_external_bytes']) {
    const family = families.get(name)!;
    t.equal(family.type, 'GAUGE', `${name} is a gauge`);
    const threads = family.metrics.map((m) => (m as { labels?: Record<string, string> }).labels?.thread);
    t.equal(new Set(threads).size, 2, `${name}: one series per worker thread (${threads.join(', ')})`);
  }
  const used = families.get('stereospot_pool_worker_heap_used_bytes')!.metrics.map((m) => Number((m as { value: string }).value));
  t.ok(
    used.every((v) => v > 1024 * 1024),
    `each worker's heap is a real figure (${used.map((v) => (v / 1024 / 1024).toFixed(1)).join(', ')} MiB)`,
  );
});
