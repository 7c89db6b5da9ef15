/**
 * The durable event path: input bucket `stream_input/*.mp4` created → `video_worker` queue, with a DLQ.
 * The notification depends on the queue policy (S3 checks it can send when the notification is set).
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';
import { queuePolicy } from './policies.ts';
import type { Settings } from './settings.ts';

export interface Queues {
  queue: aws.sqs.Queue;
  dlq: aws.sqs.Queue;
  policy: aws.sqs.QueuePolicy;
  notification: aws.s3.BucketNotification;
}

export function createQueues(s: Settings, input: aws.s3.Bucket): Queues {
  const dlq = new aws.sqs.Queue(`${s.name}-video-worker-dlq`, { messageRetentionSeconds: 14 * 24 * 3600 });
  const queue = new aws.sqs.Queue(`${s.name}-video-worker`, {
    visibilityTimeoutSeconds: s.visibilityTimeoutSeconds,
    messageRetentionSeconds: 4 * 24 * 3600,
    receiveWaitTimeSeconds: 20,
    redrivePolicy: dlq.arn.apply((arn) => JSON.stringify({ deadLetterTargetArn: arn, maxReceiveCount: s.maxReceiveCount })),
  });
  const policy = new aws.sqs.QueuePolicy(`${s.name}-video-worker-policy`, {
    queueUrl: queue.url,
    policy: pulumi.all([queue.arn, input.arn]).apply(([q, b]) => JSON.stringify(queuePolicy(q, b))),
  });
  const notification = new aws.s3.BucketNotification(
    `${s.name}-input-notification`,
    {
      bucket: input.id,
      queues: [{ queueArn: queue.arn, events: ['s3:ObjectCreated:*'], filterPrefix: 'stream_input/', filterSuffix: '.mp4' }],
    },
    { dependsOn: [policy] },
  );
  return { queue, dlq, policy, notification };
}
