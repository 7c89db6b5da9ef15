/**
 * Nothing from Redis is trusted: with a real redis-server, two nodes' buses share a key, and a third
 * client — anything that can publish to Redis — tries to speak for them: unsealed messages, a wrong
 * key, a replay, a sealed message of the wrong shape, a fake presence key, forged commands. Each is
 * dropped and counted; the nodes' own messages still pass. Order on one channel is Redis's delivery
 * order, so each refusal is followed by a genuine message that must arrive first-and-alone.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import t, { type Test } from 'tap';
import { newSessionData, type SessionRecord } from '../actors/index.ts';
import type { SessionChangeMessage, SessionCommand } from '../server/adapters/ports.ts';
import { RedisBus } from '../server/cluster/bus.ts';
import { BusSeal } from '../server/cluster/seal.ts';
import { createLogger, memorySink } from '../server/log.ts';
import { until } from '../testkit/server.ts';
import { startRedis } from '../testkit/redis.ts';

const CHANNEL = 'stereospot:sessions';

function record(sessionId: string, overrides: Partial<SessionRecord> = {}): SessionRecord {
  return { ...newSessionData(sessionId, 'sbs', Date.now(), { strength: 0.03, convergence: 0 }), version: 2, closed: false, ...overrides };
}

function change(from: string, sessionId: string, seq: number, rec = record(sessionId)): SessionChangeMessage {
  return { from, sessionId, token: 1, seq, changes: [{ kind: 'phase', phase: 'live' }], record: rec };
}

async function setup(t: Test) {
  const url = await startRedis(t);
  const seal = new BusSeal(randomBytes(32));
  const a = await RedisBus.connect(url, 'node-a', createLogger('bus', memorySink('warn')), seal);
  const b = await RedisBus.connect(url, 'node-b', createLogger('bus', memorySink('warn')), seal);
  const intruder = new Redis(url);
  t.teardown(async () => {
    intruder.disconnect();
    await Promise.all([a.close(), b.close()]);
  });
  const received: SessionChangeMessage[] = [];
  b.onMessage((m) => received.push(m));
  const commands: SessionCommand[] = [];
  b.onCommand(async (c) => {
    commands.push(c);
    return { ok: true };
  });
  return { a, b, seal, intruder, received, commands };
}

t.test('session changes: only sealed, fresh, well-formed messages from a node are delivered', async (t) => {
  const { a, b, seal, intruder, received } = await setup(t);
  let seq = 0;
  /** The intruder's message, then a genuine one: the genuine one must be the next delivered. */
  const refusedThenGenuine = async (what: string, text: string, reason: string) => {
    const before = b.refused.get(reason) ?? 0;
    await intruder.publish(CHANNEL, text);
    const genuine = change('node-a', 'genuine', ++seq);
    a.publish(genuine);
    await until(() => received.length > 0, `the genuine message after ${what}`, 10_000);
    t.same(
      received.splice(0).map((m) => m.seq),
      [genuine.seq],
      `${what}: refused, the genuine one delivered`,
    );
    t.equal(b.refused.get(reason), before + 1, `${what}: counted as ${reason}`);
  };
  await refusedThenGenuine('plain JSON', JSON.stringify(change('node-a', 'forged', 99)), 'malformed');
  await refusedThenGenuine('a wrong key', new BusSeal(randomBytes(32)).seal(CHANNEL, change('node-a', 'forged', 99)), 'bad_mac');
  await refusedThenGenuine('a replay two minutes old', seal.seal(CHANNEL, change('node-a', 'forged', 99), Date.now() - 120_000), 'stale');
  await refusedThenGenuine(
    'a seal made for another channel',
    seal.seal('stereospot:node:node-b', change('node-a', 'forged', 99)),
    'bad_mac',
  );
  await refusedThenGenuine(
    'settings out of range',
    seal.seal(CHANNEL, change('node-a', 'forged', 99, record('forged', { settings: { strength: 1000, convergence: 0 } }))),
    'invalid',
  );
  const injected = record('forged', {
    chunks: {
      0: {
        index: 0,
        status: 'ready',
        attempts: 1,
        uploadedAt: 1,
        duration: 2,
        start: 0,
        init: '0123456789abcdef"\n#EXT-X-KEY:METHOD=AES-128,URI="http://evil',
        codecs: 'avc1.42C01E',
      },
    },
  });
  await refusedThenGenuine(
    'a playlist line injected through an init id',
    seal.seal(CHANNEL, change('node-a', 'forged', 99, injected)),
    'invalid',
  );
  await refusedThenGenuine(
    'an ending of 300 000 chunks',
    seal.seal(CHANNEL, change('node-a', 'forged', 99, record('forged', { expectedChunks: 300_000 }))),
    'invalid',
  );
  await refusedThenGenuine('a record of another session', seal.seal(CHANNEL, change('node-a', 'forged', 99, record('other'))), 'invalid');
});

