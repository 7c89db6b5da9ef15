/** Local upload rights: a bearer token scoped to one session, for `PUT /upload/{session_id}/chunk_N.mp4`. */
import { INPUT_PREFIX } from '../../../protocol/keys.ts';
import type { HttpUploadTarget } from '../../../protocol/messages.ts';
import type { TokenSigner } from '../../tokens.ts';
import type { UploadGrants } from '../ports.ts';

export class LocalUploadGrants implements UploadGrants {
  private readonly signer: TokenSigner;
  private readonly ttlSeconds: number;
  private readonly maxBytes: number;

  constructor(signer: TokenSigner, ttlSeconds: number, maxBytes: number) {
    this.signer = signer;
    this.ttlSeconds = ttlSeconds;
    this.maxBytes = maxBytes;
  }

  async issue(sessionId: string, baseUrl: string): Promise<HttpUploadTarget> {
    const expiresAt = Date.now() + this.ttlSeconds * 1000;
    const token = this.signer.issue('upload', sessionId, expiresAt);
    return {
      type: 'http',
      // The original contract's credential fields, filled for a plain HTTP upload.
      access_key_id: 'local',
      secret_access_key: '',
      session_token: token,
      bucket: 'local',
      region: 'local',
      expires_at: new Date(expiresAt).toISOString(),
      key_prefix: `${INPUT_PREFIX}${sessionId}/`,
      url_template: `${baseUrl}/upload/${sessionId}/{file}`,
      token,
      max_bytes: this.maxBytes,
    };
  }
}
