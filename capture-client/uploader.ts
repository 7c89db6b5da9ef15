/**
 * Uploading one chunk. The HTTP uploader (local profile) retries network errors and 5xx with
 * jittered exponential backoff; a 4xx is final for that chunk. S3 uploads: `s3-uploader.ts`.
 */
import { readFile } from 'node:fs/promises';
import { chunkFileName } from '../protocol/keys.ts';
import type { ErrorBody, UploadTarget } from '../protocol/messages.ts';
import { DEFAULT_RETRY, withRetries, type RetryPolicy, type UploadOutcome } from './retry.ts';

export { DEFAULT_RETRY, type RetryPolicy, type UploadOutcome } from './retry.ts';

export interface ChunkUploader {
  upload(index: number, file: string): Promise<UploadOutcome>;
  /** New rights from a `credentials` message. */
  setTarget(target: UploadTarget): void;
  close?(): void;
}

export class HttpChunkUploader implements ChunkUploader {
  #target: UploadTarget;
  readonly #retry: RetryPolicy;
  readonly #onRetry: (index: number, attempt: number, error: string) => void;

  constructor(
    target: UploadTarget,
    retry: RetryPolicy = DEFAULT_RETRY,
    onRetry: (index: number, attempt: number, error: string) => void = () => {},
  ) {
    this.#target = target;
    this.#retry = retry;
    this.#onRetry = onRetry;
  }

  setTarget(target: UploadTarget): void {
    this.#target = target;
  }

  async upload(index: number, file: string): Promise<UploadOutcome> {
    const body = await readFile(file);
    return withRetries(
      this.#retry,
      async () => {
        // Read the target on every try: a refresh may have replaced the token meanwhile.
        const target = this.#target;
        if (target.type !== 'http') return { ok: false, error: 'this uploader only does HTTP uploads', permanent: true };
        const url = target.url_template.replace('{file}', chunkFileName(index));
        let res: Response;
        try {
          res = await fetch(url, {
            method: 'PUT',
            headers: { 'Content-Type': 'video/mp4', Authorization: `Bearer ${target.token}` },
            body,
          });
        } catch (error) {
          const cause = (error as Error).cause;
          return { ok: false, error: cause instanceof Error ? cause.message : (error as Error).message, permanent: false };
        }
        if (res.ok) {
          await res.arrayBuffer();
          return { ok: true };
        }
        let message = `${res.status} ${res.statusText}`;
        try {
          const err = (await res.json()) as ErrorBody;
          if (err?.message) message = `${res.status} ${err.message}`;
        } catch {
          // not JSON
        }
        return { ok: false, error: message, permanent: res.status < 500 && res.status !== 408 && res.status !== 429 };
      },
      (attempt, error) => this.#onRetry(index, attempt, error),
    );
  }
}
