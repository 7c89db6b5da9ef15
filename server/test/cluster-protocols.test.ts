/**
 * The bus's protocols on the in-process transport (a node alone is a cluster of one; tests may join
 * several): changes reach the other nodes and not the sender, a throwing handler stops nothing,
 * commands are answered (a throwing command handler answers ok: false), a request to a node nobody
 * listens for fails at once, closing rejects what is still waiting, presence expires, and payloads that
 * are not what they claim are refused.
 */
import t, { type Test } from 'tap';
import { newSessionData } from '../../actors/index.ts';
import type { SessionChangeMessage, SessionCommand } from '../adapters/ports.ts';
import { localBus } from '../cluster/bus.ts';
import { MemoryCluster } from '../cluster/memory-transport.ts';
import { createLogger, memorySink } from '../log.ts';
import { until } from '../../testkit/server.ts';

const quiet = () => createLogger('bus', memorySink('error'));

function change(from: string, sessionId: string, seq: number): SessionChangeMessage {
  const record = {
    ...newSessionData(sessionId, 'sbs', Date.now(), { strength: 0.03, convergence: 0 }),
    version: 2 as const,
    closed: false,
  };
  return { from, sessionId, token: 1, seq, changes: [{ kind: 'phase', phase: 'live' }], record };
}

async function nodes(t: Test, ...ids: string[]) {
  const cluster = new MemoryCluster();
  const buses = await Promise.all(ids.map((id) => localBus(id, quiet(), cluster)));
  t.teardown(() => Promise.all(buses.map((b) => b.close())));
  return { cluster, buses };
}

t.test('changes reach every other node, not the sender; a throwing handler stops nothing', async (t) => {
  const { buses } = await nodes(t, 'a', 'b', 'c');
  const [a, b, c] = buses as [(typeof buses)[0], (typeof buses)[0], (typeof buses)[0]];
  const heard: Record<string, number[]> = { a: [], b: [], c: [] };
  a.onMessage((m) => heard.a!.push(m.seq));
  b.onMessage(() => {
    throw new Error('a broken listener');
  });
  b.onMessage((m) => heard.b!.push(m.seq));
  c.onMessage((m) => heard.c!.push(m.seq));
  a.publish(change('a', 's1', 1));
  a.publish(change('a', 's1', 2));
  await until(() => heard.b!.length === 2 && heard.c!.length === 2, 'both others to hear both changes');
  t.same(heard, { a: [], b: [1, 2], c: [1, 2] }, 'in order, to the others only, past the broken listener');
});

t.test('commands are answered; a throwing handler answers ok: false; nobody listening fails at once', async (t) => {
  const { buses } = await nodes(t, 'a', 'b');
  const [a, b] = buses as [(typeof buses)[0], (typeof buses)[0]];
  const got: SessionCommand[] = [];
  b.onCommand(async (command) => {
    got.push(command);
    if (command.type === 'rotate') throw new Error('no such session here');
    return { ok: true, generation: 7 };
  });
  t.same(await a.request('b', { type: 'end', sessionId: 's1', expectedChunks: 3 }, 5000), { ok: true, generation: 7 });
  t.same(await a.request('b', { type: 'rotate', sessionId: 's1' }, 5000), { ok: false, error: 'no such session here' });
  t.same(
    got.map((c) => c.type),
    ['end', 'rotate'],
  );
  const started = Date.now();
  await t.rejects(a.request('gone', { type: 'rotate', sessionId: 's1' }, 60_000), /node gone is not listening/);
  t.ok(Date.now() - started < 5000, 'without waiting for the timeout');
});

t.test('closing rejects every request still waiting', async (t) => {
  const { buses } = await nodes(t, 'a', 'b');
  const [a, b] = buses as [(typeof buses)[0], (typeof buses)[0]];
  b.onCommand(() => new Promise(() => undefined)); // never answers
  const waiting = a.request('b', { type: 'rotate', sessionId: 's1' }, 60_000);
  await new Promise((resolve) => setImmediate(resolve));
  await a.close();
  await t.rejects(waiting, /the bus closed before the answer came/);
  await t.rejects(a.request('b', { type: 'rotate', sessionId: 's1' }, 1000), /the bus is closed/);
});

t.test('presence: every node announced and unexpired; a closed node withdraws', async (t) => {
  const { buses } = await nodes(t, 'a', 'b');
  const [a, b] = buses as [(typeof buses)[0], (typeof buses)[0]];
  await a.announce({ nodeId: 'a', workers: 2, sessions: 1 }, 60_000);
  await b.announce({ nodeId: 'b', workers: 4, sessions: 0 }, 30);
  t.same((await a.nodes()).map((n) => n.nodeId).sort(), ['a', 'b']);
  await until(async () => (await a.nodes()).length === 1, "b's announcement to expire");
  await b.announce({ nodeId: 'b', workers: 4, sessions: 0 }, 60_000);
  await b.close();
  t.same(
    (await a.nodes()).map((n) => n.nodeId),
    ['a'],
    'b withdrew its announcement when it closed',
  );
});

t.test('what is not what it claims is refused and counted, in one process too', async (t) => {
  const { cluster, buses } = await nodes(t, 'a', 'b');
  const [, b] = buses as [(typeof buses)[0], (typeof buses)[0]];
  const heard: SessionChangeMessage[] = [];
  b.onMessage((m) => heard.push(m));
  const raw = cluster.join(quiet());
  t.teardown(() => raw.close());
  await raw.send('stereospot:sessions', {
    ...change('a', 's1', 1),
    record: { ...change('a', 's1', 1).record, settings: { strength: 5, convergence: 0 } },
  });
  await raw.send('stereospot:sessions', { ...change('a', 's1', 1), sessionId: '../x' });
  await raw.put('stereospot:presence:fake', { nodeId: 'other', workers: 1, sessions: 0 }, 60_000);
  await raw.send('stereospot:sessions', change('a', 's1', 3));
  await until(() => heard.length > 0, 'the genuine message');
  t.same(
    heard.map((m) => m.seq),
    [3],
    'only the genuine message was delivered',
  );
  t.equal(b.refused.get('invalid'), 2, 'the other two were refused');
  t.same(
    (await b.nodes()).map((n) => n.nodeId),
    [],
    'a presence value naming another node than its key is no node',
  );
});
