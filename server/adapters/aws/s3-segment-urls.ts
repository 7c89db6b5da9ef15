/** Segment URLs in the AWS profile: presigned S3 GETs on the output bucket, expiring. */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { segmentKey } from '../../../protocol/keys.ts';
import type { SegmentUrls } from '../ports.ts';

export class S3SegmentUrls implements SegmentUrls {
  constructor(
    private readonly s3: S3Client,
    private readonly outputBucket: string,
    private readonly ttlSeconds: number,
  ) {}

  async url(sessionId: string, index: number): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.outputBucket, Key: segmentKey(sessionId, index) }), {
      expiresIn: this.ttlSeconds,
    });
  }
}
