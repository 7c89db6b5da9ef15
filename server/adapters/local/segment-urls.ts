/** Local segment URLs: `/segments/{id}/{file}?exp=…&sig=…`, signed and expiring. */
import type { TokenSigner } from '../../tokens.ts';
import type { SegmentUrls } from '../ports.ts';

export class LocalSegmentUrls implements SegmentUrls {
  private readonly signer: TokenSigner;
  private readonly ttlSeconds: number;

  constructor(signer: TokenSigner, ttlSeconds: number) {
    this.signer = signer;
    this.ttlSeconds = ttlSeconds;
  }

  async url(sessionId: string, file: string, baseUrl: string): Promise<string> {
    const pathname = `/segments/${sessionId}/${file}`;
    // Expiry is rounded up to the minute so a playlist re-fetched within it keeps identical URLs.
    const exp = Math.ceil((Date.now() / 1000 + this.ttlSeconds) / 60) * 60;
    return `${baseUrl}${pathname}?exp=${exp}&sig=${this.signer.signPath(pathname, exp)}`;
  }
}
