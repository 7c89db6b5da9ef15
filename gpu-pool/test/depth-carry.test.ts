/** The carried depth state: shared by a pool's workers over their channel, bounded, and checked on arrival. */
import { BroadcastChannel } from 'node:worker_threads';
import t from 'tap';
import { DepthCarry, chunkKey } from '../depth-carry.ts';

const state = (min: number) => ({ min, max: min + 1, thumb: [1, 2, 3] });

t.test('a state recorded by one worker is found by another; the oldest go first', async (t) => {
  const name = `carry-test-${process.pid}`;
  const a = new DepthCarry(name);
  const b = new DepthCarry(name);
  t.teardown(() => {
    a.close();
    b.close();
  });
  const key = chunkKey(Buffer.from('chunk 1'));
  t.equal(key, chunkKey(Buffer.from('chunk 1')), "the key is the bytes' hash");
  t.not(key, chunkKey(Buffer.from('chunk 2')));
  a.record(key, state(5));
  t.same(a.lookup(key), state(5), 'kept where it was recorded');
  const deadline = Date.now() + 5000;
  while (!b.lookup(key) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  t.same(b.lookup(key), state(5), 'and posted to the other worker');
  for (let i = 0; i < 100; i++) a.record(`k${i}`, state(i));
  t.equal(a.lookup(key), null, 'bounded: the oldest state is gone after 64 more');
  t.same(a.lookup('k99'), state(99));
});

t.test('a malformed message is dropped, not kept', async (t) => {
  const name = `carry-test-bad-${process.pid}`;
  const carry = new DepthCarry(name);
  const intruder = new BroadcastChannel(name);
  t.teardown(() => {
    carry.close();
    intruder.close();
  });
  const bad = [
    null,
    'text',
    { key: 'x' },
    { key: 'x'.repeat(65), state: state(1) },
    { key: 'nan', state: { min: NaN, max: 1, thumb: [] } },
    { key: 'thumb', state: { min: 0, max: 1, thumb: new Array(300).fill(0) } },
    {
      key: 'map',
      state: {
        ...state(1),
        filter: { width: 4, height: 4, map: new Float32Array(3), luma: new Uint8Array(16), lumaWidth: 4, lumaHeight: 4 },
      },
    },
    {
      key: 'huge',
      state: {
        ...state(1),
        filter: { width: 2048, height: 2048, map: new Float32Array(4), luma: new Uint8Array(4), lumaWidth: 2, lumaHeight: 2 },
      },
    },
  ];
  for (const message of bad) intruder.postMessage(message);
  const good = {
    ...state(2),
    filter: { width: 2, height: 2, map: new Float32Array(4), luma: new Uint8Array(4), lumaWidth: 2, lumaHeight: 2 },
  };
  intruder.postMessage({ key: 'good', state: good });
  const deadline = Date.now() + 5000;
  while (!carry.lookup('good') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  t.same(carry.lookup('good'), good, 'a well-formed state arrives (messages come in order: the bad ones were seen first)');
  for (const key of ['x', 'nan', 'thumb', 'map', 'huge']) t.equal(carry.lookup(key), null, `${key}: dropped`);
});
