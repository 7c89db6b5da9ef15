/**
 * Uploading one chunk. The HTTP uploader (local profile) retries network errors and 5xx with
 * jittered exponential backoff; a 4xx is final for that chunk. S3 uploads: `s3-uploader.ts`.
 */
import { readFile } from 'node:fs/promises';
import { chunkFileName } from '../protocol/keys.ts';
import type { ErrorBody, UploadTarget } from '../protocol/messages.ts';

export type UploadOutcome = { ok: true; attempts: number } | { ok: false; attempts: number; error: string; permanent: boolean };

export interface ChunkUploader {
  upload(index: number, file: string): Promise<UploadOutcome>;
  /** New rights from a `credentials` message. */
  setTarget(target: UploadTarget): void;
  close?(): void;
}

export interface RetryPolicy {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { attempts: 5, baseDelayMs: 250, maxDelayMs: 5000 };

export class HttpChunkUploader implements ChunkUploader {
  #target: UploadTarget;
  readonly #retry: RetryPolicy;
  readonly #onRetry: (index: number, attempt: number, error: string) => void;

  constructor(target: UploadTarget, retry: RetryPolicy = DEFAULT_RETRY, onRetry: (index: number, attempt: number, error: string) => void = () => {}) {
    this.#target = target;
    this.#retry = retry;
    this.#onRetry = onRetry;
  }

  setTarget(target: UploadTarget): void {
    this.#target = target;
  }

  async upload(index: number, file: string): Promise<UploadOutcome> {
    const body = await readFile(file);
    let lastError = '';
    for (let attempt = 1; attempt <= this.#retry.attempts; attempt++) {
      const target = this.#target;
      if (target.type !== 'http') return { ok: false, attempts: attempt, error: 'this uploader only does HTTP uploads', permanent: true };
      const url = target.url_template.replace('{file}', chunkFileName(index));
      try {
        const res = await fetch(url, {
          method: 'PUT',
          headers: { 'Content-Type': 'video/mp4', Authorization: `Bearer ${target.token}` },
          body,
        });
        if (res.ok) {
          await res.arrayBuffer();
          return { ok: true, attempts: attempt };
        }
        let message = `${res.status} ${res.statusText}`;
        try {
          const err = (await res.json()) as ErrorBody;
          if (err?.message) message = `${res.status} ${err.message}`;
        } catch {
          // not JSON
        }
        if (res.status < 500) return { ok: false, attempts: attempt, error: message, permanent: true };
        lastError = message;
      } catch (error) {
        lastError = (error as Error).cause instanceof Error ? ((error as Error).cause as Error).message : (error as Error).message;
      }
      if (attempt < this.#retry.attempts) {
        this.#onRetry(index, attempt, lastError);
        const delay = Math.min(this.#retry.maxDelayMs, this.#retry.baseDelayMs * 2 ** (attempt - 1));
        await new Promise((r) => setTimeout(r, delay * (0.75 + Math.random() * 0.5)));
      }
    }
    return { ok: false, attempts: this.#retry.attempts, error: lastError, permanent: false };
  }
}
