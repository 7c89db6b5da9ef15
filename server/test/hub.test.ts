import t from 'tap';
import { CloseCode } from '../../protocol/messages.ts';
import { createLogger, memorySink } from '../log.ts';
import { SocketHub, type Socket, type SocketData } from '../ws/hub.ts';

/** A stand-in uWS socket: plain object with function fields; `result` is what send() reports. */
function fakeSocket(sessionId: string, behaviour: { result: number; buffered: number }) {
  const data: SocketData = {
    kind: 'session',
    sessionId,
    control: false,
    generation: 0,
    format: 'json',
    baseUrl: 'http://x',
    closed: false,
  };
  const sent: unknown[] = [];
  /** The frames as handed to uWS (to see that a fan-out encodes once). */
  const frames: unknown[] = [];
  const ended: Array<[number, string]> = [];
  /** Sends made inside cork(), per cork (uWS writes a corked batch with one system call). */
  const corks: number[] = [];
  let corked = false;
  const ws = {
    getUserData: () => data,
    cork: (fn: () => void) => {
      corks.push(0);
      corked = true;
      fn();
      corked = false;
    },
    send: (frame: string) => {
      if (corked) corks[corks.length - 1]!++;
      frames.push(frame);
      sent.push(JSON.parse(frame));
      return behaviour.result;
    },
    getBufferedAmount: () => behaviour.buffered,
    end: (code: number, reason: string) => ended.push([code, reason]),
  } as unknown as Socket;
  return { ws, sent, frames, ended, data, corks };
}

t.test('a subscriber over the backpressure limit is disconnected and counted; others keep receiving', async (t) => {
  const hub = new SocketHub(1024, createLogger('test', memorySink()));
  const fast = fakeSocket('s', { result: 1, buffered: 0 });
  const slow = fakeSocket('s', { result: 0, buffered: 4096 });
  const dropped = fakeSocket('s', { result: 2, buffered: 0 });
  for (const s of [fast, slow, dropped]) hub.add(s.ws);
  hub.publish('s', [{ type: 'pong' }]);
  hub.publish('s', [{ type: 'pong' }]);
  t.equal(fast.sent.length, 2, 'the fast subscriber gets everything');
  t.same(slow.ended, [[CloseCode.SlowConsumer, 'slow consumer']]);
  t.same(dropped.ended, [[CloseCode.SlowConsumer, 'slow consumer']]);
  t.equal(slow.sent.length, 1, 'nothing more is sent after the drop');
  t.equal(hub.slowConsumersDropped, 2);
});

t.test("one batch of a session's changes is one corked write per subscriber, in order", async (t) => {
  const hub = new SocketHub(1024, createLogger('test', memorySink()));
  const a = fakeSocket('s', { result: 1, buffered: 0 });
  const b = fakeSocket('s', { result: 1, buffered: 0 });
  hub.add(a.ws);
  hub.add(b.ws);
  hub.publish('s', [{ type: 'pong' }, { type: 'error', code: 'x', message: 'one' }, { type: 'error', code: 'x', message: 'two' }]);
  for (const s of [a, b]) {
    t.same(s.corks, [3], 'three messages, one cork');
    t.same(
      s.sent.map((m) => (m as { message?: string; type: string }).message ?? (m as { type: string }).type),
      ['pong', 'one', 'two'],
      'in order',
    );
  }
  // A subscriber whose buffer is full takes no more of the batch and is dropped.
  const full = fakeSocket('s', { result: 2, buffered: 0 });
  hub.add(full.ws);
  hub.publish('s', [{ type: 'pong' }, { type: 'pong' }]);
  t.same(full.corks, [1], 'the batch stops at the first refused frame');
  t.same(full.ended, [[CloseCode.SlowConsumer, 'slow consumer']]);
  t.same(a.corks, [3, 2], 'the others get the whole batch');
});

t.test('publishing reaches only the session subscribed to', async (t) => {
  const hub = new SocketHub(1024, createLogger('test', memorySink()));
  const a = fakeSocket('a', { result: 1, buffered: 0 });
  const b = fakeSocket('b', { result: 1, buffered: 0 });
  hub.add(a.ws);
  hub.add(b.ws);
  hub.publish('a', [{ type: 'pong' }]);
  t.equal(a.sent.length, 1);
  t.equal(b.sent.length, 0, 'nothing from one session reaches another');
  hub.remove(a.ws, 1000);
  hub.publish('a', [{ type: 'pong' }]);
  t.equal(a.sent.length, 1);
});

t.test('a fan-out encodes the message once per wire format', async (t) => {
  const hub = new SocketHub(1024, createLogger('test', memorySink()));
  const subscribers = [1, 2, 3].map(() => fakeSocket('s', { result: 1, buffered: 0 }));
  for (const s of subscribers) hub.add(s.ws);
  // Equal strings cannot show whether a message was encoded once; the identity of a byte array can.
  const binary = subscribers.map(() => fakeSocket('s', { result: 1, buffered: 0 }));
  for (const s of binary) {
    s.data.format = 'msgpack';
    (s.ws as unknown as { send: (f: Uint8Array) => number }).send = (f: Uint8Array) => {
      s.frames.push(f);
      return 1;
    };
    hub.add(s.ws);
  }
  hub.publish('s', [{ type: 'pong' }]);
  t.same(
    subscribers.map((s) => s.sent),
    [[{ type: 'pong' }], [{ type: 'pong' }], [{ type: 'pong' }]],
    'every JSON subscriber gets it',
  );
  t.equal(binary.length, 3);
  t.ok(
    binary.every((s) => s.frames.length === 1 && s.frames[0] === binary[0]!.frames[0]),
    'the MessagePack subscribers share one encoded frame',
  );
});

t.test('disconnects are counted by reason', async (t) => {
  const hub = new SocketHub(1024, createLogger('test', memorySink()));
  const sockets = [1000, 1006, CloseCode.SlowConsumer, CloseCode.Unauthorized, CloseCode.SessionEnded].map((code) => ({
    code,
    s: fakeSocket('s', { result: 1, buffered: 0 }),
  }));
  for (const { s } of sockets) hub.add(s.ws);
  for (const { code, s } of sockets) hub.remove(s.ws, code);
  t.same(hub.disconnects, { client: 1, slow_consumer: 1, session_ended: 1, refused: 1, shutdown: 0, abnormal: 1 });
  t.equal(hub.size, 0);
  const late = fakeSocket('s', { result: 1, buffered: 0 });
  hub.add(late.ws);
  hub.closeAll(CloseCode.GoingAway, 'bye');
  hub.remove(late.ws, CloseCode.GoingAway);
  t.equal(hub.disconnects.shutdown, 1, 'sockets closed by the shutdown count as such');
});
