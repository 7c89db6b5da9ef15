/** A test WebSocket client that collects decoded messages and waits for one matching a predicate. */
import { pack, unpack } from 'msgpackr';
import WebSocket from 'ws';
import type { Test } from 'tap';
import { socketProtocols, type ServerMessage } from '../protocol/messages.ts';

export interface TestSocket {
  ws: WebSocket;
  messages: ServerMessage[];
  closed: Promise<{ code: number; reason: string }>;
  next(predicate: (m: ServerMessage) => boolean, what: string, ms?: number): Promise<ServerMessage>;
  send(message: unknown, format?: 'msgpack' | 'json'): void;
}

/** Opens `url`; a `token` (control or admin) is offered as a subprotocol, as the clients do. */
export async function openSocket(t: Test, url: string, token?: string): Promise<TestSocket> {
  const ws = new WebSocket(url, socketProtocols(token));
  const messages: ServerMessage[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data, isBinary) => {
    const buf = data as Buffer;
    messages.push((isBinary ? unpack(buf) : JSON.parse(buf.toString('utf8'))) as ServerMessage);
    for (const w of [...waiters]) w();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const w of [...waiters]) w();
    }),
  );
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade refused: ${res.statusCode}`)));
  });
  t.teardown(() => ws.close());
  return {
    ws,
    messages,
    closed,
    next(predicate, what, ms = 20_000) {
      return new Promise((resolve, reject) => {
        let seen = 0;
        const check = () => {
          for (; seen < messages.length; seen++) {
            if (predicate(messages[seen]!)) {
              cleanup();
              resolve(messages[seen]!);
              return;
            }
          }
          if (ws.readyState === WebSocket.CLOSED) {
            cleanup();
            reject(new Error(`socket closed while waiting for ${what}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(messages.map((m) => m.type))}`));
        }, ms);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    send(message, format = 'msgpack') {
      ws.send(format === 'json' ? JSON.stringify(message) : pack(message));
    },
  };
}
