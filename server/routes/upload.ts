/**
 * The local profile's chunk upload: `PUT /upload/{session_id}/chunk_{index:05d}.mp4` with the
 * session's bearer token. The body must be an MP4 (an `ftyp` box first) within the size limit; it is
 * streamed to storage as it arrives (never held whole), and the object appears only once complete.
 * Uploads in progress are capped per session and in all (admission.ts).
 */
import { chunkKey, isValidId, parseChunkFileName } from '../../protocol/keys.ts';
import type { HttpContext } from '../http/context.ts';
import { HttpError } from '../http/errors.ts';
import { bearerOf, checkOrigin } from '../http/guard.ts';
import type { RouteDeps } from './deps.ts';

/** True when `bytes` starts like an ISO-BMFF (MP4) file: a box header whose type is `ftyp`. */
export function looksLikeMp4(bytes: Uint8Array): boolean {
  return bytes.length >= 12 && Buffer.from(bytes.subarray(4, 8)).toString('latin1') === 'ftyp';
}

/** Passes `body` on once its first 12 bytes look like an MP4; throws 415 `not_mp4` before anything else. */
async function* mp4Only(body: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let head: Buffer | null = Buffer.alloc(0);
  for await (const piece of body) {
    if (head === null) {
      yield piece;
      continue;
    }
    head = Buffer.concat([head, piece]);
    if (head.byteLength < 12) continue;
    if (!looksLikeMp4(head)) throw new HttpError(415, 'not_mp4', 'chunk must be an MP4 file (no ftyp box found)', 'body');
    yield head;
    head = null;
  }
  if (head !== null) throw new HttpError(415, 'not_mp4', 'chunk must be an MP4 file (no ftyp box found)', 'body');
}

export async function putChunk(ctx: HttpContext, deps: RouteDeps, rawId: string | undefined, file: string | undefined): Promise<void> {
  checkOrigin(ctx.headers, deps.config);
  if (!isValidId(rawId)) throw new HttpError(400, 'invalid_session_id', 'session id must match ^[A-Za-z0-9_-]{1,64}$', 'session_id');
  const sessionId = rawId;
  const index = file === undefined ? undefined : parseChunkFileName(file);
  if (index === undefined) throw new HttpError(400, 'invalid_key', 'chunk file must be named chunk_NNNNN.mp4', 'key');
  const token = bearerOf(ctx.headers);
  if (!token) throw new HttpError(401, 'unauthorized', 'missing bearer token (Authorization: Bearer <upload.token>)');
  const check = deps.signer.verify(token, 'upload', sessionId);
  if (!check.ok) {
    const why = check.reason === 'expired' ? 'the upload token has expired' : 'the upload token is not valid for this session';
    throw new HttpError(403, `token_${check.reason}`, why);
  }
  // The slot is taken before the first await: a burst of uploads cannot all pass the check at once.
  const release = deps.admission.upload(sessionId);
  // Reading starts now (uWS gives body data only to a reader registered before the first await).
  const body = ctx.bodyChunks(deps.config.maxChunkBytes);
  try {
    const view = await deps.sessions.find(sessionId);
    if (!view) throw new HttpError(404, 'session_not_found', `no session ${sessionId}`);
    if (view.phase === 'ended') throw new HttpError(409, 'session_ended', 'the session has ended; no more chunks are accepted');
    const key = chunkKey(sessionId, index);
    let bytes: number;
    try {
      bytes = await deps.adapters.objects.putStream(key, mp4Only(body), 'video/mp4');
    } catch (error) {
      // Refused, and the index becomes a gap at once so the playlist does not wait for it.
      if (error instanceof HttpError && error.code === 'not_mp4')
        deps.sessions.chunkRejected(sessionId, index, 'the upload was not an MP4 file');
      throw error;
    }
    ctx.json(201, { key, bytes });
  } finally {
    release();
  }
}
