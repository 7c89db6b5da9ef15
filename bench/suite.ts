/**
 * `npm run bench`: every scenario in turn, sized so the whole run stays under 20 minutes on the 2-core
 * reference machine (`quick`: tiny sizes, a minute — the smoke test), then the report.
 * A scenario that fails is recorded in the report and the others still run.
 */
import { describeMachine } from './machine.ts';
import type { BenchResults } from './report.ts';
import { defaultCapacityOptions, runCapacity } from './scenarios/capacity.ts';
import { defaultConcurrencyOptions, runConcurrency } from './scenarios/concurrency.ts';
import { defaultControlOptions, runControl } from './scenarios/control.ts';
import { defaultFanoutOptions, runFanout } from './scenarios/fanout.ts';
import { defaultGlassCases, runGlass } from './scenarios/glass.ts';
import { runEdges } from './scenarios/edges.ts';
import { runLatency } from './scenarios/latency.ts';
import { defaultPipelineOptions, runPipeline } from './scenarios/pipeline.ts';
import { defaultSessionsOptions, runSessions } from './scenarios/sessions.ts';
import { defaultSoakOptions, runSoak } from './scenarios/soak.ts';

export async function runSuite(quick: boolean, log: (line: string) => void): Promise<BenchResults> {
  const started = Date.now();
  const results: BenchResults = { machine: describeMachine(), startedAt: new Date(started).toISOString(), seconds: 0, quick, failed: [] };
  const step = async (scenario: string, run: () => Promise<void>) => {
    log(`\n== ${scenario}`);
    try {
      await run();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`${scenario} failed: ${message}`);
      results.failed.push({ scenario, error: message });
    }
  };
  const size = quick ? '160x90' : '640x360';

  await step('pipeline', async () => {
    const options = defaultPipelineOptions();
    if (quick) Object.assign(options, { chunks: 2, chunkSeconds: 0.5, sizes: [[160, 90]], workers: 1 });
    results.pipeline = await runPipeline(options, log);
  });
  await step('edges', async () => {
    results.edges = runEdges(log);
  });
  await step('latency', async () => {
    results.latency = [];
    for (const chunkSeconds of quick ? [1] : [0.5, 1, 2]) {
      const result = await runLatency({ seconds: quick ? 2 : 20, chunkSeconds, size }, log);
      results.latency.push({ chunkSeconds, size, result });
    }
  });
  await step('glass', async () => {
    results.glass = await runGlass(
      quick
        ? { seconds: 2, settle: 1, size, cases: [{ player: 'mse', chunkSeconds: 1 }] }
        : { seconds: 20, settle: 5, size, cases: defaultGlassCases() },
      log,
    );
  });
  await step('control', async () => {
    const options = defaultControlOptions();
    Object.assign(options, quick ? { seconds: 1, repeats: 1, connections: 4, segments: 3 } : { seconds: 6 });
    results.control = await runControl(options, log);
  });
  await step('fanout', async () => {
    const options = defaultFanoutOptions();
    if (quick) Object.assign(options, { subscribers: [20], waiters: 10, events: 1, segments: 3 });
    results.fanout = await runFanout(options, log);
  });
  await step('sessions', async () => {
    const options = defaultSessionsOptions();
    if (quick) Object.assign(options, { counts: [20], active: 5, chunks: 2 });
    results.sessions = await runSessions(options, log);
  });
  await step('soak', async () => {
    const options = defaultSoakOptions();
    Object.assign(
      options,
      quick ? { streams: 1, minutes: 0.1, chunkSeconds: 1, width: 160, height: 90, sampleSeconds: 2 } : { minutes: 1.5 },
    );
    results.soak = await runSoak(options, log);
  });
  await step('concurrency', async () => {
    const options = defaultConcurrencyOptions();
    Object.assign(options, quick ? { seconds: 1, chunkSeconds: 1, width: 160, height: 90, maxStreams: 1 } : { seconds: 16 });
    results.concurrency = await runConcurrency(options, log);
  });
  await step('capacity', async () => {
    const options = defaultCapacityOptions();
    Object.assign(options, quick ? { nodes: [1], seconds: 2, maxStreams: 1, width: 160, height: 90 } : { seconds: 15 });
    results.capacity = { chunkSeconds: options.chunkSeconds, rows: await runCapacity(options, log) };
  });
  results.seconds = (Date.now() - started) / 1000;
  return results;
}
