/** Bounded retries with jittered exponential backoff, shared by the uploaders. */

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 5000 };

export type UploadOutcome = { ok: true; attempts: number } | { ok: false; attempts: number; error: string; permanent: boolean };

/** One try: resolves on success, or says why it failed and whether another try could help. */
export type Attempt = () => Promise<{ ok: true } | { ok: false; error: string; permanent: boolean }>;

/**
 * Runs `attempt` until it succeeds, fails permanently, or the policy's attempts are used up;
 * `onRetry` hears about each failure that will be retried.
 */
export async function withRetries(
  policy: RetryPolicy,
  attempt: Attempt,
  onRetry: (attempt: number, error: string) => void = () => {},
): Promise<UploadOutcome> {
  let lastError = '';
  for (let n = 1; n <= policy.attempts; n++) {
    const result = await attempt();
    if (result.ok) return { ok: true, attempts: n };
    if (result.permanent) return { ok: false, attempts: n, error: result.error, permanent: true };
    lastError = result.error;
    if (n < policy.attempts) {
      onRetry(n, lastError);
      const delay = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** (n - 1));
      await new Promise((r) => setTimeout(r, delay * (0.75 + Math.random() * 0.5)));
    }
  }
  return { ok: false, attempts: policy.attempts, error: lastError, permanent: false };
}
