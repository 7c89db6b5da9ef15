/**
 * Typed values read from an environment for config.ts: each reader returns the value, or its
 * fallback after naming the problem (key, rule, what was given) in `problems`, so the config reports
 * every bad key at once.
 */

export type Env = Record<string, string | undefined>;

export class EnvValues {
  readonly problems: string[] = [];
  readonly #env: Env;

  constructor(env: Env) {
    this.#env = env;
  }

  /** The trimmed value, or null when unset or blank. */
  readonly str = (key: string): string | null => {
    const v = this.#env[key]?.trim();
    return v ? v : null;
  };

  readonly int = (key: string, fallback: number, min: number, max = Number.MAX_SAFE_INTEGER): number => {
    const raw = this.str(key);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (Number.isInteger(n) && n >= min && n <= max) return n;
    this.problems.push(`${key} must be an integer from ${min} to ${max} (got "${raw}")`);
    return fallback;
  };

  readonly num = (key: string, fallback: number, min: number, max: number): number => {
    const raw = this.str(key);
    if (raw === null) return fallback;
    const n = Number(raw);
    if (Number.isFinite(n) && n >= min && n <= max) return n;
    this.problems.push(`${key} must be a number from ${min} to ${max} (got "${raw}")`);
    return fallback;
  };

  readonly bool = (key: string, fallback: boolean): boolean => {
    const raw = this.str(key)?.toLowerCase();
    if (raw === undefined || raw === null) return fallback;
    if (['1', 'true', 'yes', 'on'].includes(raw)) return true;
    if (['0', 'false', 'no', 'off'].includes(raw)) return false;
    this.problems.push(`${key} must be true or false (got "${this.#env[key]}")`);
    return fallback;
  };

  readonly oneOf = <T extends string>(key: string, values: readonly T[], fallback: T): T => {
    const raw = this.str(key);
    if (raw === null) return fallback;
    const found = values.find((value) => value === raw);
    if (found !== undefined) return found;
    this.problems.push(`${key} must be one of ${values.join(', ')} (got "${raw}")`);
    return fallback;
  };
}
