/**
 * A JSON WebSocket that comes back: on an unexpected close it reconnects with a growing delay
 * (0.5 s … 8 s) and says so, so a page shows "connection lost — retrying" instead of freezing when
 * the server goes away, and resumes (the server's snapshot on open) when it returns. Close codes that
 * mean "do not come back" (the session is unknown, the token is wrong) end it. A token rides in the
 * offered subprotocols (see protocol/messages.ts), never in the URL.
 */
import { socketProtocols } from '../../protocol/messages.ts';

export type SocketState = 'connecting' | 'open' | 'offline' | 'closed';

export interface JsonSocketEvents<In> {
  message(message: In): void;
  state(state: SocketState, detail: { code?: number; reason?: string; attempt?: number }): void;
}

/** Close codes after which reconnecting cannot help. */
const FINAL_CODES = new Set([4000, 4400, 4401, 4404]);

export class JsonSocket<In, Out = unknown> {
  readonly #url: string;
  /** Offered on every connect: ours and, with a token, the token (never put in the URL). */
  #protocols: string[];
  readonly #events: JsonSocketEvents<In>;
  #ws: WebSocket | null = null;
  #attempt = 0;
  #timer: number | undefined;
  #closed = false;

  readonly #giveUpBeforeOpen: boolean;
  #everOpened = false;

  /**
   * `giveUpBeforeOpen`: when the very first connection is refused, stop (state `closed`, code 1006)
   * instead of retrying — for sockets whose upgrade checks a token the user typed.
   */
  constructor(url: string, events: JsonSocketEvents<In>, options: { giveUpBeforeOpen?: boolean; token?: string | null } = {}) {
    this.#url = url;
    this.#protocols = socketProtocols(options.token);
    this.#events = events;
    this.#giveUpBeforeOpen = options.giveUpBeforeOpen ?? false;
    this.#connect();
  }

  /** A fresh token (the server sends one with each credential refresh): used from the next connection on. */
  setToken(token: string): void {
    this.#protocols = socketProtocols(token);
  }

  get open(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  send(message: Out): boolean {
    if (!this.open) return false;
    this.#ws!.send(JSON.stringify(message));
    return true;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#ws?.close(1000);
    this.#events.state('closed', {});
  }

  #connect(): void {
    this.#events.state('connecting', { attempt: this.#attempt });
    const ws = new WebSocket(this.#url, this.#protocols);
    this.#ws = ws;
    ws.onopen = () => {
      this.#everOpened = true;
      this.#attempt = 0;
      this.#events.state('open', {});
    };
    ws.onmessage = (event) => {
      let message: In;
      try {
        message = JSON.parse(String(event.data)) as In;
      } catch {
        return;
      }
      this.#events.message(message);
    };
    ws.onclose = (event) => {
      if (this.#closed) return;
      if (FINAL_CODES.has(event.code)) {
        this.#closed = true;
        this.#events.state('closed', { code: event.code, reason: event.reason });
        return;
      }
      if (!this.#everOpened && this.#giveUpBeforeOpen) {
        this.#closed = true;
        this.#events.state('closed', { code: event.code, reason: 'the server refused the connection' });
        return;
      }
      this.#attempt++;
      this.#events.state('offline', { code: event.code, attempt: this.#attempt });
      this.#timer = window.setTimeout(() => this.#connect(), Math.min(8000, 500 * 2 ** (this.#attempt - 1)));
    };
  }
}
