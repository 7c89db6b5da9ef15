/** Builds the AWS profile: S3 objects, STS upload grants, SQS events, DynamoDB sessions. */
import type { Config } from '../../config.ts';
import type { Logger } from '../../log.ts';
import type { Adapters } from '../ports.ts';
import { createAwsClients } from './clients.ts';
import { DynamoSessionStore } from './dynamo-session-store.ts';
import { S3ObjectStore } from './s3-object-store.ts';
import { S3SegmentUrls } from './s3-segment-urls.ts';
import { SqsChunkQueue } from './sqs-queue.ts';
import { StsUploadGrants } from './sts-grants.ts';

export interface AwsAdapters extends Adapters {
  queue: SqsChunkQueue;
}

export function createAwsAdapters(config: Config, log: Logger): AwsAdapters {
  const aws = config.aws;
  // loadConfig has already refused PROFILE=aws without these.
  const need = (value: string | null, key: string): string => {
    if (value === null) throw new TypeError(`${key} is required for PROFILE=aws`);
    return value;
  };
  const inputBucket = need(aws.inputBucket, 'INPUT_BUCKET_NAME');
  const outputBucket = need(aws.outputBucket, 'OUTPUT_BUCKET_NAME');
  const clients = createAwsClients(config);
  const queue = new SqsChunkQueue(
    clients.sqs,
    {
      queueUrl: need(aws.queueUrl, 'VIDEO_WORKER_QUEUE_URL'),
      waitSeconds: aws.sqsWaitSeconds,
      visibilitySeconds: aws.sqsVisibilitySeconds,
      batchSize: aws.sqsBatchSize,
      maxInFlight: 64,
    },
    log.child({ component: 'sqs' }),
  );
  const sessions = new DynamoSessionStore(clients.dynamo, need(aws.sessionsTable, 'STREAM_SESSIONS_TABLE_NAME'), aws.sessionTtlDays);
  return {
    objects: new S3ObjectStore(clients.s3, inputBucket, outputBucket),
    queue,
    sessions,
    leases: sessions,
    grants: new StsUploadGrants(clients.sts, {
      inputBucket,
      region: need(aws.region, 'AWS_REGION'),
      roleArn: aws.uploadRoleArn,
      durationSeconds: config.uploadTokenSeconds,
      endpoint: aws.endpoints.s3,
      forcePathStyle: aws.s3ForcePathStyle,
    }),
    segmentUrls: new S3SegmentUrls(clients.s3, outputBucket, config.segmentUrlSeconds),
    async close() {
      await queue.close();
      clients.destroy();
    },
  };
}
