/**
 * Uploading chunks straight to S3 with the session's STS credentials (AWS profile). Large chunks go
 * multipart (`@aws-sdk/lib-storage`); refreshed credentials from the socket replace the client.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { readFile } from 'node:fs/promises';
import { chunkFileName } from '../protocol/keys.ts';
import type { S3UploadTarget, UploadTarget } from '../protocol/messages.ts';
import { DEFAULT_RETRY, withRetries, type RetryPolicy, type UploadOutcome } from './retry.ts';
import type { ChunkUploader } from './uploader.ts';

/** Chunks above this go multipart (S3's minimum part size is 5 MiB). */
const PART_SIZE = 8 * 1024 * 1024;

function clientFor(target: S3UploadTarget): S3Client {
  return new S3Client({
    region: target.region,
    credentials: {
      accessKeyId: target.access_key_id,
      secretAccessKey: target.secret_access_key,
      sessionToken: target.session_token,
    },
    ...(target.endpoint ? { endpoint: target.endpoint } : {}),
    forcePathStyle: target.force_path_style ?? false,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
    maxAttempts: 1, // retries are ours (bounded, with backoff, and they see refreshed credentials)
  });
}

/** A 4xx from S3 that no retry can fix (access denied, bad request…), except throttling and expiry. */
function isPermanent(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode ?? 0;
  if (e?.name === 'ExpiredToken' || e?.name === 'SlowDown' || status === 429) return false;
  return status >= 400 && status < 500;
}

export class S3ChunkUploader implements ChunkUploader {
  #target: S3UploadTarget;
  #client: S3Client;
  readonly #retry: RetryPolicy;
  readonly #onRetry: (index: number, attempt: number, error: string) => void;

  constructor(
    target: S3UploadTarget,
    retry: RetryPolicy = DEFAULT_RETRY,
    onRetry: (index: number, attempt: number, error: string) => void = () => {},
  ) {
    this.#target = target;
    this.#client = clientFor(target);
    this.#retry = retry;
    this.#onRetry = onRetry;
  }

  setTarget(target: UploadTarget): void {
    if (target.type !== 's3') return;
    this.#client.destroy();
    this.#target = target;
    this.#client = clientFor(target);
  }

  async upload(index: number, file: string): Promise<UploadOutcome> {
    const body = await readFile(file);
    return withRetries(
      this.#retry,
      async () => {
        try {
          const upload = new Upload({
            client: this.#client,
            params: {
              Bucket: this.#target.bucket,
              Key: `${this.#target.key_prefix}${chunkFileName(index)}`,
              Body: body,
              ContentType: 'video/mp4',
            },
            partSize: PART_SIZE,
            queueSize: 2,
            leavePartsOnError: false, // aborts the multipart upload (the grant allows AbortMultipartUpload)
          });
          await upload.done();
          return { ok: true };
        } catch (error) {
          return {
            ok: false,
            error: `${(error as { name?: string }).name ?? 'Error'}: ${(error as Error).message}`,
            permanent: isPermanent(error),
          };
        }
      },
      (attempt, error) => this.#onRetry(index, attempt, error),
    );
  }

  close(): void {
    this.#client.destroy();
  }
}
