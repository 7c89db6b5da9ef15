/**
 * Bus messages are sealed: whatever can publish to Redis (a compromised host on its network, a
 * misconfigured client) must not be able to speak for a node. Each payload travels as
 * `{t, b, m}` — the sending time, the payload's JSON text, and an HMAC-SHA256 over the channel (or
 * presence key), the time and the text with a key derived from the shared SIGNING_SECRET. A message
 * whose MAC does not verify, that is older than MAX_AGE_MS (a replay), or that is larger than
 * MAX_MESSAGE_BYTES is dropped before its payload is parsed.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** How far a sealed message's time may lie from this node's clock (replays; node clocks keep NTP time). */
export const MAX_AGE_MS = 60_000;
/** The largest sealed message taken (a session record of 100 000 chunks is ≈ 15 MB). */
export const MAX_MESSAGE_BYTES = 32 * 1024 * 1024;

export type Unsealed = { ok: true; payload: unknown } | { ok: false; reason: 'too_large' | 'malformed' | 'bad_mac' | 'stale' };

export class BusSeal {
  readonly #key: Buffer;

  /** `key`: at least 32 bytes, the same on every node (TokenSigner.derive('bus')). */
  constructor(key: Buffer) {
    if (key.length < 32) throw new TypeError('the bus key must be at least 32 bytes');
    this.#key = key;
  }

  #mac(where: string, time: number, body: string): Buffer {
    return createHmac('sha256', this.#key).update(`${where}\n${time}\n`).update(body).digest();
  }

  /** The sealed text of `payload` for `where` (a channel or a presence key). */
  seal(where: string, payload: unknown, now = Date.now()): string {
    const body = JSON.stringify(payload);
    return JSON.stringify({ t: now, b: body, m: this.#mac(where, now, body).toString('base64url') });
  }

  /** The payload of a sealed text received on `where`, or why it is refused. */
  open(where: string, text: string, now = Date.now()): Unsealed {
    if (text.length > MAX_MESSAGE_BYTES) return { ok: false, reason: 'too_large' };
    let envelope: unknown;
    try {
      envelope = JSON.parse(text);
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (typeof envelope !== 'object' || envelope === null || !('t' in envelope && 'b' in envelope && 'm' in envelope))
      return { ok: false, reason: 'malformed' };
    const { t, b, m } = envelope;
    if (typeof t !== 'number' || !Number.isSafeInteger(t) || typeof b !== 'string' || typeof m !== 'string')
      return { ok: false, reason: 'malformed' };
    const given = Buffer.from(m, 'base64url');
    const want = this.#mac(where, t, b);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, reason: 'bad_mac' };
    if (Math.abs(now - t) > MAX_AGE_MS) return { ok: false, reason: 'stale' };
    try {
      const payload: unknown = JSON.parse(b);
      return { ok: true, payload };
    } catch {
      return { ok: false, reason: 'malformed' };
    }
  }
}
