/**
 * The local profile's chunk upload: `PUT /upload/{session_id}/chunk_{index:05d}.mp4` with the
 * session's bearer token. The body must be an MP4 (an `ftyp` box first) within the size limit.
 */
import { chunkKey, isValidId, parseChunkFileName } from '../../protocol/keys.ts';
import type { HttpContext } from '../http/context.ts';
import { HttpError } from '../http/errors.ts';
import { checkOrigin } from '../http/guard.ts';
import type { RouteDeps } from './deps.ts';

/** True when `bytes` starts like an ISO-BMFF (MP4) file: a box header whose type is `ftyp`. */
export function looksLikeMp4(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && Buffer.from(bytes.subarray(4, 8)).toString('latin1') === 'ftyp';
}

export async function putChunk(ctx: HttpContext, deps: RouteDeps, rawId: string | undefined, file: string | undefined): Promise<void> {
  if (!isValidId(rawId)) throw new HttpError(400, 'invalid_session_id', 'session id must match ^[A-Za-z0-9_-]{1,64}$', 'session_id');
  const sessionId = rawId;
  const index = file === undefined ? undefined : parseChunkFileName(file);
  if (index === undefined) throw new HttpError(400, 'invalid_key', 'chunk file must be named chunk_NNNNN.mp4', 'key');
  checkOrigin(ctx.headers, deps.config);
  const auth = ctx.header('authorization');
  const token = auth?.startsWith('Bearer ') ? auth.slice(7).trim() : undefined;
  if (!token) throw new HttpError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <upload.token>)');
  const check = deps.signer.verify(token, 'upload', sessionId);
  if (!check.ok) {
    const why = check.reason === 'expired' ? 'the upload token has expired' : 'the upload token is not valid for this session';
    throw new HttpError(403, `token_${check.reason}`, why);
  }
  const view = await deps.sessions.find(sessionId);
  if (!view) throw new HttpError(404, 'session_not_found', `no session ${sessionId}`);
  if (view.phase === 'ended') throw new HttpError(409, 'session_ended', 'the session has ended; no more chunks are accepted');
  const body = await ctx.readBody(deps.config.maxChunkBytes);
  if (!looksLikeMp4(body)) {
    // Refused, and the index becomes a gap at once so the playlist does not wait for it.
    deps.sessions.chunkRejected(sessionId, index, 'the upload was not an MP4 file');
    throw new HttpError(415, 'not_mp4', 'chunk must be an MP4 file (no ftyp box found)', 'body');
  }
  const key = chunkKey(sessionId, index);
  await deps.adapters.objects.put(key, body, 'video/mp4');
  ctx.json(201, { key, bytes: body.byteLength });
}
