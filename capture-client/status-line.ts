/**
 * One live status line on stderr: rewritten in place on a terminal, else printed at most once a second.
 */
export interface CaptureStats {
  cut: number;
  uploaded: number;
  uploadFailed: number;
  ready: number;
  failed: number;
  listed: number;
  /** Latest latency from a chunk being cut to its segment being ready (ms). */
  latencyMs: number | null;
  lastError: string | null;
  socket: boolean;
}

export class StatusLine {
  readonly #stream: NodeJS.WriteStream;
  readonly #enabled: boolean;
  #last = 0;
  #width = 0;

  constructor(stream: NodeJS.WriteStream, enabled: boolean) {
    this.#stream = stream;
    this.#enabled = enabled;
  }

  static format(s: CaptureStats): string {
    const latency = s.latencyMs === null ? '–' : `${(s.latencyMs / 1000).toFixed(1)}s`;
    const parts = [
      `chunks ${s.cut} cut / ${s.uploaded} uploaded`,
      `segments ${s.ready} ready${s.failed ? ` / ${s.failed} failed` : ''}`,
      `latency ${latency}`,
      s.socket ? 'live' : 'socket down',
    ];
    if (s.uploadFailed) parts.push(`${s.uploadFailed} upload(s) failed`);
    if (s.lastError) parts.push(`last error: ${s.lastError}`);
    return parts.join(' · ');
  }

  update(stats: CaptureStats, force = false): void {
    if (!this.#enabled) return;
    const text = StatusLine.format(stats);
    if (this.#stream.isTTY) {
      this.#stream.write(`\r${text.padEnd(this.#width)}`);
      this.#width = text.length;
      return;
    }
    const now = Date.now();
    if (!force && now - this.#last < 1000) return;
    this.#last = now;
    this.#stream.write(text + '\n');
  }

  /** Ends the in-place line so later output starts on a fresh line. */
  done(): void {
    if (this.#enabled && this.#stream.isTTY && this.#width > 0) this.#stream.write('\n');
    this.#width = 0;
  }
}
