import t from 'tap';
import { CloseCode } from '../../protocol/messages.ts';
import { createLogger, memorySink } from '../log.ts';
import { SocketHub, type Socket, type SocketData } from '../ws/hub.ts';

/** A stand-in uWS socket: plain object with function fields; `result` is what send() reports. */
function fakeSocket(sessionId: string, behaviour: { result: number; buffered: number }) {
  const data: SocketData = { kind: 'session', sessionId, control: false, format: 'json', baseUrl: 'http://x', closed: false };
  const sent: unknown[] = [];
  const ended: Array<[number, string]> = [];
  const ws = {
    getUserData: () => data,
    send: (frame: string) => {
      sent.push(JSON.parse(frame));
      return behaviour.result;
    },
    getBufferedAmount: () => behaviour.buffered,
    end: (code: number, reason: string) => ended.push([code, reason]),
  } as unknown as Socket;
  return { ws, sent, ended, data };
}

t.test('a subscriber over the backpressure limit is disconnected and counted; others keep receiving', async (t) => {
  const hub = new SocketHub(1024, createLogger('test', memorySink()));
  const fast = fakeSocket('s', { result: 1, buffered: 0 });
  const slow = fakeSocket('s', { result: 0, buffered: 4096 });
  const dropped = fakeSocket('s', { result: 2, buffered: 0 });
  for (const s of [fast, slow, dropped]) hub.add(s.ws);
  hub.publish('s', { type: 'pong' });
  hub.publish('s', { type: 'pong' });
  t.equal(fast.sent.length, 2, 'the fast subscriber gets everything');
  t.same(slow.ended, [[CloseCode.SlowConsumer, 'slow consumer']]);
  t.same(dropped.ended, [[CloseCode.SlowConsumer, 'slow consumer']]);
  t.equal(slow.sent.length, 1, 'nothing more is sent after the drop');
  t.equal(hub.slowConsumersDropped, 2);
});

t.test('publishing reaches only the session subscribed to', async (t) => {
  const hub = new SocketHub(1024, createLogger('test', memorySink()));
  const a = fakeSocket('a', { result: 1, buffered: 0 });
  const b = fakeSocket('b', { result: 1, buffered: 0 });
  hub.add(a.ws);
  hub.add(b.ws);
  hub.publish('a', { type: 'pong' });
  t.equal(a.sent.length, 1);
  t.equal(b.sent.length, 0, 'nothing from one session reaches another');
  hub.remove(a.ws);
  hub.publish('a', { type: 'pong' });
  t.equal(a.sent.length, 1);
});
