/**
 * The capture page's live socket: /ws/live/{id} with the session's control token, carrying what
 * live-encoder.ts makes. As the capture CLI's (capture-client/live-socket.ts), best effort and never in
 * the way of the chunks: the newest configuration on every (re)connection, nothing queued while
 * disconnected, video dropped to the next keyframe (asked of the encoder) when the socket backs up or
 * after a reconnection — counted. A browser does not see why an upgrade failed, so after five attempts
 * in a row that never opened, or when the server says no converter is free, it stops trying: the
 * chunks go on.
 */
import { encodeLiveFrame, KeyframeGate, type LiveConfigMessage, type LiveFrame } from '../../protocol/live.ts';
import { socketProtocols } from '../../protocol/messages.ts';

/** Bytes the socket may hold unsent before frames are dropped (≈ 1 s of 640×360 video). */
const MAX_BUFFERED = 512 * 1024;
const MAX_FAILED_CONNECTS = 5;

export interface LiveSocketStats {
  state: 'connecting' | 'open' | 'gave up' | 'closed';
  sent: number;
  dropped: number;
  /** Why it stopped trying, once it did. */
  reason: string | null;
}

export class LiveSocket {
  readonly #url: string;
  #token: string;
  /** Asked when video must start again at a keyframe. */
  readonly #wantKeyframe: () => void;
  #ws: WebSocket | null = null;
  #config: LiveConfigMessage | null = null;
  /** Video from a keyframe: after connecting, or after a drop. */
  readonly #gate = new KeyframeGate();
  #failed = 0;
  #retryDelay = 250;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly stats: LiveSocketStats = { state: 'connecting', sent: 0, dropped: 0, reason: null };

  /** `url`: the server's /ws/live/{id} (ws: or wss:). */
  constructor(url: string, token: string, wantKeyframe: () => void) {
    this.#url = url;
    this.#token = token;
    this.#wantKeyframe = wantKeyframe;
    this.#connect();
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
    const waiting = this.#gate.waiting;
    if (!ws || !this.#gate.pass(frame, clear)) {
      this.stats.dropped++;
      // Video lost: the encoder makes the next frame a keyframe rather than waiting up to a second.
      if (!waiting && this.#gate.waiting) this.#wantKeyframe();
      return;
    }
    ws.send(encodeLiveFrame(frame));
    this.stats.sent++;
  }

  close(): void {
    this.stats.state = this.stats.state === 'gave up' ? 'gave up' : 'closed';
    clearTimeout(this.#timer);
    this.#ws?.close(1000);
    this.#ws = null;
  }

  #connect(): void {
    if (this.stats.state === 'closed' || this.stats.state === 'gave up') return;
    const ws = new WebSocket(this.#url, socketProtocols(this.#token));
    ws.binaryType = 'arraybuffer';
    this.#ws = ws;
    let opened = false;
    this.stats.state = 'connecting';
    ws.onopen = () => {
      opened = true;
      this.#failed = 0;
      this.#retryDelay = 250;
      this.stats.state = 'open';
      this.#gate.reset();
      this.#wantKeyframe();
      if (this.#config) ws.send(JSON.stringify(this.#config));
    };
    ws.onmessage = (event) => {
      if (typeof event.data !== 'string') return;
      try {
        const message = JSON.parse(event.data) as { type?: string; reason?: string };
        if (message.type === 'live_end' && message.reason === 'overloaded') this.#giveUp('the server has no live converter free');
      } catch {
        // the server sends only JSON text here
      }
    };
    ws.onclose = () => {
      if (this.#ws !== ws) return;
      if (!opened && ++this.#failed >= MAX_FAILED_CONNECTS) return this.#giveUp('the server does not take the live stream');
      if (this.stats.state === 'closed' || this.stats.state === 'gave up') return;
      this.stats.state = 'connecting';
      this.#timer = setTimeout(() => this.#connect(), this.#retryDelay);
      this.#retryDelay = Math.min(this.#retryDelay * 2, 5000);
    };
  }

  #giveUp(reason: string): void {
    this.stats.state = 'gave up';
    this.stats.reason = reason;
    this.#ws?.close(1000);
    this.#ws = null;
  }
}
