/** Adapts an async handler to uWebSockets.js: errors become JSON responses, never crashes. */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
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

/** Public base URL for links in responses: PUBLIC_BASE_URL, else the request's own host. */
export function baseUrlOf(ctx: HttpContext, configured: string | null): string {
  if (configured) return configured;
  const proto = ctx.header('x-forwarded-proto')?.split(',')[0]?.trim() === 'https' ? 'https' : 'http';
  const host = ctx.header('x-forwarded-host') ?? ctx.header('host') ?? 'localhost';
  return `${proto}://${host}`;
}

export function wsBaseOf(httpBase: string): string {
  return httpBase.replace(/^http/, 'ws');
}
