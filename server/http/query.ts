/**
 * Strict query parameters: a number is plain decimal digits given once. `0x10`, `1e3`, `+5`, an empty
 * value or the same name twice are refused with a 400 naming the parameter, never guessed at.
 */
import { HttpError } from './errors.ts';

/**
 * The integer `name` in `min…max`, `fallback` when absent (null: absent is allowed and means "none").
 * `code` is the error code a bad value gets (`invalid_{name}` by default).
 */
export function intParam(query: URLSearchParams, name: string, min: number, max: number, fallback: number): number;
export function intParam(query: URLSearchParams, name: string, min: number, max: number, fallback: null, code?: string): number | null;
export function intParam(
  query: URLSearchParams,
  name: string,
  min: number,
  max: number,
  fallback: number | null,
  code = `invalid_${name.replace(/^_+/, '').toLowerCase()}`,
): number | null {
  const values = query.getAll(name);
  if (values.length === 0) return fallback;
  const value = values.length === 1 && /^\d{1,15}$/.test(values[0]!) ? Number(values[0]) : NaN;
  if (!(value >= min && value <= max)) {
    throw new HttpError(400, code, `${name} must be one decimal integer from ${min} to ${max}`, name);
  }
  return value;
}
