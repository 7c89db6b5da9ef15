/**
 * Runtime checks of what clients send over a session socket, shared by the server (which refuses what
 * fails, with the code named here) and anyone writing a client. A frame is decoded first (MessagePack
 * or JSON); then `parseClientMessage` says whether it is one of the ClientMessage types, whole.
 */
import { isValidChunkIndex, MAX_CHUNK_INDEX } from './keys.ts';
import type { ClientMessage } from './messages.ts';
import { checkSettings } from './settings.ts';

/** Why a client message was refused: `bad_message` (not a message at all), `unknown_message`, `invalid_{field}`. */
export type ClientMessageCheck = { ok: true; message: ClientMessage } | { ok: false; code: string; message: string };

/** The largest chunk a `chunk_uploaded` may claim (the server takes the stored size, this only bounds the field). */
const MAX_CLAIMED_BYTES = 2 ** 40;

export function parseClientMessage(value: unknown): ClientMessageCheck {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, code: 'bad_message', message: 'message must be an object with a type' };
  }
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'ping':
      if (m.t !== undefined && (typeof m.t !== 'number' || !Number.isFinite(m.t))) return { ok: false, code: 'invalid_t', message: 'ping.t must be a number' };
      return { ok: true, message: m.t === undefined ? { type: 'ping' } : { type: 'ping', t: m.t } };
    case 'chunk_uploaded':
      if (!isValidChunkIndex(m.index)) return { ok: false, code: 'invalid_index', message: `chunk_uploaded.index must be an integer from 0 to ${MAX_CHUNK_INDEX}` };
      if (typeof m.key !== 'string' || m.key.length > 200) return { ok: false, code: 'invalid_key', message: 'chunk_uploaded.key must be the chunk\'s object key' };
      if (typeof m.bytes !== 'number' || !Number.isInteger(m.bytes) || m.bytes < 0 || m.bytes > MAX_CLAIMED_BYTES) {
        return { ok: false, code: 'invalid_bytes', message: 'chunk_uploaded.bytes must be a non-negative integer' };
      }
      return { ok: true, message: { type: 'chunk_uploaded', index: m.index, key: m.key, bytes: m.bytes } };
    case 'set_settings': {
      const check = checkSettings(m);
      if (!check.ok) return { ok: false, code: `invalid_${check.field}`, message: check.message };
      return { ok: true, message: { type: 'set_settings', ...check.settings } };
    }
    default:
      return { ok: false, code: 'unknown_message', message: `unknown message type ${JSON.stringify(m.type)?.slice(0, 40)}` };
  }
}
