/**
 * Fan-out of session changes to WebSocket subscribers, with bounded backpressure:
 * a subscriber whose send buffer passes the limit is disconnected (4408) and counted,
 * so one slow reader can never grow the server's memory or delay anyone else.
 */
import type { WebSocket } from 'uWebSockets.js';
import { CloseCode, type DashboardMessage, type ServerMessage } from '../../protocol/messages.ts';
import type { Logger } from '../log.ts';
import { encode, type WireFormat } from './codec.ts';

export interface SocketData {
  kind: 'session' | 'events';
  sessionId: string;
  /** Holds the session's control token: may send `chunk_uploaded` and receives credentials. */
  control: boolean;
  format: WireFormat;
  /** Base URL of the request that opened the socket (for credential refreshes). */
  baseUrl: string;
  closed: boolean;
  refreshTimer?: NodeJS.Timeout;
}

export type Socket = WebSocket<SocketData>;

export class SocketHub {
  readonly #bySession = new Map<string, Set<Socket>>();
  readonly #dashboards = new Set<Socket>();
  readonly #maxBackpressure: number;
  readonly #log: Logger;
  slowConsumersDropped = 0;
  messagesSent = 0;

  constructor(maxBackpressure: number, log: Logger) {
    this.#maxBackpressure = maxBackpressure;
    this.#log = log;
  }

  get size(): number {
    let n = this.#dashboards.size;
    for (const set of this.#bySession.values()) n += set.size;
    return n;
  }

  add(ws: Socket): void {
    const data = ws.getUserData();
    if (data.kind === 'events') {
      this.#dashboards.add(ws);
      return;
    }
    let set = this.#bySession.get(data.sessionId);
    if (!set) this.#bySession.set(data.sessionId, (set = new Set()));
    set.add(ws);
  }

  remove(ws: Socket): void {
    const data = ws.getUserData();
    data.closed = true;
    if (data.refreshTimer) clearTimeout(data.refreshTimer);
    if (data.kind === 'events') {
      this.#dashboards.delete(ws);
      return;
    }
    const set = this.#bySession.get(data.sessionId);
    set?.delete(ws);
    if (set?.size === 0) this.#bySession.delete(data.sessionId);
  }

  /** Sends one message to one socket; drops the socket if it cannot keep up. */
  send(ws: Socket, message: ServerMessage | DashboardMessage): void {
    const data = ws.getUserData();
    if (data.closed) return;
    const { data: frame, binary } = encode(data.format, message);
    const result = ws.send(frame, binary);
    this.messagesSent++;
    // 2 = dropped by uWS because the buffer is over maxBackpressure.
    if (result === 2 || ws.getBufferedAmount() > this.#maxBackpressure) {
      this.slowConsumersDropped++;
      this.#log.warn('slow subscriber disconnected', { session_id: data.sessionId, buffered: ws.getBufferedAmount() });
      data.closed = true;
      ws.end(CloseCode.SlowConsumer, 'slow consumer');
    }
  }

  /** True when anyone is subscribed to the session (nothing to build otherwise). */
  hasSubscribers(sessionId: string): boolean {
    return this.#bySession.has(sessionId);
  }

  /** Sends to every subscriber of one session. */
  publish(sessionId: string, message: ServerMessage): void {
    const set = this.#bySession.get(sessionId);
    if (!set) return;
    for (const ws of [...set]) this.send(ws, message);
  }

  /** True when a dashboard is connected (nothing to build otherwise). */
  get hasDashboards(): boolean {
    return this.#dashboards.size > 0;
  }

  publishDashboard(message: DashboardMessage): void {
    for (const ws of [...this.#dashboards]) this.send(ws, message);
  }

  /** Closes every socket (shutdown). */
  closeAll(code: number, reason: string): void {
    const all = [...this.#dashboards, ...[...this.#bySession.values()].flatMap((s) => [...s])];
    for (const ws of all) {
      const data = ws.getUserData();
      if (data.closed) continue;
      data.closed = true;
      if (data.refreshTimer) clearTimeout(data.refreshTimer);
      ws.end(code, reason);
    }
    this.#dashboards.clear();
    this.#bySession.clear();
  }
}
