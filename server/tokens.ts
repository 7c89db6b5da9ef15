/**
 * Signed, expiring tokens (HMAC-SHA256): upload tokens, control tokens and segment URL signatures.
 * A token names its scope and session, so a token of one session is useless for any other.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type TokenScope = 'upload' | 'control';

/** A valid token names its generation (control tokens: the session's must not be higher; others 0). */
export type TokenCheck =
  | { ok: true; generation: number }
  | { ok: false; reason: 'malformed' | 'bad_signature' | 'expired' | 'wrong_scope' | 'wrong_session' };

interface Claims {
  s: TokenScope;
  sid: string;
  exp: number; // seconds since epoch
  /** Control tokens: the session's control generation when issued (absent: 0). */
  g?: number;
}

export class TokenSigner {
  readonly #secret: Buffer;

  constructor(secret: string | Buffer) {
    this.#secret = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : secret;
    if (this.#secret.length < 16) throw new TypeError('signing secret must be at least 16 bytes');
  }

  static random(): TokenSigner {
    return new TokenSigner(randomBytes(32));
  }

  #mac(data: string): Buffer {
    return createHmac('sha256', this.#secret).update(data).digest();
  }

  /** A token for `scope` on `sessionId`, valid until `expiresAt` (ms since epoch), of `generation`. */
  issue(scope: TokenScope, sessionId: string, expiresAt: number, generation = 0): string {
    const claims: Claims = { s: scope, sid: sessionId, exp: Math.floor(expiresAt / 1000) };
    if (generation > 0) claims.g = generation;
    const body = Buffer.from(JSON.stringify(claims)).toString('base64url');
    return `${body}.${this.#mac(body).toString('base64url')}`;
  }

  verify(token: string | undefined, scope: TokenScope, sessionId: string, now = Date.now()): TokenCheck {
    if (!token) return { ok: false, reason: 'malformed' };
    const dot = token.indexOf('.');
    if (dot <= 0) return { ok: false, reason: 'malformed' };
    const body = token.slice(0, dot);
    const given = Buffer.from(token.slice(dot + 1), 'base64url');
    const want = this.#mac(body);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return { ok: false, reason: 'bad_signature' };
    let claims: Claims;
    try {
      claims = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Claims;
    } catch {
      return { ok: false, reason: 'malformed' };
    }
    if (claims.s !== scope) return { ok: false, reason: 'wrong_scope' };
    if (claims.sid !== sessionId) return { ok: false, reason: 'wrong_session' };
    if (claims.exp * 1000 <= now) return { ok: false, reason: 'expired' };
    return { ok: true, generation: typeof claims.g === 'number' && Number.isSafeInteger(claims.g) ? claims.g : 0 };
  }

  /** A key for another use (`label`, e.g. 'bus'), derived from the secret: never the secret itself. */
  derive(label: string): Buffer {
    return this.#mac(`stereospot key derivation\n${label}`);
  }

  /** Signature for a URL path that expires at `exp` (seconds since epoch). */
  signPath(pathname: string, exp: number): string {
    return this.#mac(`${pathname}\n${exp}`).toString('base64url');
  }

  verifyPath(pathname: string, exp: number, sig: string, now = Date.now()): 'ok' | 'bad_signature' | 'expired' {
    const given = Buffer.from(sig, 'base64url');
    const want = this.#mac(`${pathname}\n${exp}`);
    if (given.length !== want.length || !timingSafeEqual(given, want)) return 'bad_signature';
    return exp * 1000 > now ? 'ok' : 'expired';
  }
}
