/** Placement: the least-loaded node by open sessions per worker; this node on a tie; then by name. */
import t from 'tap';
import { leastLoaded } from '../cluster/presence.ts';

t.test('the least-loaded node wins, per worker', async (t) => {
  const nodes = [
    { nodeId: 'a', workers: 1, sessions: 2 },
    { nodeId: 'b', workers: 4, sessions: 4 },
    { nodeId: 'c', workers: 2, sessions: 3 },
  ];
  t.equal(leastLoaded(nodes, 'a'), 'b', '4 sessions on 4 workers is less loaded than 2 on 1');
  t.equal(leastLoaded([], 'a'), 'a', 'nobody known: this node');
  t.equal(leastLoaded([{ nodeId: 'x', workers: 0, sessions: 0 }], 'a'), 'x', 'a node that announces no worker counts as one');
});

t.test('ties go to this node, then by name', async (t) => {
  const even = [
    { nodeId: 'c', workers: 2, sessions: 2 },
    { nodeId: 'b', workers: 1, sessions: 1 },
    { nodeId: 'a', workers: 1, sessions: 1 },
  ];
  t.equal(leastLoaded(even, 'c'), 'c', 'this node, on a tie: no hop');
  t.equal(leastLoaded(even, 'z'), 'a', 'otherwise the first by name: every node chooses the same');
});
