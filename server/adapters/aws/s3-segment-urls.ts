/**
 * Segment URLs in the AWS profile: presigned S3 GETs on the output bucket, expiring. A playlist lists
 * every segment on every request, so signatures are cached and reused while more than half of their
 * lifetime remains (bounded: the cache is dropped when it grows past `maxEntries`).
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { OUTPUT_PREFIX } from '../../../protocol/keys.ts';
import type { SegmentUrls } from '../ports.ts';

export class S3SegmentUrls implements SegmentUrls {
  readonly #cache = new Map<string, { url: string; reuseUntil: number }>();

  private readonly s3: S3Client;
  private readonly outputBucket: string;
  private readonly ttlSeconds: number;
  private readonly maxEntries: number;

  constructor(s3: S3Client, outputBucket: string, ttlSeconds: number, maxEntries = 50_000) {
    this.s3 = s3;
    this.outputBucket = outputBucket;
    this.ttlSeconds = ttlSeconds;
    this.maxEntries = maxEntries;
  }

  async url(sessionId: string, file: string): Promise<string> {
    const key = `${OUTPUT_PREFIX}${sessionId}/${file}`;
    const now = Date.now();
    const cached = this.#cache.get(key);
    if (cached && cached.reuseUntil > now) return cached.url;
    const url = await getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.outputBucket, Key: key }), {
      expiresIn: this.ttlSeconds,
    });
    if (this.#cache.size >= this.maxEntries) this.#cache.clear();
    this.#cache.set(key, { url, reuseUntil: now + (this.ttlSeconds * 1000) / 2 });
    return url;
  }
}
