/** Adapts an async handler to uWebSockets.js: errors become JSON responses, never crashes. */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { playlistName, type StereoMode } from '../../protocol/layout.ts';
import { errorMessage, type Logger } from '../log.ts';
import { HttpContext } from './context.ts';
import { HttpError } from './errors.ts';

export type Handler = (ctx: HttpContext) => Promise<void> | void;

/** `paramCount` route parameters (`:id`…) are copied into `ctx.params`. */
export function route(log: Logger, handler: Handler, paramCount = 0): (res: HttpResponse, req: HttpRequest) => void {
  return (res, req) => {
    const ctx = new HttpContext(res, req, paramCount);
    let pending: Promise<void> | void;
    try {
      pending = handler(ctx);
    } catch (error) {
      fail(ctx, log, error);
      return;
    }
    if (pending) pending.catch((error: unknown) => fail(ctx, log, error));
    else if (!ctx.responded) fail(ctx, log, new Error('handler returned without responding'));
  };
}

function fail(ctx: HttpContext, log: Logger, error: unknown): void {
  if (error instanceof HttpError) {
    ctx.error(error);
    return;
  }
  log.error('request failed', { method: ctx.method, path: ctx.path, error: errorMessage(error) });
  ctx.error(new HttpError(500, 'internal', 'internal server error'));
}

/** A host name or address with an optional port: all a Host header may be before it enters a link. */
const HOST = /^(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::\d{1,5})?$/;

/** Public base URL for links in responses: PUBLIC_BASE_URL, else the request's own host. */
export function baseUrlOf(ctx: HttpContext, configured: string | null): string {
  return baseUrlFromHeaders(ctx.headers, configured);
}

/** The host a request was sent to: the first X-Forwarded-Host (behind a proxy), else Host. */
export function requestHost(headers: ReadonlyMap<string, string>): string | undefined {
  return headers.get('x-forwarded-host')?.split(',')[0]?.trim() ?? headers.get('host');
}

/**
 * The same from a request's headers (lower-case names): an HTTP request's or a socket upgrade's.
 * A Host that is not a plain host[:port] is refused (400 `invalid_host`): it would be copied into
 * every playlist line and link the response carries.
 */
export function baseUrlFromHeaders(headers: ReadonlyMap<string, string>, configured: string | null): string {
  if (configured) return configured;
  const proto = headers.get('x-forwarded-proto')?.split(',')[0]?.trim() === 'https' ? 'https' : 'http';
  const host = requestHost(headers) || 'localhost';
  if (!HOST.test(host))
    throw new HttpError(400, 'invalid_host', 'the Host header must be a host name or address with an optional port', 'host');
  return `${proto}://${host}`;
}

/** A session's playlist, under a public base URL. */
export function playlistUrlOf(base: string, sessionId: string): string {
  return `${base}/stream/${sessionId}/playlist.m3u8`;
}

/** The same playlist named for VR players, which read the stereo layout from the name (protocol/layout.ts). */
export function vrPlaylistUrlOf(base: string, sessionId: string, mode: StereoMode): string {
  return `${base}/stream/${sessionId}/${playlistName(mode)}`;
}

export function wsBaseOf(httpBase: string): string {
  return httpBase.replace(/^http/, 'ws');
}
