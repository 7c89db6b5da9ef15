/** The server's session API, with errors that carry the server's own message. */
import type { CreateSessionResponse, ErrorBody, StereoMode } from '../protocol/messages.ts';

export class ApiError extends Error {
  override name = 'ApiError';
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
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

export async function createSession(server: string, mode: StereoMode): Promise<CreateSessionResponse> {
  let res: Response;
  try {
    res = await fetch(`${server}/stream_sessions`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ mode }),
    });
  } catch (error) {
    throw new ApiError(0, `cannot reach ${server}: ${(error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message}`);
  }
  if (!res.ok) throw await failure(res, 'creating the session');
  return (await res.json()) as CreateSessionResponse;
}

export async function endSession(server: string, sessionId: string, chunks: number): Promise<void> {
  const res = await fetch(`${server}/stream_sessions/${sessionId}/end`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ chunks }),
  });
  if (res.status !== 204) throw await failure(res, 'ending the session');
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
