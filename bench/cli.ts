/**
 * `npm run bench`: every scenario and a report (bench/results/<timestamp>/report.md, report.json, charts);
 * `npm run bench -- <scenario> [options]`: one scenario, its result saved as JSON in bench/results/.
 */
import { isStereoMode, STEREO_MODES } from '../protocol/layout.ts';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { defaultCapacityOptions, runCapacity } from './scenarios/capacity.ts';
import { defaultConcurrencyOptions, runConcurrency } from './scenarios/concurrency.ts';
import { defaultControlOptions, runControl } from './scenarios/control.ts';
import { defaultFanoutOptions, runFanout } from './scenarios/fanout.ts';
import { defaultGlassCases, runGlass, type GlassCase } from './scenarios/glass.ts';
import { formatScreenRow, runScreen } from './scenarios/screen.ts';
import { runLatency } from './scenarios/latency.ts';
import { cachedModels, defaultDepthOptions, runDepth } from './scenarios/depth.ts';
import { defaultPipelineOptions, runPipeline } from './scenarios/pipeline.ts';
import { defaultSessionsOptions, runSessions } from './scenarios/sessions.ts';
import { defaultSoakOptions, runSoak } from './scenarios/soak.ts';
import { writeReport } from './report.ts';
import { runEdges } from './scenarios/edges.ts';
import { runSuite } from './suite.ts';

