/**
 * The server-side benchmarks (control, fanout, sessions, capacity), each run through `npm run bench`'s CLI at a
 * tiny size so none can rot: each must exit 0 and save a result with figures in it.
 */
import t from 'tap';
import { smokeScenario } from '../testkit/bench-cli.ts';

t.test('bench control runs at a tiny size', (t) =>
  smokeScenario(
    t,
    'control',
    ['--seconds', '1', '--repeats', '1', '--connections', '4', '--segments', '3'],
    (r) => r.cases.length === 6 && r.cases.every((c: any) => c.requestsPerSecond > 0 && c.requestsPerCpuSecond > 0),
  ),
);
t.test('bench fanout runs at a tiny size', (t) =>
  smokeScenario(
    t,
    'fanout',
    ['--subscribers', '5', '--waiters', '3', '--events', '1', '--segments', '2'],
    (r) =>
      r.cases.length === 4 &&
      r.cases.every((c: any) => c.samples > 0 && c.ms.p50 > 0) &&
      r.cases.filter((c: any) => c.kind === 'socket').every((c: any) => c.writtenMs.p50 > 0),
  ),
);
t.test('bench sessions runs at a tiny size', (t) =>
  smokeScenario(
    t,
    'sessions',
    ['--counts', '20'],
    (r) => r.length === 1 && r[0].count === 20 && r[0].createPerSecond > 0 && r[0].listMs.p50 > 0,
  ),
);
t.test('bench capacity runs at a tiny size', (t) =>
  smokeScenario(
    t,
    'capacity',
    ['--nodes', '1', '--seconds', '2', '--max-streams', '1', '--sizes', '160x90'],
    (r) => r.length === 1 && r[0].levels.length === 1,
  ),
);
