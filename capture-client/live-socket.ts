/**
 * Publishes the capture's live stream (live-feed.ts) over /ws/live/{id} with the control token: the
 * newest `live_config` on every (re)connection, then frames as they come. Best effort, never in the way
 * of the chunks: frames are not queued while disconnected, and when the socket backs up (a slow uplink)
 * frames are dropped until the next keyframe, where the server's decoder can start again — counted.
 * A server that cannot run the live path (another node runs the session, no converter free) is left alone.
 */
import WebSocket from 'ws';
import { encodeLiveFrame, KeyframeGate, type LiveConfigMessage, type LiveFrame } from '../protocol/live.ts';
import { socketProtocols } from '../protocol/messages.ts';

/** Bytes the socket may hold unsent before frames are dropped (≈ 1 s of 640×360 video). */
const MAX_BUFFERED = 512 * 1024;

export class LivePublisher {
  readonly #url: string;
  #token: string;
  #ws: WebSocket | undefined;
  #config: LiveConfigMessage | null = null;
  /** Video from a keyframe: after connecting, or after a drop. */
  readonly #gate = new KeyframeGate();
  #closed = false;
  #gaveUp: string | null = null;
  #retryDelay = 250;
  #timer: NodeJS.Timeout | undefined;
  /** Frames sent and dropped (backed up or disconnected). */
  readonly stats = { sent: 0, dropped: 0 };

  /** `url`: the server's /ws/live/{id} (ws: or wss:). */
  constructor(url: string, token: string) {
    this.#url = url;
    this.#token = token;
    this.#connect();
  }

  /** Why the server will not take the live stream, once it said so (the chunks go on regardless). */
  get gaveUp(): string | null {
    return this.#gaveUp;
  }

  setToken(token: string): void {
    this.#token = token;
  }

  configure(config: LiveConfigMessage): void {
    this.#config = config;
    if (this.#ws?.readyState === WebSocket.OPEN) this.#ws.send(JSON.stringify(config));
  }

  frame(frame: LiveFrame): void {
    const ws = this.#ws;
    const clear = ws?.readyState === WebSocket.OPEN && this.#config !== null && ws.bufferedAmount <= MAX_BUFFERED;
    if (!ws || !this.#gate.pass(frame, clear)) {
      this.stats.dropped++;
      return;
    }
    ws.send(encodeLiveFrame(frame));
    this.stats.sent++;
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#ws?.close(1000);
  }

  #connect(): void {
    if (this.#closed || this.#gaveUp) return;
    const ws = new WebSocket(this.#url, socketProtocols(this.#token));
    this.#ws = ws;
    ws.on('open', () => {
      this.#retryDelay = 250;
      this.#gate.reset();
      if (this.#config) ws.send(JSON.stringify(this.#config));
    });
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      try {
        const message = JSON.parse(String(data)) as { type?: string; reason?: string };
        if (message.type === 'live_end' && message.reason === 'overloaded') this.#giveUp('the server has no live converter free');
      } catch {
        // not ours to mind: the server only sends JSON here
      }
    });
    ws.on('unexpected-response', (_request, response) => {
      // 409: another node runs the session, or it ended; 401/404: nothing a retry changes.
      const status = response.statusCode ?? 0;
      if (status === 409 || status === 401 || status === 404 || status === 400)
        this.#giveUp(`the server refused the live stream (${status})`);
      ws.terminate();
    });
    ws.on('error', () => undefined);
    ws.on('close', () => {
      if (this.#closed || this.#gaveUp) return;
      this.#timer = setTimeout(() => this.#connect(), this.#retryDelay);
      this.#retryDelay = Math.min(this.#retryDelay * 2, 5000);
    });
  }

  #giveUp(reason: string): void {
    this.#gaveUp = reason;
    this.#ws?.close(1000);
  }
}
