/**
 * How busy the workers have been lately: the share of worker time spent on tasks over a sliding window
 * of at least `windowMs` (the last complete window, or the current one once it is long enough).
 * Piscina's own `utilization` averages over the pool's whole life, so a pool that has been idle for an
 * hour reads ≈ 0 while it is flat out; operators want "now".
 */
export class BusyMeter {
  readonly #workers: number;
  readonly #windowMs: number;
  readonly #now: () => number;
  #running = 0;
  #since: number;
  #windowStart: number;
  /** Worker-milliseconds busy in the current window, up to `#since`. */
  #busy = 0;
  #last = 0;

  constructor(workers: number, windowMs = 1000, now: () => number = () => performance.now()) {
    this.#workers = workers;
    this.#windowMs = windowMs;
    this.#now = now;
    this.#since = this.#windowStart = now();
  }

  start(): void {
    this.#advance();
    this.#running++;
  }

  end(): void {
    this.#advance();
    this.#running = Math.max(0, this.#running - 1);
  }

  /** 0…1: busy worker time / available worker time, over the latest window. */
  get utilization(): number {
    this.#advance();
    const elapsed = this.#since - this.#windowStart;
    if (elapsed >= this.#windowMs) {
      this.#last = Math.min(1, this.#busy / (elapsed * this.#workers));
      this.#busy = 0;
      this.#windowStart = this.#since;
    }
    return this.#last;
  }

  #advance(): void {
    const now = this.#now();
    this.#busy += Math.min(this.#running, this.#workers) * (now - this.#since);
    this.#since = now;
  }
}
