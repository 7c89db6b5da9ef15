/** A tiny Prometheus text-format registry: counters and gauges, no labels beyond a fixed few. */

type Sample = { name: string; help: string; type: 'counter' | 'gauge'; read: () => number };

export class Metrics {
  readonly #samples: Sample[] = [];
  readonly #counters = new Map<string, number>();

  /** Registers a gauge read at scrape time. */
  gauge(name: string, help: string, read: () => number): void {
    this.#samples.push({ name, help, type: 'gauge', read });
  }

  /** Registers a counter read at scrape time (the owner keeps the number). */
  counterFrom(name: string, help: string, read: () => number): void {
    this.#samples.push({ name, help, type: 'counter', read });
  }

  /** A counter owned by the registry; returns its increment function. */
  counter(name: string, help: string): (by?: number) => void {
    this.#counters.set(name, 0);
    this.#samples.push({ name, help, type: 'counter', read: () => this.#counters.get(name) ?? 0 });
    return (by = 1) => this.#counters.set(name, (this.#counters.get(name) ?? 0) + by);
  }

  value(name: string): number | undefined {
    return this.#samples.find((s) => s.name === name)?.read();
  }

  render(): string {
    const lines: string[] = [];
    for (const s of this.#samples) {
      lines.push(`# HELP ${s.name} ${s.help}`, `# TYPE ${s.name} ${s.type}`, `${s.name} ${s.read()}`);
    }
    return lines.join('\n') + '\n';
  }
}
