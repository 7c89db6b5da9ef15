/** The input and output buckets: private, encrypted, unversioned, expiring; CORS for browser uploads (input) and players (output). */
import * as aws from '@pulumi/aws';
import type { Settings } from './settings.ts';

export interface Storage {
  input: aws.s3.Bucket;
  output: aws.s3.Bucket;
}

function privateBucket(name: string, prefix: string, expirationDays: number): aws.s3.Bucket {
  const bucket = new aws.s3.Bucket(name, { forceDestroy: false });
  new aws.s3.BucketPublicAccessBlock(`${name}-private`, {
    bucket: bucket.id,
    blockPublicAcls: true,
    blockPublicPolicy: true,
    ignorePublicAcls: true,
    restrictPublicBuckets: true,
  });
  new aws.s3.BucketServerSideEncryptionConfiguration(`${name}-encryption`, {
    bucket: bucket.id,
    rules: [{ applyServerSideEncryptionByDefault: { sseAlgorithm: 'AES256' }, bucketKeyEnabled: true }],
  });
  // Versioning stays off (never enabled): chunks and segments are written once and expire.
  new aws.s3.BucketLifecycleConfiguration(`${name}-lifecycle`, {
    bucket: bucket.id,
    rules: [
      {
        id: `expire-${prefix.replace(/\/$/, '')}`,
        status: 'Enabled',
        filter: { prefix },
        expiration: { days: expirationDays },
        abortIncompleteMultipartUpload: { daysAfterInitiation: 1 },
      },
    ],
  });
  return bucket;
}

export function createStorage(s: Settings): Storage {
  const input = privateBucket(`${s.name}-input`, 'stream_input/', s.inputExpirationDays);
  const output = privateBucket(`${s.name}-output`, 'stream_output/', s.outputExpirationDays);
  // Browser players (hls.js) fetch segments through presigned URLs straight from the output bucket.
  new aws.s3.BucketCorsConfiguration(`${s.name}-output-cors`, {
    bucket: output.id,
    corsRules: [{ allowedMethods: ['GET', 'HEAD'], allowedOrigins: s.corsOrigins, allowedHeaders: ['*'], maxAgeSeconds: 3600 }],
  });
  // The capture page uploads chunks from the browser with the session's STS credentials (S3 PutObject):
  // PUT only, from the configured origins; the signature headers must be allowed.
  new aws.s3.BucketCorsConfiguration(`${s.name}-input-cors`, {
    bucket: input.id,
    corsRules: [
      { allowedMethods: ['PUT'], allowedOrigins: s.corsOrigins, allowedHeaders: ['*'], exposeHeaders: ['ETag'], maxAgeSeconds: 3600 },
    ],
  });
  return { input, output };
}
