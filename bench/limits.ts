/**
 * The admission caps a benchmark's server runs with: every session and stream of a benchmark comes
 * from one address (this machine), far past what one real client may hold (MAX_SESSIONS_PER_CLIENT),
 * and the benchmarks measure the server, not its refusals.
 */
export const BENCH_LIMITS: Record<string, string> = {
  MAX_SESSIONS_PER_CLIENT: '1000000',
  MAX_LIVE_SESSIONS: '10000000',
  MAX_UPLOADS_PER_SESSION: '64',
  MAX_UPLOADS: '100000',
};
