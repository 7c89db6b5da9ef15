/**
 * The benchmark report: what `npm run bench` measured, written to a folder of its own —
 * `report.json` (everything, machine included), `report.md` (tables and the charts) and `charts/*.svg`.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { barChart, groupedBarChart, lineChart, renderSvg, type Row } from './charts.ts';
import type { EdgesRow } from './scenarios/edges.ts';
import type { Machine } from './machine.ts';
import type { CapacityRow } from './scenarios/capacity.ts';
import type { ConcurrencyResult } from './scenarios/concurrency.ts';
import type { ControlResult } from './scenarios/control.ts';
import type { FanoutResult } from './scenarios/fanout.ts';
import { glassLabel, type GlassRow } from './scenarios/glass.ts';
import type { LatencyResult } from './scenarios/latency.ts';
import type { PipelineRow } from './scenarios/pipeline.ts';
import type { SoakResult } from './scenarios/soak.ts';
import type { SessionsMeasurement } from './sessions-target.ts';

export interface BenchResults {
  machine: Machine;
  startedAt: string;
  /** Wall time of the whole run (s). */
  seconds: number;
  quick: boolean;
  pipeline?: PipelineRow[];
  edges?: EdgesRow[];
  latency?: Array<{ chunkSeconds: number; size: string; result: LatencyResult }>;
  glass?: GlassRow[];
  control?: ControlResult;
  fanout?: FanoutResult;
  sessions?: SessionsMeasurement[];
  soak?: SoakResult;
  concurrency?: ConcurrencyResult;
  capacity?: { chunkSeconds: number; rows: CapacityRow[] };
  /** Scenarios that failed, with why (the others still ran). */
  failed: Array<{ scenario: string; error: string }>;
}

