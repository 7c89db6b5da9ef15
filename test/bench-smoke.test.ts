/**
 * The media benchmarks (pipeline, latency, glass), each run through `npm run bench`'s CLI at a tiny
 * size so none can rot: each must exit 0 and save a result with figures in it. (The figures themselves
 * are measured in `bench/`, not asserted here. The others: bench-live.test.ts, bench-services.test.ts; the whole suite and
 * its report: bench-suite.test.ts.)
 */
import t from 'tap';
import { smokeScenario } from '../testkit/bench-cli.ts';

t.test('bench pipeline runs at a tiny size', (t) =>
  smokeScenario(
    t,
    'pipeline',
    ['--chunks', '2', '--chunk-seconds', '0.5', '--sizes', '160x90', '--workers', '1'],
    (r) => r.length === 1 && r[0].realtimeFactor > 0,
  ),
);
t.test('bench latency runs at a tiny size', (t) =>
  smokeScenario(
    t,
    'latency',
    ['--seconds', '2', '--chunk-seconds', '1', '--sizes', '160x90'],
    (r) => r.chunks >= 2 && r.processingMs.p50 > 0,
  ),
);
t.test('bench glass runs at a tiny size', (t) =>
  smokeScenario(
    t,
    'glass',
    ['--seconds', '2', '--settle', '1', '--sizes', '160x90', '--cases', 'mse:1'],
    (r) => r.length === 1 && r[0].frames > 0,
  ),
);

const GT = process.env.STEREOSPOT_TEST_DEPTH_GT;
if (!GT) t.comment('bench depth is skipped: STEREOSPOT_TEST_DEPTH_GT (the depth-gt folder) is not set (.ci/run sets it)');
t.test('bench depth runs over every photograph with measured depth', { skip: GT ? false : 'no STEREOSPOT_TEST_DEPTH_GT' }, (t) =>
  smokeScenario(
    t,
    'depth',
    ['--gt', GT!],
    (r) =>
      r.length >= 4 &&
      r.every(
        (row: { blocks: number; outputSpearman: number; flicker: number; flickerRaw: number }) =>
          row.blocks > 20 && Number.isFinite(row.outputSpearman) && row.flicker >= 0 && row.flicker < row.flickerRaw,
      ),
  ),
);
