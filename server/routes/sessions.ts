/**
 * Session routes, per the original contract:
 *   POST /stream_sessions · POST /stream_sessions/{id}/end · GET /stream_sessions[/{id}]
 */
import { isValidId } from '../../protocol/keys.ts';
import { parseCreateRequest, parseEndRequest } from '../../protocol/validate.ts';
import type { CreateSessionResponse, SessionListResponse } from '../../protocol/messages.ts';
import type { HttpContext } from '../http/context.ts';
import { HttpError } from '../http/errors.ts';
import { baseUrlOf, playlistUrlOf, vrPlaylistUrlOf, wsBaseOf } from '../http/route.ts';
import { fromSettingsWire, LIST_CHUNKS, MAX_STATUS_CHUNKS, STATUS_CHUNKS, toSettingsWire, toStatus } from '../wire.ts';
import { intParam } from '../http/query.ts';
import { NotOwnerError, type ListCursor } from '../sessions/index.ts';
import { announceLimit, seenLength } from '../../actors/chunks.ts';
import { authorityOf, authoriseSession, checkOrigin, requireAdmin } from '../http/guard.ts';
import type { RouteDeps } from './deps.ts';
import { clientAddress } from '../admission.ts';

const BODY_LIMIT = 16 * 1024;

/** Parses an optional JSON object body; an empty body is `{}`. */
export async function readJsonObject(ctx: HttpContext): Promise<Record<string, unknown>> {
  const body = await ctx.readBody(BODY_LIMIT);
  const text = body.toString('utf8').trim();
  if (text === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, 'invalid_json', 'request body is not valid JSON', 'body');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new HttpError(400, 'invalid_body', 'request body must be a JSON object', 'body');
  }
  return value as Record<string, unknown>;
}

export function parseSessionId(raw: string | undefined): string {
  if (!isValidId(raw)) {
    throw new HttpError(400, 'invalid_session_id', 'session id must match ^[A-Za-z0-9_-]{1,64}$', 'session_id');
  }
  return raw;
}

export async function createSession(ctx: HttpContext, deps: RouteDeps): Promise<void> {
  checkOrigin(ctx.headers, deps.config);
  const parsed = parseCreateRequest(await readJsonObject(ctx));
  if (!parsed.ok) throw new HttpError(400, parsed.code, parsed.message, parsed.field);
  const { mode, ...settings } = parsed.request;
  const base = baseUrlOf(ctx, deps.config.publicBaseUrl);
  const client = clientAddress(ctx.peer, ctx.header('x-forwarded-for'), deps.config.trustProxy);
  const ticket = deps.admission.admitCreate(client, deps.sessions.liveCount);
  let view;
  try {
    view = await deps.sessions.create(mode, fromSettingsWire(settings));
  } catch (error) {
    ticket.dropped();
    throw error;
  }
  const sessionId = view.context.sessionId;
  ticket.created(sessionId);
  const upload = await deps.adapters.grants.issue(sessionId, base);
  const response: CreateSessionResponse = {
    session_id: sessionId,
    mode,
    playlist_url: playlistUrlOf(base, sessionId),
    vr_playlist_url: vrPlaylistUrlOf(base, sessionId, mode),
    events_url: `${wsBaseOf(base)}/ws/sessions/${sessionId}`,
    control_token: deps.controlToken(sessionId),
    chunk_seconds: deps.config.chunkSeconds,
    settings: toSettingsWire(view.context.settings),
    upload,
  };
  ctx.json(200, response, [['Cache-Control', 'no-store']]);
}