const s = (ms: number) => (ms / 1000).toFixed(2);
const table = (head: string[], rows: Array<Array<string | number>>) =>
  [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');

/** Writes report.json, report.md and the charts into `dir`; returns the files written. */
export async function writeReport(dir: string, results: BenchResults): Promise<string[]> {
  await mkdir(path.join(dir, 'charts'), { recursive: true });
  const written: string[] = [];
  const md: string[] = [];
  const chart = async (name: string, spec: Parameters<typeof renderSvg>[0]) => {
    const file = path.join(dir, 'charts', `${name}.svg`);
    await writeFile(file, await renderSvg(spec));
    written.push(file);
    md.push(`![${name}](charts/${name}.svg)`, '');
  };

  const m = results.machine;
  md.push(
    '# StereoSpot Live — benchmark report',
    '',
    `${results.startedAt} · ${Math.round(results.seconds)} s · ${results.quick ? '**quick run (tiny sizes: a smoke test, not figures)**' : 'full run'}`,
    '',
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}${m.gpu ? `, GPU ${m.gpu}` : ', no GPU'}.`,
    '',
  );
  if (results.failed.length > 0) {
    md.push('## Failed scenarios', '', ...results.failed.map((f) => `- **${f.scenario}**: ${f.error}`), '');
  }

  if (results.pipeline) {
    md.push(
      '## Pipeline',
      '',
      "Conversion alone, through the real pool: realtime factor (media seconds per wall second; ≥ 1 keeps up) and each stage's share; beside it the floor — ffmpeg's own decode → the picture twice side by side → x264 of the same chunks, no depth, as many lanes and threads — and ours ÷ the floor.",
      '',
    );
    md.push(
      table(
        ['source', 'output', 'workers', 'chunks', 's/chunk', 'RTF', 'ffmpeg floor', 'ours ÷ floor', 'decode', 'depth', 'stereo', 'encode'],
        results.pipeline.map((r) => [
          r.source,
          r.output,
          r.workers,
          r.chunks,
          r.secondsPerChunk.toFixed(2),
          `**${r.realtimeFactor.toFixed(2)}×**`,
          `${r.floorRealtimeFactor.toFixed(2)}×`,
          r.ofFloor.toFixed(2),
          ...(['decode', 'depth', 'stereo', 'encode'] as const).map((k) => `${Math.round(r.shares[k] * 100)}%`),
        ]),
      ),
      '',
    );
    await chart(
      'pipeline-rtf',
      barChart(
        'Realtime factor by source size (≥ 1 keeps up)',
        results.pipeline.map((r) => ({ source: r.source, rtf: r.realtimeFactor })),
        { category: 'source', value: 'rtf', valueTitle: 'media s per wall s' },
      ),
    );
  }

  if (results.edges) {
    md.push(
      '## Edges',
      '',
      "How far a near object's edges smear in the warp (a flat object over a textured background, its depth a sharp step at a network's resolution): pixels per edge and row where one shows in place of the other, with occlusion-aware warping off and on (`STEREO_OCCLUSION`, on by default).",
      '',
      table(
        ['strength', 'object shift (px per eye)', 'smear, off', 'smear, on (default)'],
        results.edges.map((r) => [r.strength, r.disparity.toFixed(1), r.off.toFixed(2), `**${r.on.toFixed(2)}**`]),
      ),
      '',
    );
  }

  if (results.latency) {
    md.push(
      '## Latency (capture → playlist)',
      '',
      "The capture client streaming in real time to the server (local profile). Per chunk: cut → segment ready, and the newest frame's age when its segment is listed.",
      '',
    );
    md.push(
      table(
        ['chunk', 'size', 'chunks', 'cut → ready p50', 'p95', 'newest frame → listed p50', 'p95'],
        results.latency.map(({ chunkSeconds, size, result: r }) => [
          `${chunkSeconds} s`,
          size,
          r.chunks,
          `${s(r.processingMs.p50)} s`,
          `${s(r.processingMs.p95)} s`,
          `${s(r.glassToPlaylistMs.p50)} s`,
          `${s(r.glassToPlaylistMs.p95)} s`,
        ]),
      ),
      '',
    );
    const rows: Row[] = results.latency.flatMap(({ chunkSeconds, result: r }) => [
      { chunk: `${chunkSeconds}-s chunks`, q: 'cut → ready p50', s: r.processingMs.p50 / 1000 },
      { chunk: `${chunkSeconds}-s chunks`, q: 'cut → ready p95', s: r.processingMs.p95 / 1000 },
      { chunk: `${chunkSeconds}-s chunks`, q: 'newest frame → listed p95', s: r.glassToPlaylistMs.p95 / 1000 },
    ]);
    await chart(
      'latency',
      groupedBarChart('Capture → playlist by chunk length', rows, { category: 'chunk', series: 'q', value: 's', valueTitle: 'seconds' }),
    );
  }

  if (results.glass) {
    md.push(
      '## Glass to glass',
      '',
      'Capture (real time) → server → the watch page in headless Chromium, per presented frame (steady state after settling).',
      '',
    );
    md.push(
      table(
        ['player', 'frames', 'p50', 'p95', 'max', 'stalls'],
        results.glass.map((r) => [
          glassLabel(r),
          r.frames,
          `**${s(r.steady.p50)} s**`,
          `${s(r.steady.p95)} s`,
          `${s(r.steady.max)} s`,
          r.stalls,
        ]),
      ),
      '',
    );
    const rows: Row[] = results.glass.flatMap((r) => [
      { player: glassLabel(r), q: 'p50', s: r.steady.p50 / 1000 },
      { player: glassLabel(r), q: 'p95', s: r.steady.p95 / 1000 },
    ]);
    await chart(
      'glass',
      groupedBarChart('Glass-to-glass latency', rows, {
        category: 'player',
        series: 'q',
        value: 's',
        valueTitle: 'seconds behind capture',
      }),
    );
  }

  if (results.control) {
    const c = results.control;
    md.push(
      '## Control plane: playlist GETs',
      '',
      `Playlist of ${c.playlistBytes} bytes${c.gzip ? ' (gzip)' : ''}; the target on one core, the load generator on the other. Requests per CPU-second is the figure (the generator caps req/s).`,
      '',
    );
    md.push(
      table(
        ['case', 'req/s', 'req per CPU-s', 'req per user-CPU-s', 'p99'],
        c.cases.map((x) => [x.name, x.requestsPerSecond, `**${x.requestsPerCpuSecond}**`, x.requestsPerUserCpuSecond, `${x.p99Ms} ms`]),
      ),
      '',
    );
    md.push(
      `Ours ÷ node:http doing the same work, per CPU-second: live **${c.ratio.live.toFixed(2)}×**, ended **${c.ratio.ended.toFixed(2)}×** (req/s: ${c.ratioRps.live.toFixed(2)}×, ${c.ratioRps.ended.toFixed(2)}×).`,
      '',
    );
    await chart(
      'control',
      barChart(
        'Playlist requests per CPU-second of the server',
        c.cases.map((x) => ({
          case: x.name,
          v: x.requestsPerCpuSecond,
          kind: x.name.startsWith('ceiling') ? 'no work (ceiling)' : x.name.startsWith('ours') ? 'ours (uWS)' : 'node:http',
        })),
        { category: 'case', value: 'v', valueTitle: 'requests per CPU-second', color: 'kind' },
      ),
    );
  }

  if (results.fanout) {
    const f = results.fanout;
    const ms = (x: number) => `${x.toFixed(1)} ms`;
    const label = (c: FanoutResult['cases'][number]) =>
      `${c.kind === 'wakeup' ? `${c.clients} held reloads` : `${c.clients} subscribers`}, ${c.side === 'ours' ? 'ours' : 'floor'}`;
    md.push(
      '## Control plane: one segment to many',
      '',
      `From the moment a segment is listed to each client having it: held blocking reloads (the ${f.playlistBytes}-byte gzipped playlist) and session-socket subscribers ` +
        `(frames of ${f.frameBytes.join(' + ')} bytes). The floor is a bare uWS app in the same process sending the same bytes with no work: the clients' and loopback TCP's own cost. ` +
        `"Last write" is the server's side alone: the listing to its last subscriber write returning. ${f.events} events per case${f.pinned ? '; server and clients each on a core of their own' : ''}.`,
      '',
    );
    md.push(
      table(
        ['case', 'p50', 'p95', 'p99', 'max', 'server: last write p50'],
        f.cases.map((c) => [
          label(c),
          ms(c.ms.p50),
          ms(c.ms.p95),
          `**${ms(c.ms.p99)}**`,
          ms(c.ms.max),
          c.writtenMs ? ms(c.writtenMs.p50) : '—',
        ]),
      ),
      '',
    );
    await chart(
      'fanout',
      groupedBarChart(
        'One segment to many: listing → client has it (p99)',
        f.cases.map((c) => ({
          case: c.kind === 'wakeup' ? `${c.clients} held reloads` : `${c.clients} subscribers`,
          side: c.side === 'ours' ? 'ours' : 'floor (no work)',
          ms: c.ms.p99,
        })),
        { category: 'case', series: 'side', value: 'ms', valueTitle: 'p99 milliseconds' },
      ),
    );
  }

  if (results.sessions) {
    const kb = (b: number) => (b / 1024).toFixed(1);
    md.push(
      '## Sessions at scale',
      '',
      'A fresh server given that many sessions through its API (memory read after a full GC; active = ready segments).',
      '',
    );
    md.push(
      table(
        [
          'sessions',
          'created/s',
          'KiB heap per idle session',
          'KiB RSS per idle session',
          'KiB heap per active session',
          'list p50',
          'list p95',
          'restart',
        ],
        results.sessions.map((r) => [
          r.count,
          r.createPerSecond,
          kb(r.idle.heapBytes),
          kb(r.idle.rssBytes),
          `+${kb(r.active.heapBytes)} (${r.active.chunks} segments)`,
          `${r.listMs.p50.toFixed(1)} ms`,
          `${r.listMs.p95.toFixed(1)} ms`,
          `${Math.round(r.restartMs)} ms`,
        ]),
      ),
      '',
    );
    await chart(
      'sessions-list',
      groupedBarChart(
        'Session list latency (GET /stream_sessions?limit=100)',
        results.sessions.flatMap((r) => [
          { sessions: `${r.count} sessions`, q: 'p50', ms: r.listMs.p50 },
          { sessions: `${r.count} sessions`, q: 'p95', ms: r.listMs.p95 },
        ]),
        { category: 'sessions', series: 'q', value: 'ms', valueTitle: 'milliseconds' },
      ),
    );
  }

  if (results.soak) {
    const k = results.soak;
    const mib = (b: number) => (b / 1024 / 1024).toFixed(1);
    const first = k.samples[0];
    const last = k.samples.at(-1);
    md.push(
      '## Soak',
      '',
      `${k.streams} live ${k.size} stream(s) for ${k.minutes} min through one server process (real pool); memory from /metrics, heap snapshots (after a full GC) after the warm-up (the first fifth) and at the end.`,
      '',
    );
    md.push(
      table(
        [
          'chunks ready',
          'cut → ready p50 / p95, first fifth',
          'last fifth',
          'RSS first → last sample',
          'RSS slope after warm-up',
          'main-thread heap slope',
          "workers' heaps slope",
          'live heap warm → end',
          'per chunk',
        ],
        [
          [
            `${k.chunks.ready}/${k.chunks.sent}`,
            `${s(k.latencyFirstMs.p50)} / ${s(k.latencyFirstMs.p95)} s`,
            `${s(k.latencyLastMs.p50)} / ${s(k.latencyLastMs.p95)} s`,
            first && last ? `${mib(first.rssBytes)} → ${mib(last.rssBytes)} MiB` : '—',
            `${k.rssSlopeMiBPer10Min.toFixed(1)} MiB / 10 min`,
            `${k.heapSlopeMiBPer10Min.toFixed(1)} MiB / 10 min`,
            // (Older reports have no worker figures.)
            Number.isFinite(k.workerHeapSlopeMiBPer10Min) ? `${k.workerHeapSlopeMiBPer10Min.toFixed(1)} MiB / 10 min` : '—',
            k.snapshots ? `${mib(k.snapshots.warmBytes)} → ${mib(k.snapshots.endBytes)} MiB` : '—',
            k.snapshots ? `${(k.snapshots.bytesPerChunk / 1024).toFixed(1)} KiB` : '—',
          ],
        ],
      ),
      '',
    );
    if (k.snapshots)
      md.push(
        'Grew most between the snapshots: ' +
          k.snapshots.grew
            .slice(0, 5)
            .map((g) => `${g.kind} ${(g.bytes / 1024).toFixed(0)} KiB (${g.count >= 0 ? '+' : ''}${g.count})`)
            .join(', ') +
          '.',
        '',
      );
    await chart(
      'soak-memory',
      lineChart(
        'Server memory during the soak',
        k.samples.flatMap((x) => [
          { t: Math.round(x.t), MiB: x.rssBytes / 1024 / 1024, what: 'RSS (all threads)' },
          { t: Math.round(x.t), MiB: x.heapUsedBytes / 1024 / 1024, what: 'main-thread JS heap used' },
          ...(Number.isFinite(x.workerHeapBytes)
            ? [{ t: Math.round(x.t), MiB: x.workerHeapBytes / 1024 / 1024, what: "pool workers' JS heaps used" }]
            : []),
        ]),
        { x: 't', xTitle: 'seconds', y: 'MiB', yTitle: 'MiB', series: 'what', yScale: 'linear' },
      ),
    );
  }

  if (results.concurrency) {
    const c = results.concurrency;
    md.push(
      '## Concurrency: live streams on this machine',
      '',
      `${c.size} streams in ${c.chunkSeconds}-s chunks through one server (${c.workers} pool workers, every core). A level is held when every chunk is ready and p95 cut → ready ≤ two chunk lengths; the levels past it show how it degrades.`,
      '',
    );
    md.push(
      table(
        ['streams', 'cut → ready p50', 'p95', 'max', 'pool queue at most', 'never ready', 'failed', 'playlist GET p95', ''],
        c.levels.map((l) => [
          l.streams,
          `${s(l.latencyMs.p50)} s`,
          `${s(l.latencyMs.p95)} s`,
          `${s(l.latencyMs.max)} s`,
          l.maxQueue,
          l.missing,
          l.failed,
          `${l.playlistMs.p95.toFixed(1)} ms`,
          l.held ? 'held' : '**behind**',
        ]),
      ),
      '',
    );
    md.push(`Held in real time: **${c.capacity}** stream(s).`, '');
    await chart(
      'concurrency',
      lineChart(
        'Chunk cut → ready by concurrent streams (one server, every core)',
        c.levels.flatMap((l) => [
          { streams: l.streams, s: l.latencyMs.p50 / 1000, q: 'p50' },
          { streams: l.streams, s: l.latencyMs.p95 / 1000, q: 'p95' },
        ]),
        {
          x: 'streams',
          xTitle: 'concurrent streams',
          y: 's',
          yTitle: 'seconds (log scale)',
          series: 'q',
          rule: { y: 2 * c.chunkSeconds, label: 'held below two chunk lengths' },
        },
      ),
    );
  }

  if (results.capacity) {
    const { rows, chunkSeconds } = results.capacity;
    md.push(
      '## Capacity: streams held in real time',
      '',
      `Each node a server process with one worker (${rows[0]?.budget ?? ''}). A level is held when every chunk is ready and p95 cut → ready ≤ two chunk lengths.`,
      '',
    );
    md.push(
      table(
        ['nodes', 'streams held', 'levels tried'],
        rows.map((r) => [r.nodes, `**${r.capacity}**`, r.levels.map((l) => `${l.streams}${l.held ? '✓' : '✗'}`).join(' ')]),
      ),
      '',
    );
    if (rows.length >= 2 && rows[0]!.capacity > 0)
      md.push(
        `${rows.at(-1)!.nodes} nodes hold **${(rows.at(-1)!.capacity / rows[0]!.capacity).toFixed(2)}×** the streams of ${rows[0]!.nodes}.`,
        '',
      );
    const points: Row[] = rows.flatMap((r) =>
      [...r.levels]
        .sort((a, b) => a.streams - b.streams)
        .map((l) => ({ streams: l.streams, p95: l.p95 / 1000, nodes: `${r.nodes} node(s)` })),
    );
    await chart(
      'capacity',
      lineChart('Chunk cut → ready p95 by concurrent streams', points, {
        x: 'streams',
        xTitle: 'concurrent streams',
        y: 'p95',
        yTitle: 'p95 seconds (log scale)',
        series: 'nodes',
        rule: { y: 2 * chunkSeconds, label: 'held below two chunk lengths' },
      }),
    );
  }

  const json = path.join(dir, 'report.json');
  await writeFile(json, JSON.stringify(results, null, 2));
  const mdFile = path.join(dir, 'report.md');
  await writeFile(mdFile, md.join('\n'));
  return [json, mdFile, ...written];
}
