/**
 * Who may change what, decided at the boundary of every state-changing route and socket upgrade.
 *
 * - Origin: a browser names the page that sent a request. A request from a page of another origin
 *   (any web site the viewer happens to have open) may not change anything, whatever it carries;
 *   requests with no Origin (curl, the capture CLI) and from our own pages pass.
 * - Authority over a session: with ADMIN_TOKEN set, the session's control token or the admin token
 *   (`Authorization: Bearer …`). Without it the server keeps the original open contract — and serves
 *   loopback only (config.ts refuses anything else).
 */
import { timingSafeEqual } from 'node:crypto';
import type { Config } from '../config.ts';
import type { TokenSigner } from '../tokens.ts';
import { HttpError } from './errors.ts';
import { requestHost } from './route.ts';

/** The headers a check needs (an HTTP request's or a socket upgrade's, lower-case names). */
export type Headers = ReadonlyMap<string, string>;

/** True when no admin token is configured, or `presented` is it (compared in constant time). */
export function isAdmin(presented: string | null | undefined, configured: string | null): boolean {
  if (configured === null) return true;
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(configured);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The bearer token of `Authorization`, or null. */
export function bearerOf(headers: Headers): string | null {
  const auth = headers.get('authorization');
  if (!auth?.startsWith('Bearer ')) return null;
  const token = auth.slice(7).trim();
  return token === '' ? null : token;
}

/** The origins whose pages may change state: our own (PUBLIC_BASE_URL's, else the request's Host). */
function ownOrigins(headers: Headers, config: Config): string[] {
  if (config.publicBaseUrl) return [new URL(config.publicBaseUrl).origin];
  const host = requestHost(headers);
  return host ? [`http://${host}`, `https://${host}`] : [];
}

/** Refuses a request sent by a page of another origin (403 `origin_refused`). */
export function checkOrigin(headers: Headers, config: Config): void {
  const origin = headers.get('origin');
  if (origin === undefined) return;
  if (!ownOrigins(headers, config).includes(origin)) {
    throw new HttpError(403, 'origin_refused', `a page of ${origin.slice(0, 100)} may not change anything on this server`);
  }
}

/** What a session's authority is checked against: its id and its current control generation. */
export interface SessionAuthority {
  sessionId: string;
  controlGeneration: number;
}

/**
 * Throws unless `token` is the admin token (where one is set) or a control token of this session of
 * its current generation: 401 `token_<reason>`, `token_revoked` for one issued before a rotation.
 * Returns `admin` or `control`: which it was.
 */
export function checkControl(
  token: string,
  config: Config,
  signer: TokenSigner,
  session: SessionAuthority,
  action: string,
): 'admin' | 'control' {
  if (config.adminToken !== null && isAdmin(token, config.adminToken)) return 'admin';
  const check = signer.verify(token, 'control', session.sessionId);
  if (!check.ok)
    throw new HttpError(
      401,
      `token_${check.reason}`,
      `${action} needs the session's control token or the admin token; this one is ${check.reason.replace('_', ' ')}`,
    );
  if (check.generation < session.controlGeneration) {
    throw new HttpError(401, 'token_revoked', `${action}: this control token was replaced (the session's control token was rotated)`);
  }
  return 'control';
}

/**
 * Refuses a change to a session without authority over it: 401 `unauthorized` (nothing presented) or
 * `token_<reason>`. Without ADMIN_TOKEN the original open contract holds (`open`: ending) — and the
 * server serves loopback only.
 */
export function authoriseSession(
  headers: Headers,
  config: Config,
  signer: TokenSigner,
  session: SessionAuthority,
  action: string,
  open = true,
): void {
  checkOrigin(headers, config);
  if (open && config.adminToken === null) return;
  const token = bearerOf(headers);
  if (token === null)
    throw new HttpError(
      401,
      'unauthorized',
      `${action} needs the session's control token${config.adminToken === null ? '' : ' or the admin token'} (Authorization: Bearer …)`,
    );
  checkControl(token, config, signer, session, action);
}

/** A session view's authority facts. */
export function authorityOf(view: { context: { sessionId: string; controlGeneration?: number } }): SessionAuthority {
  return { sessionId: view.context.sessionId, controlGeneration: view.context.controlGeneration ?? 0 };
}

/** Refuses a request without the admin token where one is configured (401 `unauthorized`). */
export function requireAdmin(headers: Headers, config: Config, what: string): void {
  if (!isAdmin(bearerOf(headers), config.adminToken)) {
    throw new HttpError(401, 'unauthorized', `${what} needs the admin token (Authorization: Bearer <ADMIN_TOKEN>)`);
  }
}
