/**
 * The AWS profile's object store: chunks live in the input bucket (`stream_input/…`), segments in
 * the output bucket (`stream_output/…`). S3 writes are atomic per object; absent objects are undefined.
 */
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { Readable } from 'node:stream';
import { INPUT_PREFIX, OUTPUT_PREFIX } from '../../../protocol/keys.ts';
import type { ObjectInfo, ObjectStore } from '../ports.ts';
import { isNotFound } from './clients.ts';

export class S3ObjectStore implements ObjectStore {
  private readonly s3: S3Client;
  private readonly inputBucket: string;
  private readonly outputBucket: string;
  /** Keys per ListObjectsV2 page (S3's maximum is 1000; tests use small pages). */
  private readonly pageSize: number;

  constructor(s3: S3Client, inputBucket: string, outputBucket: string, pageSize = 1000) {
    this.s3 = s3;
    this.inputBucket = inputBucket;
    this.outputBucket = outputBucket;
    this.pageSize = pageSize;
  }

  /** The bucket a key belongs to; any other key is a programming error. */
  bucketOf(key: string): string {
    if (key.startsWith(INPUT_PREFIX)) return this.inputBucket;
    if (key.startsWith(OUTPUT_PREFIX)) return this.outputBucket;
    throw new TypeError(`key outside ${INPUT_PREFIX} and ${OUTPUT_PREFIX}: ${JSON.stringify(key)}`);
  }

  async put(key: string, body: Uint8Array, contentType: string): Promise<void> {
    await this.s3.send(
      new PutObjectCommand({
        Bucket: this.bucketOf(key),
        Key: key,
        Body: body,
        ContentType: contentType,
        ContentLength: body.byteLength,
      }),
    );
  }

  /** Streamed as a multipart upload (5-MiB parts), so no body is held whole. */
  async putStream(key: string, body: AsyncIterable<Uint8Array>, contentType: string): Promise<number> {
    let size = 0;
    const counted = Readable.from(
      (async function* count() {
        for await (const piece of body) {
          size += piece.byteLength;
          yield piece;
        }
      })(),
    );
    await new Upload({
      client: this.s3,
      params: { Bucket: this.bucketOf(key), Key: key, Body: counted, ContentType: contentType },
      queueSize: 1,
    }).done();
    return size;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      const out = await this.s3.send(new GetObjectCommand({ Bucket: this.bucketOf(key), Key: key }));
      return out.Body ? await out.Body.transformToByteArray() : new Uint8Array(0);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const out = await this.s3.send(new HeadObjectCommand({ Bucket: this.bucketOf(key), Key: key }));
      return { key, size: out.ContentLength ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Every object under `prefix`, following ListObjectsV2 continuation tokens. */
  async list(prefix: string): Promise<ObjectInfo[]> {
    const bucket = this.bucketOf(prefix);
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const page = await this.s3.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token, MaxKeys: this.pageSize }),
      );
      for (const o of page.Contents ?? []) if (o.Key) out.push({ key: o.Key, size: o.Size ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async close(): Promise<void> {}
}