t.test('presence: a key nobody sealed is no node', async (t) => {
  const { a, b, intruder } = await setup(t);
  await a.announce({ nodeId: 'node-a', workers: 2, sessions: 0 }, 30_000);
  await b.announce({ nodeId: 'node-b', workers: 2, sessions: 0 }, 30_000);
  await intruder.set('stereospot:presence:fake', JSON.stringify({ nodeId: 'fake', workers: 1000, sessions: 0 }), 'PX', 30_000);
  await intruder.set('stereospot:presence:copy', (await intruder.get('stereospot:presence:node-a')) as string, 'PX', 30_000);
  const nodes = await b.nodes();
  t.same(nodes.map((n) => n.nodeId).sort(), ['node-a', 'node-b'], 'the fake node and the copied value under another key are not listed');
  t.equal(b.refused.get('malformed'), 1);
  t.equal(b.refused.get('bad_mac'), 1, 'a value sealed for one key does not verify under another');
});

t.test('commands: forged or out-of-range ones never reach the handler; a node’s own do', async (t) => {
  const { a, seal, intruder, commands } = await setup(t);
  const channel = 'stereospot:node:node-b';
  const forged = (command: unknown, sealWith = seal) => sealWith.seal(channel, { kind: 'command', id: 'x:1', from: 'node-a', command });
  await intruder.publish(
    channel,
    JSON.stringify({ kind: 'command', id: 'x:1', from: 'node-a', command: { type: 'end', sessionId: 's', expectedChunks: 1 } }),
  );
  await intruder.publish(channel, forged({ type: 'end', sessionId: 's', expectedChunks: 1 }, new BusSeal(Buffer.alloc(32, 1))));
  await intruder.publish(channel, forged({ type: 'create', mode: 'sbs', settings: { strength: 1000, convergence: 0 } }));
  await intruder.publish(channel, forged({ type: 'end', sessionId: 's', expectedChunks: 300_000 }));
  await intruder.publish(channel, forged({ type: 'settings', sessionId: 's', settings: { strength: 'lots' } }));
  await intruder.publish(channel, forged({ type: 'chunk', sessionId: '../etc', index: 0, bytes: 1 }));
  const reply = await a.request('node-b', { type: 'end', sessionId: 's', expectedChunks: 2 }, 10_000);
  t.same(reply, { ok: true }, "node-a's own command is answered");
  t.same(commands, [{ type: 'end', sessionId: 's', expectedChunks: 2 }], 'and it alone reached the handler');
});

t.test('BusSeal refuses short keys and oversized or garbled texts', async (t) => {
  t.throws(() => new BusSeal(Buffer.alloc(16)), TypeError);
  const seal = new BusSeal(randomBytes(32));
  t.same(seal.open('c', 'not json'), { ok: false, reason: 'malformed' });
  t.same(seal.open('c', '{"t":1,"b":1,"m":"x"}'), { ok: false, reason: 'malformed' });
  t.same(seal.open('c', seal.seal('c', { a: 1 })), { ok: true, payload: { a: 1 } });
  const sealed = JSON.parse(seal.seal('c', { a: 1 })) as { t: number; b: string; m: string };
  t.same(seal.open('c', JSON.stringify({ ...sealed, b: '{"a":2}' })), { ok: false, reason: 'bad_mac' }, 'a changed body');
  t.same(seal.open('c', 'x'.repeat(33 * 1024 * 1024)), { ok: false, reason: 'too_large' });
});
