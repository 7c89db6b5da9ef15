/**
 * The live-stream benchmarks (soak, concurrency: a server process with the real pool, streams uploaded
 * in real time), each run through `npm run bench`'s CLI at a tiny size so none can rot: each must exit 0
 * and save a result with figures in it. (In a file of their own: each bench smoke file stays well under
 * tap's per-file time limit on a loaded machine.)
 */
import t from 'tap';
import { smokeScenario } from '../testkit/bench-cli.ts';

t.test('bench soak runs at a tiny size', (t) =>
  smokeScenario(
    t,
    'soak',
    ['--streams', '1', '--minutes', '0.2', '--chunk-seconds', '1', '--sizes', '160x90'],
    (r) =>
      r.chunks.sent >= 10 && r.chunks.ready === r.chunks.sent && r.samples.length >= 1 && r.snapshots !== null && r.snapshots.endBytes > 0,
  ),
);
t.test('bench soak runs without heap snapshots (RSS alone)', (t) =>
  smokeScenario(
    t,
    'soak',
    ['--streams', '1', '--minutes', '0.2', '--chunk-seconds', '1', '--sizes', '160x90', '--heap-snapshots', 'off'],
    (r) => r.chunks.ready === r.chunks.sent && r.samples.length >= 1 && r.snapshots === null && Number.isFinite(r.rssSlopeMiBPer10Min),
  ),
);
t.test('bench concurrency runs at a tiny size', (t) =>
  smokeScenario(
    t,
    'concurrency',
    ['--seconds', '2', '--chunk-seconds', '1', '--sizes', '160x90', '--max-streams', '1'],
    (r) => r.levels.length === 1 && r.levels[0].latencyMs.p50 > 0 && r.levels[0].playlistMs.p50 > 0,
  ),
);
