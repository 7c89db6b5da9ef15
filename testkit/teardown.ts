/** What a helper needs to clean up after itself: a tap test, or the benchmark harness's own list. */
export interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A teardown list outside tap (the benchmarks): `run()` calls everything registered, newest first. */
export class Cleanups implements Teardown {
  readonly #fns: Array<() => unknown> = [];

  teardown(fn: () => unknown): void {
    this.#fns.push(fn);
  }

  async run(): Promise<void> {
    while (this.#fns.length > 0) {
      try {
        await this.#fns.pop()!();
      } catch {
        // best effort: the rest still runs
      }
    }
  }
}
