/** AWS SDK v3 clients built from the config (region, endpoint overrides, emulator-safe checksums). */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import { STSClient } from '@aws-sdk/client-sts';
import type { Config } from '../../config.ts';

export interface AwsClients {
  s3: S3Client;
  sqs: SQSClient;
  dynamo: DynamoDBDocumentClient;
  sts: STSClient;
  destroy(): void;
}

export function createAwsClients(config: Config): AwsClients {
  const region = config.aws.region ?? 'us-east-1';
  const e = config.aws.endpoints;
  const s3 = new S3Client({
    region,
    ...(e.s3 ? { endpoint: e.s3 } : {}),
    forcePathStyle: config.aws.s3ForcePathStyle,
    // Only when an operation requires it: otherwise streamed bodies get aws-chunked framing that
    // some S3-compatible stores keep inside the object, and presigned URLs carry an empty-body CRC.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  const sqs = new SQSClient({ region, ...(e.sqs ? { endpoint: e.sqs } : {}) });
  const dynamoBase = new DynamoDBClient({ region, ...(e.dynamodb ? { endpoint: e.dynamodb } : {}) });
  const dynamo = DynamoDBDocumentClient.from(dynamoBase, { marshallOptions: { removeUndefinedValues: true } });
  const sts = new STSClient({ region, ...(e.sts ? { endpoint: e.sts } : {}) });
  return {
    s3,
    sqs,
    dynamo,
    sts,
    destroy() {
      s3.destroy();
      sqs.destroy();
      dynamo.destroy();
      dynamoBase.destroy();
      sts.destroy();
    },
  };
}

/** True for the SDK's "not found" errors (NoSuchKey, NotFound, 404). */
export function isNotFound(error: unknown): boolean {
  const e = error as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
