/** p50 / p95 / p99 / max of a sample, as every benchmark reports it (nearest rank; NaN for an empty sample). */
export interface Quantiles {
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

export function quantiles(values: number[]): Quantiles {
  const v = [...values].sort((a, b) => a - b);
  const at = (q: number) => v[Math.min(v.length - 1, Math.floor(q * v.length))] ?? NaN;
  return { p50: at(0.5), p95: at(0.95), p99: at(0.99), max: v[v.length - 1] ?? NaN };
}
