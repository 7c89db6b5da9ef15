/**
 * Runtime checks of what clients send — request bodies and session socket frames — shared by the
 * server (which refuses what fails, with the code and field named here) and anyone writing a client.
 * A body or frame is decoded first (JSON, MessagePack); these say whether it is what its type says.
 */
import { isStereoMode, isValidChunkIndex, MAX_CHUNK_INDEX, STEREO_MODES } from './keys.ts';
import type { ClientMessage, CreateSessionRequest, EndSessionRequest, StereoMode } from './messages.ts';
import { checkSettings } from './settings.ts';

/** A refusal: the error code (`invalid_{field}`), the field, and a message naming the rule. */
export type BodyProblem = { ok: false; code: string; field: string; message: string };

/** `POST /stream_sessions`: a mode (default sbs) and settings in their ranges; other keys are ignored. */
export function parseCreateRequest(
  body: Record<string, unknown>,
): { ok: true; request: Required<Pick<CreateSessionRequest, 'mode'>> & CreateSessionRequest } | BodyProblem {
  const mode = body.mode ?? 'sbs';
  if (typeof mode !== 'string' || !STEREO_MODES.includes(mode as StereoMode)) {
    return { ok: false, code: 'invalid_mode', field: 'mode', message: `mode must be one of ${STEREO_MODES.join(', ')}` };
  }
  const check = checkSettings(body);
  if (!check.ok) return { ok: false, code: `invalid_${check.field}`, field: check.field, message: check.message };
  return { ok: true, request: { mode: mode as StereoMode, ...check.settings } };
}

/** `POST /stream_sessions/{id}/end`: an optional chunk count (the server also bounds it by what it has seen). */
export function parseEndRequest(body: Record<string, unknown>): { ok: true; request: EndSessionRequest } | BodyProblem {
  if (body.chunks === undefined) return { ok: true, request: {} };
  if (typeof body.chunks !== 'number' || !Number.isInteger(body.chunks) || body.chunks < 0 || body.chunks > MAX_CHUNK_INDEX + 1) {
    return { ok: false, code: 'invalid_chunks', field: 'chunks', message: `chunks must be an integer from 0 to ${MAX_CHUNK_INDEX + 1}` };
  }
  return { ok: true, request: { chunks: body.chunks } };
}

/**
 * Why a client message was refused: `bad_message` (not a message at all), `unknown_message`, or
 * `invalid_{field}` of a message of a known `type`.
 */
export type ClientMessageCheck =
  | { ok: true; message: ClientMessage }
  | { ok: false; code: 'bad_message' | 'unknown_message'; message: string }
  | { ok: false; code: string; message: string; type: ClientMessage['type'] };

/** The largest chunk a `chunk_uploaded` may claim (the server takes the stored size, this only bounds the field). */
const MAX_CLAIMED_BYTES = 2 ** 40;

export function parseClientMessage(value: unknown): ClientMessageCheck {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad_message', message: 'message must be an object with a type' };
  }
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'ping':
      if (m.t !== undefined && (typeof m.t !== 'number' || !Number.isFinite(m.t)))
        return { ok: false, code: 'invalid_t', message: 'ping.t must be a number', type: 'ping' };
      return { ok: true, message: m.t === undefined ? { type: 'ping' } : { type: 'ping', t: m.t } };
    case 'chunk_uploaded':
      if (!isValidChunkIndex(m.index))
        return {
          ok: false,
          code: 'invalid_index',
          message: `chunk_uploaded.index must be an integer from 0 to ${MAX_CHUNK_INDEX}`,
          type: 'chunk_uploaded',
        };
      if (typeof m.key !== 'string' || m.key.length > 200)
        return { ok: false, code: 'invalid_key', message: "chunk_uploaded.key must be the chunk's object key", type: 'chunk_uploaded' };
      if (typeof m.bytes !== 'number' || !Number.isInteger(m.bytes) || m.bytes < 0 || m.bytes > MAX_CLAIMED_BYTES) {
        return { ok: false, code: 'invalid_bytes', message: 'chunk_uploaded.bytes must be a non-negative integer', type: 'chunk_uploaded' };
      }
      return { ok: true, message: { type: 'chunk_uploaded', index: m.index, key: m.key, bytes: m.bytes } };
    case 'set_settings': {
      const check = checkSettings(m);
      if (!check.ok) return { ok: false, code: `invalid_${check.field}`, message: check.message, type: 'set_settings' };
      if (m.mode !== undefined && !isStereoMode(m.mode))
        return { ok: false, code: 'invalid_mode', message: `mode must be one of ${STEREO_MODES.join(', ')}`, type: 'set_settings' };
      return { ok: true, message: { type: 'set_settings', ...check.settings, ...(m.mode !== undefined ? { mode: m.mode } : {}) } };
    }
    default:
      return { ok: false, code: 'unknown_message', message: `unknown message type ${JSON.stringify(m.type)?.slice(0, 40)}` };
  }
}
