/**
 * Uploads one chunk with the session's upload grant: the local profile's bearer `PUT`, or S3
 * `PutObject` with the STS credentials (`@aws-sdk/client-s3` in the browser; the input bucket's CORS
 * allows it, see pulumi/). Transient failures (network, 5xx, throttling) are retried with backoff;
 * a refusal (4xx) is reported with what it means. The grant is replaced when the server refreshes it.
 */
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { chunkFileName } from '../../protocol/keys.ts';
import type { ErrorBody, UploadTarget } from '../../protocol/messages.ts';

const ATTEMPTS = 4;

export class UploadError extends Error {
  override name = 'UploadError';
  readonly permanent: boolean;

  constructor(message: string, permanent: boolean) {
    super(message);
    this.permanent = permanent;
  }
}

export class ChunkUploader {
  #target: UploadTarget;
  #s3: S3Client | null = null;

  constructor(target: UploadTarget) {
    this.#target = target;
  }

  /** New rights from the server (before the old ones expire). */
  refresh(target: UploadTarget): void {
    this.#target = target;
    this.#s3 = null;
  }

  /** Uploads chunk `index`; resolves with its key. */
  async upload(index: number, bytes: Uint8Array, onRetry: (attempt: number, error: Error) => void): Promise<string> {
    const key = `${this.#target.key_prefix}${chunkFileName(index)}`;
    for (let attempt = 1; ; attempt++) {
      try {
        await this.#put(index, key, bytes);
        return key;
      } catch (error) {
        const failure = error instanceof UploadError ? error : new UploadError(`network error: ${(error as Error).message}`, false);
        if (failure.permanent || attempt >= ATTEMPTS) throw failure;
        onRetry(attempt, failure);
        await new Promise((r) => setTimeout(r, 500 * 2 ** (attempt - 1)));
      }
    }
  }

  async #put(index: number, key: string, bytes: Uint8Array): Promise<void> {
    const target = this.#target;
    if (target.type === 'http') {
      const res = await fetch(target.url_template.replace('{file}', chunkFileName(index)), {
        method: 'PUT',
        headers: { Authorization: `Bearer ${target.token}`, 'Content-Type': 'video/mp4' },
        body: new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'video/mp4' }),
      });
      if (res.ok) return;
      const body = (await res.json().catch(() => null)) as ErrorBody | null;
      const message = body ? `${body.error}: ${body.message}` : `HTTP ${res.status}`;
      throw new UploadError(
        `the server refused chunk ${index} (${message})`,
        res.status >= 400 && res.status < 500 && res.status !== 408 && res.status !== 429,
      );
    }
    this.#s3 ??= new S3Client({
      region: target.region,
      credentials: { accessKeyId: target.access_key_id, secretAccessKey: target.secret_access_key, sessionToken: target.session_token },
      ...(target.endpoint ? { endpoint: target.endpoint } : {}),
      forcePathStyle: target.force_path_style ?? false,
      maxAttempts: 1, // retried above, with the page showing it
      // A plain signed PUT (no streaming checksum trailer): what every S3-compatible store takes.
      requestChecksumCalculation: 'WHEN_REQUIRED',
    });
    try {
      await this.#s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: key, Body: bytes, ContentType: 'video/mp4' }));
    } catch (error) {
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
      throw new UploadError(`S3 refused chunk ${index}: ${(error as Error).message}`, status >= 400 && status < 500 && status !== 429);
    }
  }
}
