/**
 * What players fetch: the playlist (with LL-HLS-style blocking reload) and signed segments.
 *   GET /stream/{id}/playlist.m3u8[?_HLS_msn=N]  ·  GET /segments/{id}/{seg_N.m4s|init_ID.mp4}?exp=…&sig=…
 * The playlist also answers to the name VR players read the stereo layout from (`playlist_SBS_LR.m3u8`,
 * protocol/layout.ts playlistName) — any layout's, since a session's format may change live.
 */
import { listedCount } from '../../actors/chunks.ts';
import { initKey, isValidId, parseInitFileName, parseSegmentFileName, segmentKey } from '../../protocol/keys.ts';
import { playlistName, STEREO_MODES } from '../../protocol/layout.ts';
import type { HttpContext } from '../http/context.ts';
import { HttpError } from '../http/errors.ts';
import { intParam } from '../http/query.ts';
import { baseUrlOf } from '../http/route.ts';
import { errorMessage } from '../log.ts';
import type { RouteDeps } from './deps.ts';
import { parseSessionId } from './sessions.ts';

export async function getPlaylist(ctx: HttpContext, deps: RouteDeps, rawId: string | undefined, file: string | undefined): Promise<void> {
  ctx.cors = true;
  const sessionId = parseSessionId(rawId);
  // Any layout's name: a session's format may change while players keep the name they opened.
  if (file !== 'playlist.m3u8' && !STEREO_MODES.some((mode) => playlistName(mode) === file))
    throw new HttpError(404, 'playlist_not_found', 'GET /stream/{id}/playlist.m3u8, or the name its vr_playlist_url gives');
  // Strictly decimal and given once: `0x10`, `1e3`, ``, or two values are refused, not guessed at.
  const msn = intParam(ctx.query, '_HLS_msn', 0, 999_999_999, null, 'invalid_msn');
  let view;
  /** A held request: when what it waited for happened (its answer's delay goes to /metrics). */
  let wokeAt: number | undefined;
  try {
    view = await deps.sessions.find(sessionId);
  } catch (error) {
    deps.log.error('session store unavailable', { session_id: sessionId, error: errorMessage(error) });
    throw new HttpError(503, 'storage_unavailable', 'the session store is unavailable; retry shortly');
  }
  if (!view) throw new HttpError(404, 'session_not_found', `no session ${sessionId}`);
  if (msn !== null) {
    // Blocking reload: hold the request until segment `msn` is listed or the playlist closes.
    const abort = new AbortController();
    ctx.onAbort(() => abort.abort());
    const release = deps.telemetry.playlistHeld();
    try {
      wokeAt = await deps.sessions.waitFor(
        sessionId,
        (v) => v.phase === 'ended' || listedCount(v.context.chunks) > msn!,
        deps.config.playlistBlockSeconds * 1000,
        abort.signal,
      );
    } finally {
      release();
    }
    if (ctx.aborted) return;
    view = (await deps.sessions.find(sessionId)) ?? view;
  }
  // Gzip where the client accepts it (browsers, hls.js, AVPlayer, ffmpeg do): a fifth of the bytes.
  const gzip = acceptsGzip(ctx.header('accept-encoding'));
  let body: string | Buffer;
  try {
    const base = baseUrlOf(ctx, deps.config.publicBaseUrl);
    body = gzip ? await deps.sessions.playlists.playlistGzip(view, base) : await deps.sessions.playlists.playlist(view, base);
  } catch (error) {
    deps.log.error('playlist rendering failed', { session_id: sessionId, error: errorMessage(error) });
    throw new HttpError(503, 'storage_unavailable', 'segment URLs could not be signed; retry shortly');
  }
  ctx.send(200, body, [
    ['Content-Type', 'application/vnd.apple.mpegurl'],
    ['Cache-Control', 'no-store'],
    ['Vary', 'Accept-Encoding'],
    ...(gzip ? ([['Content-Encoding', 'gzip']] as Array<[string, string]>) : []),
  ]);
  if (wokeAt !== undefined) deps.telemetry.playlistWoke((performance.now() - wokeAt) / 1000);
}

/** True when an Accept-Encoding header accepts gzip: named with q > 0, or through `*` when not named. */
export function acceptsGzip(header: string | undefined): boolean {
  if (!header) return false;
  const weights = new Map<string, number>();
  for (const part of header.toLowerCase().split(',')) {
    const [coding, ...params] = part.split(';').map((p) => p.trim());
    const q = params.find((p) => p.startsWith('q='));
    if (coding) weights.set(coding, q === undefined ? 1 : Number(q.slice(2)));
  }
  return (weights.get('gzip') ?? weights.get('*') ?? 0) > 0;
}

export async function getSegment(ctx: HttpContext, deps: RouteDeps, rawId: string | undefined, file: string | undefined): Promise<void> {
  ctx.cors = true;
  if (!isValidId(rawId)) throw new HttpError(400, 'invalid_session_id', 'session id must match ^[A-Za-z0-9_-]{1,64}$', 'session_id');
  const index = file === undefined ? undefined : parseSegmentFileName(file);
  const init = file === undefined ? undefined : parseInitFileName(file);
  if (index === undefined && init === undefined) throw new HttpError(404, 'not_found', 'no such segment');
  const exp = Number(ctx.query.get('exp'));
  const sig = ctx.query.get('sig');
  if (!Number.isInteger(exp) || !sig) throw new HttpError(403, 'unsigned', 'segment URLs must be signed (exp, sig)');
  const check = deps.signer.verifyPath(`/segments/${rawId}/${file}`, exp, sig);
  if (check === 'bad_signature') throw new HttpError(403, 'bad_signature', 'the segment URL signature is not valid');
  if (check === 'expired') throw new HttpError(403, 'expired', 'the segment URL has expired; fetch the playlist again');
  const key = index !== undefined ? segmentKey(rawId, index) : initKey(rawId, init!);
  const body = await deps.adapters.objects.get(key);
  if (!body) throw new HttpError(404, 'not_found', 'no such segment');
  ctx.send(200, body, [
    ['Content-Type', index !== undefined ? 'video/iso.segment' : 'video/mp4'],
    // Segments never change once written; the URL expires, the bytes do not.
    ['Cache-Control', 'private, max-age=86400, immutable'],
  ]);
}