export async function endSession(ctx: HttpContext, deps: RouteDeps, rawId: string | undefined): Promise<void> {
  const sessionId = parseSessionId(rawId);
  checkOrigin(ctx.headers, deps.config);
  const parsed = parseEndRequest(await readJsonObject(ctx));
  if (!parsed.ok) throw new HttpError(400, parsed.code, parsed.message, parsed.field);
  const expected = parsed.request.chunks ?? null;
  const view = await deps.sessions.find(sessionId);
  if (!view) throw new HttpError(404, 'session_not_found', `no session ${sessionId}`);
  authoriseSession(ctx.headers, deps.config, deps.signer, authorityOf(view), 'ending a session');
  if (expected !== null) {
    const limit = announceLimit(view.context.chunks, view.context.createdAt, Date.now(), view.context.config.chunkSeconds);
    if (view.phase !== 'ended' && expected > limit) {
      throw new HttpError(
        400,
        'invalid_chunks',
        `chunks (${expected}) is more than this session can have: ${seenLength(view.context.chunks)} seen, so at most ${limit}`,
        'chunks',
      );
    }
  }
  let found: boolean;
  try {
    found = await deps.sessions.end(sessionId, expected);
  } catch (error) {
    if (error instanceof NotOwnerError) throw new HttpError(503, 'session_elsewhere', 'another server runs this session; retry shortly');
    throw error;
  }
  if (!found) throw new HttpError(404, 'session_not_found', `no session ${sessionId}`);
  ctx.send(204, '');
}

/**
 * `POST /stream_sessions/{id}/control_token`: replaces the session's control token (a link holding it
 * went further than meant). Needs the current control token (or the admin token) even on an open
 * server; every earlier token stops working at once, and control sockets holding one are closed (4401)
 * on every node. Answers the new token.
 */
export async function rotateControlToken(ctx: HttpContext, deps: RouteDeps, rawId: string | undefined): Promise<void> {
  const sessionId = parseSessionId(rawId);
  const view = await deps.sessions.find(sessionId);
  if (!view) throw new HttpError(404, 'session_not_found', `no session ${sessionId}`);
  authoriseSession(ctx.headers, deps.config, deps.signer, authorityOf(view), 'rotating the control token', false);
  let generation: number | null;
  try {
    generation = await deps.sessions.rotateControl(sessionId);
  } catch (error) {
    if (error instanceof NotOwnerError) throw new HttpError(503, 'session_elsewhere', 'another server runs this session; retry shortly');
    throw error;
  }
  if (generation === null) throw new HttpError(409, 'session_ended', 'the session has ended: its control token no longer matters');
  ctx.json(200, { control_token: deps.controlToken(sessionId, generation) }, [['Cache-Control', 'no-store']]);
}

export async function getSession(ctx: HttpContext, deps: RouteDeps, rawId: string | undefined): Promise<void> {
  const sessionId = parseSessionId(rawId);
  // Its chunks a page at a time: the newest STATUS_CHUNKS unless `chunks_from` / `chunks_limit` say.
  const page = {
    from: intParam(ctx.query, 'chunks_from', 0, 99_999, null),
    limit: intParam(ctx.query, 'chunks_limit', 1, MAX_STATUS_CHUNKS, STATUS_CHUNKS),
  };
  const view = await deps.sessions.find(sessionId);
  if (!view) throw new HttpError(404, 'session_not_found', `no session ${sessionId}`);
  ctx.json(200, toStatus(view, baseUrlOf(ctx, deps.config.publicBaseUrl), page), [['Cache-Control', 'no-store']]);
}

export async function listSessions(ctx: HttpContext, deps: RouteDeps): Promise<void> {
  requireAdmin(ctx.headers, deps.config, 'listing sessions');
  const limit = intParam(ctx.query, 'limit', 1, 1000, 100);
  const rawBefore = ctx.query.get('before');
  let before: ListCursor | undefined;
  if (rawBefore !== null) {
    const m = /^(\d{1,15})\.([A-Za-z0-9_-]{1,64})$/.exec(rawBefore);
    if (!m) throw new HttpError(400, 'invalid_cursor', 'before must be the `next` of a previous page', 'before');
    before = { createdAt: Number(m[1]), sessionId: m[2]! };
  }
  const base = baseUrlOf(ctx, deps.config.publicBaseUrl);
  // One more than asked: whether there is a next page.
  const views = await deps.sessions.list(limit + 1, before);
  const page = views.slice(0, limit);
  const last = page.at(-1);
  const response: SessionListResponse = {
    sessions: page.map((v) => toStatus(v, base, { from: null, limit: LIST_CHUNKS })),
    next: views.length > limit && last ? `${last.context.createdAt}.${last.context.sessionId}` : null,
  };
  ctx.json(200, response, [['Cache-Control', 'no-store']]);
}