const USAGE = `Usage: npm run bench [-- --quick]         every scenario, then the report
       npm run bench -- <scenario> [options]   one scenario

  --quick             every scenario at a tiny size (a smoke test: a minute, no figures)

Scenarios:
  pipeline    chunk conversion throughput at 360p and 720p (30 fps): seconds per chunk,
              realtime factor and each stage's share (decode, depth, stereo, encode)
  latency     a live test stream through the server in real time: chunk cut → segment ready,
              and the newest frame's age when its segment is listed (p50/p95/max)
  glass       glass-to-glass: capture (real time) → server → the watch page in headless Chromium,
              per presented frame; the live viewer (frame by frame), the WebSocket/MSE player at
              0.5-s chunks, hls.js at 1 and 2 s
  screen      screen to eye, read off the pictures: a clock drawn on an X display as a block code,
              grabbed by the capture CLI, read off every frame the watch page shows (live, MSE)
  control     playlist GETs/s: ours (uWS) vs node:http doing the same work, live and ended
              playlists, beside a bare server of each kind (the load generator's ceiling)
  fanout      one segment event to many: wake-up of 1 000 held blocking playlist reloads, the
              playlist message to 1 000 and 10 000 WebSocket subscribers (p50/p99), beside a bare
              uWS app doing the same sends with no work (the clients' and the transport's own cost)
  sessions    sessions at 1 000 and 10 000: create rate, memory per idle and per active session,
              list latency, restart time over that many stored sessions
  concurrency live streams one server (all cores, real pool) converts in real time: levels of
              1, 2, 3… streams until one falls behind and one past it — latency, the pool's
              queue (bounded), failures, and a playlist GET's time meanwhile
  edges       how far a near object's edges smear in the warp, occlusion handling off and on
              (a synthetic scene, three strengths)
  depth       3D against measured depth: each photograph of the depth-gt folder through the pool,
              disparity read back off the decoded output vs the measured nearness (Spearman), beside
              the network's own map's (--model PATH[,PATH] adds networks; --gt DIR the photographs)
  soak        N live streams for M minutes through one server (real pool): memory sampled all along,
              two heap snapshots compared kind by kind, latency of the first and last fifth
  capacity    live streams held in real time by 1 node, then 2 (each a server process with one
              worker, pinned to a core; AWS emulators + redis-server): streams added until
              chunk cut → segment ready falls behind

Options (pipeline):
  --chunks N          chunks per resolution (default 6)
  --chunk-seconds N   chunk length (default 2)
  --workers N         pool threads (default: GPUs, else CPU cores)
  --sizes WxH,WxH     source sizes (default 640x360,1280x720)
  --mode MODE         a stereo output format, protocol/layout.ts (default sbs)
  --model PATH|heavy  a depth network (as DEPTH_MODEL_PATH; heavy: a test graph of ≈100 ms/frame;
                      default the built-in estimator)
  --depth-fps N,N     depth estimates per second to compare, 0 = every frame, auto = the automatic
                      rate (default 0); each row's disparity is compared with the every-frame row's

Options (latency):
  --seconds N         stream length (default 30)
  --chunk-seconds N   chunk length (default 2)
  --sizes WxH         source size (default 640x360)

Options (glass):
  --seconds N         seconds measured per case after settling (default 60)
  --settle N          seconds after the first frame not counted (default 5)
  --sizes WxH         source size (default 640x360)
  --cases LIST        player:chunk-seconds,… (default live:0.5,mse:0.5,hls:1,hls:2)

Options (screen):
  --seconds N         seconds measured per player after settling (default 30)
  --settle N          seconds after the first frame read not counted (default 5)
  --cases LIST        live and/or mse (default live,mse)

Options (control):
  --seconds N         seconds per run (default 10)
  --repeats N         runs per case, interleaved; the median is reported (default 3)
  --connections N     concurrent connections (default 100)
  --segments N        segments per playlist (default 60)
  --plain             ask for plain text (default: Accept-Encoding: gzip, as players send)

Options (fanout):
  --subscribers LIST  subscriber counts (default 1000,10000)
  --waiters N         held playlist reloads (default 1000)
  --events N          segment events per case (default 5)
  --segments N        segments already listed (default 60)

Options (sessions):
  --counts LIST       session counts (default 1000,10000)

Options (concurrency):
  --seconds N         seconds of stream per level (default 30)
  --chunk-seconds N   chunk length (default 2)
  --sizes WxH         source size (default 640x360)
  --max-streams N     the largest level tried (default 16)

Options (soak):
  --streams N         live streams (default 3)
  --minutes N         how long (default 30)
  --chunk-seconds N   chunk length (default 2)
  --sizes WxH         source size (default 640x360)
  --heap-snapshots on|off  heap snapshots after the warm-up and at the end (default on; they cost
                      memory of their own afterwards, so judge RSS in a run with them off)

Options (capacity):
  --nodes LIST        cluster sizes (default 1,2)
  --seconds N         seconds of stream per level (default 20)
  --chunk-seconds N   chunk length (default 1)
  --sizes WxH         source size (default 320x180: small streams make the count fine-grained)
  --max-streams N     the largest level tried (default 32)
  --cpus-per-node N   each node's CPU budget in cores, a cgroup quota (default 0.6)`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      chunks: { type: 'string' },
      'chunk-seconds': { type: 'string' },
      workers: { type: 'string' },
      sizes: { type: 'string' },
      mode: { type: 'string' },
      model: { type: 'string' },
      'depth-fps': { type: 'string' },
      gt: { type: 'string' },
      seconds: { type: 'string' },
      settle: { type: 'string' },
      cases: { type: 'string' },
      nodes: { type: 'string' },
      'max-streams': { type: 'string' },
      'cpus-per-node': { type: 'string' },
      repeats: { type: 'string' },
      connections: { type: 'string' },
      segments: { type: 'string' },
      plain: { type: 'boolean' },
      quick: { type: 'boolean' },
      counts: { type: 'string' },
      subscribers: { type: 'string' },
      waiters: { type: 'string' },
      events: { type: 'string' },
      streams: { type: 'string' },
      minutes: { type: 'string' },
      'heap-snapshots': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const scenario = positionals[0];
  if (values.help) {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  if (!scenario || scenario === 'all') {
    const results = await runSuite(values.quick ?? false, (l) => process.stdout.write(l + '\n'));
    const dir = path.join(resultsDir(), results.startedAt.replace(/[:.]/g, '-'));
    const files = await writeReport(dir, results);
    process.stdout.write(`\nreport (${Math.round(results.seconds)} s): ${files.find((f) => f.endsWith('.md'))}\n`);
    if (results.failed.length > 0) process.stdout.write(`failed: ${results.failed.map((f) => f.scenario).join(', ')}\n`);
    return results.failed.length > 0 ? 1 : 0;
  }
  if (scenario === 'latency') {
    const seconds = Number(values.seconds ?? 30);
    const chunkSeconds = Number(values['chunk-seconds'] ?? 2);
    if (!(seconds > 0) || !(chunkSeconds > 0)) throw new Error('--seconds and --chunk-seconds must be positive');
    const result = await runLatency({ seconds, chunkSeconds, size: values.sizes ?? '640x360' }, (l) => process.stdout.write(l + '\n'));
    const f = (s: { p50: number; p95: number; max: number }) =>
      `p50 ${(s.p50 / 1000).toFixed(2)} s  p95 ${(s.p95 / 1000).toFixed(2)} s  max ${(s.max / 1000).toFixed(2)} s`;
    process.stdout.write(`chunks: ${result.chunks}\n`);
    process.stdout.write(`chunk cut → segment ready:        ${f(result.processingMs)}\n`);
    process.stdout.write(`newest frame → listed (glass):    ${f(result.glassToPlaylistMs)}\n`);
    await saveResult('latency', { seconds, chunkSeconds }, result);
    return 0;
  }
  if (scenario === 'glass') {
    const seconds = Number(values.seconds ?? 60);
    const settle = Number(values.settle ?? 5);
    if (!(seconds > 0) || !(settle >= 0)) throw new Error('--seconds must be positive and --settle not negative');
    const cases = values.cases ? values.cases.split(',').map(parseCase) : defaultGlassCases();
    const rows = await runGlass({ seconds, settle, size: values.sizes ?? '640x360', cases }, (l) => process.stdout.write(l + '\n'));
    await saveResult('glass', { seconds, settle, cases }, rows);
    return 0;
  }
  if (scenario === 'screen') {
    const seconds = Number(values.seconds ?? 30);
    const settle = Number(values.settle ?? 5);
    if (!(seconds > 0) || !(settle >= 0)) throw new Error('--seconds must be positive and --settle not negative');
    const players = (values.cases ?? 'live,mse').split(',').map((p) => {
      if (p !== 'live' && p !== 'mse') throw new Error(`--cases takes live and/or mse (got "${p}")`);
      return p;
    });
    const rows = await runScreen({ seconds, settle, players }, (l) => process.stdout.write(l + '\n'));
    for (const row of rows) process.stdout.write(formatScreenRow(row) + '\n');
    await saveResult('screen', { seconds, settle, players }, rows);
    return 0;
  }
  if (scenario === 'control') {
    const options = defaultControlOptions();
    options.seconds = positive('seconds', values.seconds) ?? options.seconds;
    options.repeats = positive('repeats', values.repeats) ?? options.repeats;
    options.connections = positive('connections', values.connections) ?? options.connections;
    options.segments = positive('segments', values.segments) ?? options.segments;
    if (values.plain) options.gzip = false;
    const result = await runControl(options, (l) => process.stdout.write(l + '\n'));
    await saveResult('control', options, result);
    return 0;
  }
  if (scenario === 'fanout') {
    const options = defaultFanoutOptions();
    options.subscribers = positiveList('subscribers', values.subscribers, '1000,10000') ?? options.subscribers;
    options.waiters = positive('waiters', values.waiters) ?? options.waiters;
    options.events = positive('events', values.events) ?? options.events;
    options.segments = positive('segments', values.segments) ?? options.segments;
    const result = await runFanout(options, (l) => process.stdout.write(l + '\n'));
    await saveResult('fanout', options, result);
    return 0;
  }
  if (scenario === 'concurrency') {
    const options = defaultConcurrencyOptions();
    if (values.seconds !== undefined) options.seconds = Number(values.seconds);
    if (values['chunk-seconds'] !== undefined) options.chunkSeconds = Number(values['chunk-seconds']);
    options.maxStreams = positive('max-streams', values['max-streams']) ?? options.maxStreams;
    if (!(options.seconds > 0) || !(options.chunkSeconds >= 0.5))
      throw new Error('--seconds must be positive and --chunk-seconds at least 0.5');
    if (values.sizes) [options.width, options.height] = parseSize(values.sizes);
    const result = await runConcurrency(options, (l) => process.stdout.write(l + '\n'));
    process.stdout.write(`${result.capacity} stream(s) of ${result.size} held in real time\n`);
    await saveResult('concurrency', options, result);
    return 0;
  }
  if (scenario === 'soak') {
    const options = defaultSoakOptions();
    options.streams = positive('streams', values.streams) ?? options.streams;
    if (values.minutes !== undefined) options.minutes = Number(values.minutes);
    if (values['chunk-seconds'] !== undefined) options.chunkSeconds = Number(values['chunk-seconds']);
    if (!(options.minutes > 0) || !(options.chunkSeconds >= 0.5))
      throw new Error('--minutes must be positive and --chunk-seconds at least 0.5');
    if (values.sizes) [options.width, options.height] = parseSize(values.sizes);
    if (values['heap-snapshots'] !== undefined) {
      if (!['on', 'off'].includes(values['heap-snapshots'])) throw new Error('--heap-snapshots is on or off');
      options.heapSnapshots = values['heap-snapshots'] === 'on';
    }
    const result = await runSoak(options, (l) => process.stdout.write(l + '\n'));
    await saveResult('soak', options, result);
    return 0;
  }
  if (scenario === 'sessions') {
    const options = defaultSessionsOptions();
    options.counts = positiveList('counts', values.counts, '1000,10000') ?? options.counts;
    const rows = await runSessions(options, (l) => process.stdout.write(l + '\n'));
    await saveResult('sessions', options, rows);
    return 0;
  }
  if (scenario === 'capacity') {
    const options = defaultCapacityOptions();
    options.nodes = positiveList('nodes', values.nodes, '1,2') ?? options.nodes;
    if (values.seconds !== undefined) options.seconds = Number(values.seconds);
    if (values['chunk-seconds'] !== undefined) options.chunkSeconds = Number(values['chunk-seconds']);
    if (values['max-streams'] !== undefined) options.maxStreams = Number(values['max-streams']);
    if (values['cpus-per-node'] !== undefined) options.cpusPerNode = Number(values['cpus-per-node']);
    if (!(options.cpusPerNode > 0 && options.cpusPerNode <= 1))
      throw new Error('--cpus-per-node must be above 0 and at most 1 (a node is pinned to one core)');
    if (!(options.seconds > 0) || !(options.chunkSeconds >= 0.5) || !(Number.isInteger(options.maxStreams) && options.maxStreams >= 1)) {
      throw new Error('--seconds must be positive, --chunk-seconds at least 0.5 and --max-streams a positive integer');
    }
    if (values.sizes) [options.width, options.height] = parseSize(values.sizes);
    const rows = await runCapacity(options, (l) => process.stdout.write(l + '\n'));
    for (const row of rows) process.stdout.write(`${row.nodes} node(s): ${row.capacity} stream(s) in real time (${row.budget})\n`);
    if (rows.length >= 2 && rows[0]!.capacity > 0) {
      process.stdout.write(
        `${rows.at(-1)!.nodes} nodes hold ${(rows.at(-1)!.capacity / rows[0]!.capacity).toFixed(2)}× the streams of ${rows[0]!.nodes}\n`,
      );
    }
    await saveResult('capacity', options, rows);
    return 0;
  }
  if (scenario === 'edges') {
    await saveResult(
      'edges',
      {},
      runEdges((l) => process.stdout.write(l + '\n')),
    );
    return 0;
  }
  if (scenario === 'depth') {
    const options = defaultDepthOptions();
    if (values.gt !== undefined) options.gtDir = path.resolve(values.gt);
    // The built-in, every network in the model cache, and any named here.
    const named = values.model !== undefined ? values.model.split(',').map((m) => path.resolve(m.trim())) : [];
    options.models = [...new Set([null, ...cachedModels(), ...named])];
    process.stdout.write(`depth: ${options.gtDir}; networks: ${options.models.map((m) => m ?? 'built-in').join(', ')}\n`);
    const rows = await runDepth(options, (l) => process.stdout.write(l + '\n'));
    await saveResult('depth', options, rows);
    return 0;
  }
  if (scenario !== 'pipeline') {
    process.stderr.write(`unknown scenario "${scenario}"\n\n${USAGE}\n`);
    return 2;
  }
  const options = defaultPipelineOptions();
  const int = (name: string, raw: string | undefined, fallback: number) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got "${raw}")`);
    return n;
  };
  options.chunks = int('chunks', values.chunks, options.chunks);
  if (values['chunk-seconds'] !== undefined) {
    options.chunkSeconds = Number(values['chunk-seconds']);
    if (!(options.chunkSeconds >= 0.1)) throw new Error(`--chunk-seconds must be a number ≥ 0.1 (got "${values['chunk-seconds']}")`);
  }
  options.workers = int('workers', values.workers, options.workers);
  if (isStereoMode(values.mode)) options.mode = values.mode;
  else if (values.mode !== undefined) throw new Error(`--mode must be one of ${STEREO_MODES.join(', ')} (got "${values.mode}")`);
  if (values.sizes) {
    options.sizes = values.sizes.split(',').map((s) => {
      const m = /^(\d+)x(\d+)$/.exec(s.trim());
      if (!m) throw new Error(`--sizes must be WxH[,WxH…] (got "${values.sizes}")`);
      return [Number(m[1]), Number(m[2])] as [number, number];
    });
  }
  if (values.model !== undefined) options.modelPath = values.model;
  if (values['depth-fps'] !== undefined) {
    options.depthFps = values['depth-fps'].split(',').map((raw) => {
      if (raw.trim() === 'auto') return 'auto' as const;
      const n = Number(raw.trim());
      if (!(Number.isFinite(n) && n >= 0)) throw new Error(`--depth-fps must be numbers ≥ 0 or auto (got "${values['depth-fps']}")`);
      return n;
    });
  }
  process.stdout.write(`pipeline: ${options.chunks} × ${options.chunkSeconds}s chunks per size, ${options.mode}\n`);
  const rows = await runPipeline(options, (line) => process.stdout.write(line + '\n'));
  await saveResult('pipeline', options, rows);
  return 0;
}

/** A comma-separated list of positive integers (`--name 1,2`), undefined when the option is absent. */
function positiveList(name: string, raw: string | undefined, example: string): number[] | undefined {
  if (raw === undefined) return undefined;
  const list = raw.split(',').map(Number);
  if (!list.every((n) => Number.isInteger(n) && n >= 1))
    throw new Error(`--${name} takes positive integers, e.g. ${example} (got "${raw}")`);
  return list;
}

function parseSize(raw: string): [number, number] {
  const m = /^(\d+)x(\d+)$/.exec(raw.trim());
  if (!m) throw new Error(`--sizes must be WxH (got "${raw}")`);
  return [Number(m[1]), Number(m[2])];
}

function positive(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} takes a positive integer (got "${raw}")`);
  return n;
}

function parseCase(raw: string): GlassCase {
  const m = /^(live|mse|hls):(\d+(?:\.\d+)?)$/.exec(raw.trim());
  if (!m) throw new Error(`--cases takes player:chunk-seconds pairs, e.g. live:0.5,mse:0.5,hls:1 (got "${raw}")`);
  return { player: m[1] as GlassCase['player'], chunkSeconds: Number(m[2]) };
}

/** Results go to bench/results/ (not committed), or to BENCH_RESULTS_DIR when set (the smoke test). */
function resultsDir(): string {
  return process.env.BENCH_RESULTS_DIR ?? fileURLToPath(new URL('./results/', import.meta.url));
}

async function saveResult(scenario: string, options: unknown, result: unknown): Promise<void> {
  const dir = resultsDir();
  await mkdir(dir, { recursive: true });
  const file = path.join(dir, `${scenario}-${new Date().toISOString().replace(/[:.]/g, '-')}.json`);
  await writeFile(file, JSON.stringify({ scenario, options, result }, null, 2));
  process.stdout.write(`results: ${file}\n`);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
