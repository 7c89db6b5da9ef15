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
  /** The control token's generation (the admin token: none can be higher); a rotation past it closes the socket. */
  generation: number;
  format: WireFormat;
  /** Base URL of the request that opened the socket (for credential refreshes). */
  baseUrl: string;
  closed: boolean;
  refreshTimer?: NodeJS.Timeout;
}

export type Socket = WebSocket<SocketData>;

/** Why a socket went away, as `/metrics` counts it. */
export type DisconnectReason = 'client' | 'slow_consumer' | 'session_ended' | 'refused' | 'shutdown' | 'abnormal';

function reasonOf(code: number): DisconnectReason {
  if (code === CloseCode.SlowConsumer) return 'slow_consumer';
  if (code === CloseCode.SessionEnded) return 'session_ended';
  if (code === CloseCode.BadMessage || code === CloseCode.Unauthorized || code === CloseCode.SessionNotFound) return 'refused';
  if (code === 1000 || code === 1001 || code === 1005) return 'client';
  return 'abnormal'; // 1006: the connection broke without a close frame
}

type Frame = ReturnType<typeof encode>;

/** One batch handed to every subscriber of a session (or every dashboard), first write to last (`process.hrtime.bigint()`). */
export interface FanOut {
  /** null: the dashboards. */
  sessionId: string | null;
  subscribers: number;
  messages: number;
  startedAt: bigint;
  endedAt: bigint;
}

export class SocketHub {
  readonly #bySession = new Map<string, Set<Socket>>();
  readonly #dashboards = new Set<Socket>();
  readonly #maxBackpressure: number;
  readonly #log: Logger;
  slowConsumersDropped = 0;
  messagesSent = 0;
  /** Sockets gone, by reason (since start). */
  readonly disconnects: Record<DisconnectReason, number> = {
    client: 0,
    slow_consumer: 0,
    session_ended: 0,
    refused: 0,
    shutdown: 0,
    abnormal: 0,
  };
  #shuttingDown = false;
  readonly #fanOutListeners = new Set<(fanOut: FanOut) => void>();

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

  /** A socket closed (`code` as uWS reports it: what was sent or received, 1006 when the link broke). */
  remove(ws: Socket, code: number): void {
    this.disconnects[this.#shuttingDown ? 'shutdown' : reasonOf(code)]++;
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
    this.#sendFrames(ws, [encode(ws.getUserData().format, message)]);
  }

  /**
   * Sends messages to many sockets: each message encoded once per wire format, and each socket's
   * messages corked into one write (one system call per subscriber, however many messages).
   */
  #fanOut(sessionId: string | null, sockets: Set<Socket>, messages: Array<ServerMessage | DashboardMessage>): void {
    const startedAt = process.hrtime.bigint();
    const frames = new Map<WireFormat, Frame[]>();
    // A copy: a slow consumer dropped on the way leaves the set.
    const subscribers = [...sockets];
    for (const ws of subscribers) {
      const format = ws.getUserData().format;
      let encoded = frames.get(format);
      if (!encoded) frames.set(format, (encoded = messages.map((m) => encode(format, m))));
      this.#sendFrames(ws, encoded);
    }
    if (this.#fanOutListeners.size === 0) return;
    const fanOut: FanOut = {
      sessionId,
      subscribers: subscribers.length,
      messages: messages.length,
      startedAt,
      endedAt: process.hrtime.bigint(),
    };
    for (const listener of this.#fanOutListeners) listener(fanOut);
  }

  /** Calls `listener` after each fan-out (metrics, benchmarks); returns the function that stops it. */
  onFanOut(listener: (fanOut: FanOut) => void): () => void {
    this.#fanOutListeners.add(listener);
    return () => this.#fanOutListeners.delete(listener);
  }

  #sendFrames(ws: Socket, frames: Frame[]): void {
    const data = ws.getUserData();
    if (data.closed) return;
    let dropped = false;
    ws.cork(() => {
      for (const { data: frame, binary } of frames) {
        // 2 = dropped by uWS because the buffer is over maxBackpressure: the rest would be too.
        if (ws.send(frame, binary) === 2) {
          dropped = true;
          break;
        }
        this.messagesSent++;
      }
    });
    if (dropped || ws.getBufferedAmount() > this.#maxBackpressure) {
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

  /** Sends to every subscriber of one session, in order (one batch of changes: one write per subscriber). */
  publish(sessionId: string, messages: ServerMessage[]): void {
    const set = this.#bySession.get(sessionId);
    if (set && messages.length > 0) this.#fanOut(sessionId, set, messages);
  }

  /** True when a dashboard is connected (nothing to build otherwise). */
  get hasDashboards(): boolean {
    return this.#dashboards.size > 0;
  }

  publishDashboard(message: DashboardMessage): void {
    this.#fanOut(null, this.#dashboards, [message]);
  }

  /** The session's control token was rotated: control sockets holding an older one are closed (4401). */
  revokeControl(sessionId: string, generation: number): void {
    for (const ws of this.#bySession.get(sessionId) ?? []) {
      const data = ws.getUserData();
      if (!data.control || data.closed || data.generation >= generation) continue;
      data.closed = true;
      if (data.refreshTimer) clearTimeout(data.refreshTimer);
      ws.end(CloseCode.Unauthorized, 'the control token was rotated');
    }
  }

  /** Closes every socket (shutdown). */
  closeAll(code: number, reason: string): void {
    this.#shuttingDown = true;
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
