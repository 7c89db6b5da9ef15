/**
 * The session socket: MessagePack frames, reconnects with backoff while the stream runs, and
 * queues a bounded number of outgoing messages while disconnected (the server also learns about
 * uploads through its own event path, so losing an announcement is never fatal).
 */
import { pack, unpack } from 'msgpackr';
import WebSocket from 'ws';
import { socketProtocols, type ClientMessage, type ServerMessage } from '../protocol/messages.ts';

const MAX_PENDING = 256;

export class SessionSocket {
  readonly #url: string;
  /** The control token, offered as a subprotocol (never in the URL); the newest the server sent. */
  #token: string | null;
  readonly #onMessage: (message: ServerMessage) => void;
  readonly #onState: (connected: boolean) => void;
  #ws: WebSocket | undefined;
  #pending: ClientMessage[] = [];
  #closed = false;
  #retryDelay = 250;
  #timer: NodeJS.Timeout | undefined;

  constructor(
    url: string,
    token: string | null,
    onMessage: (message: ServerMessage) => void,
    onState: (connected: boolean) => void = () => {},
  ) {
    this.#url = url;
    this.#token = token;
    this.#onMessage = onMessage;
    this.#onState = onState;
    this.#connect();
  }

  /** A fresh control token (from a `credentials` message): used from the next connection on. */
  setToken(token: string): void {
    this.#token = token;
  }

  get connected(): boolean {
    return this.#ws?.readyState === WebSocket.OPEN;
  }

  #connect(): void {
    if (this.#closed) return;
    const ws = new WebSocket(this.#url, socketProtocols(this.#token));
    this.#ws = ws;
    ws.on('open', () => {
      this.#retryDelay = 250;
      this.#onState(true);
      for (const m of this.#pending.splice(0)) ws.send(pack(m));
    });
    ws.on('message', (data, isBinary) => {
      try {
        const buf = data as Buffer;
        this.#onMessage((isBinary ? unpack(buf) : JSON.parse(buf.toString('utf8'))) as ServerMessage);
      } catch {
        // a frame we cannot read is skipped
      }
    });
    ws.on('error', () => {}); // 'close' follows and reconnects
    ws.on('close', (code) => {
      this.#onState(false);
      // 4401/4404: the server will not accept us again; 4000: the session ended.
      if (this.#closed || code === 4401 || code === 4404 || code === 4000) return;
      this.#timer = setTimeout(() => this.#connect(), this.#retryDelay);
      this.#retryDelay = Math.min(5000, this.#retryDelay * 2);
    });
  }

  send(message: ClientMessage): void {
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(pack(message));
    else if (this.#pending.length < MAX_PENDING) this.#pending.push(message);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#ws?.close();
  }
}
