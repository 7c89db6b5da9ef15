/** The server's session API, with errors that carry the server's own message. */
import type { CreateSessionResponse, ErrorBody, SessionStatus, StereoMode, StereoSettingsWire } from '../protocol/messages.ts';
import { withRetries, type RetryPolicy } from './retry.ts';

export class ApiError extends Error {
  override name = 'ApiError';
  readonly status: number;

  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

async function failure(res: Response, what: string): Promise<ApiError> {
  let detail = res.statusText;
  try {
    const body = (await res.json()) as ErrorBody;
    if (body?.message) detail = body.message;
  } catch {
    // not JSON
  }
  return new ApiError(res.status, `${what} failed: ${res.status} ${detail}`);
}

export async function createSession(
  server: string,
  mode: StereoMode,
  settings: Partial<StereoSettingsWire> = {},
): Promise<CreateSessionResponse> {
  let res: Response;
  try {
    res = await fetch(`${server}/stream_sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ mode, ...settings }),
    });
  } catch (error) {
    throw new ApiError(
      0,
      `cannot reach ${server}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`,
    );
  }
  if (!res.ok) throw await failure(res, 'creating the session');
  return (await res.json()) as CreateSessionResponse;
}

/** How long ending a session keeps trying through network errors and 5xx (a server restarting). */
const END_RETRY: RetryPolicy = { attempts: 8, baseDelayMs: 250, maxDelayMs: 5000 };

/**
 * Ends the session with its control token (a server with ADMIN_TOKEN takes nothing less); rides
 * through a server restart (network errors and 5xx are retried, 4xx are not).
 */
export async function endSession(
  server: string,
  sessionId: string,
  controlToken: string,
  chunks: number,
  retry: RetryPolicy = END_RETRY,
): Promise<void> {
  let failure4xx: ApiError | undefined;
  const outcome = await withRetries(retry, async () => {
    let res: Response;
    try {
      res = await fetch(`${server}/stream_sessions/${sessionId}/end`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${controlToken}` },
        body: JSON.stringify({ chunks }),
      });
    } catch (error) {
      const cause = (error as Error).cause;
      return { ok: false, error: cause instanceof Error ? cause.message : (error as Error).message, permanent: false };
    }
    if (res.status === 204) return { ok: true };
    const error = await failure(res, 'ending the session');
    if (res.status < 500) failure4xx = error;
    return { ok: false, error: error.message, permanent: res.status < 500 };
  });
  if (outcome.ok) return;
  throw failure4xx ?? new ApiError(0, `ending the session failed after ${outcome.attempts} attempts: ${outcome.error}`);
}

/** True once the playlist carries #EXT-X-ENDLIST (used when the socket is down). */
export async function playlistClosed(playlistUrl: string): Promise<boolean> {
  try {
    const res = await fetch(playlistUrl);
    return res.ok && (await res.text()).includes('#EXT-X-ENDLIST');
  } catch {
    return false;
  }
}

/** The session's status from the server, or undefined when it cannot be had right now. */
export async function sessionStatus(server: string, sessionId: string): Promise<SessionStatus | undefined> {
  try {
    const res = await fetch(`${server}/stream_sessions/${sessionId}`);
    return res.ok ? ((await res.json()) as SessionStatus) : undefined;
  } catch {
    return undefined;
  }
}
