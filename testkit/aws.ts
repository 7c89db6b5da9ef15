/**
 * The AWS profile's protocol emulators, in-process on 127.0.0.1 port 0: dynalite (DynamoDB),
 * local-aws-sqs (SQS with a DLQ), s3rver (S3), our STS stand-in, and a bridge that turns the S3
 * emulator's object-created events into S3-notification JSON on the queue, keys URL-encoded as real
 * S3 sends them, filtered like the bucket notification (`stream_input/` + `.mp4`).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { CreateQueueCommand, GetQueueAttributesCommand, SendMessageCommand, SQSClient } from '@aws-sdk/client-sqs';
import dynalite from 'dynalite';
import { createSqsServer } from 'local-aws-sqs';
import S3rver from 's3rver';
import { startStsStandIn, type StsStandIn } from './sts-standin.ts';
import type { Teardown } from './teardown.ts';

export const INPUT_BUCKET = 'stereo-input';
export const OUTPUT_BUCKET = 'stereo-output';
export const TABLE = 'stream_sessions';

export interface AwsEmulators {
  /** Server config for PROFILE=aws against these emulators. */
  env: Record<string, string>;
  s3: S3Client;
  sqs: SQSClient;
  queueUrl: string;
  dlqUrl: string;
  sts: StsStandIn;
  /** Notifications the bridge put on the queue. */
  bridged: string[];
  /** Sends a raw message body to the chunk queue (duplicate or poison events). */
  send(body: string): Promise<void>;
  /** Messages currently in a queue (visible + in flight). */
  depth(queueUrl: string): Promise<number>;
}

/** S3 URL-encodes notification keys like a form: spaces as `+`, slashes kept. */
export function encodeS3Key(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, '/').replace(/%20/g, '+');
}

export function notification(bucket: string, key: string, size: number): string {
  return JSON.stringify({
    Records: [
      {
        eventVersion: '2.1',
        eventSource: 'aws:s3',
        awsRegion: 'us-east-1',
        eventTime: new Date().toISOString(),
        eventName: 'ObjectCreated:Put',
        s3: { s3SchemaVersion: '1.0', bucket: { name: bucket, arn: `arn:aws:s3:::${bucket}` }, object: { key: encodeS3Key(key), size } },
      },
    ],
  });
}

/** The buckets' CORS as the Pulumi stack sets it: browsers PUT chunks into the input, read the output. */
const corsRule = (methods: string[], expose: string[] = []) =>
  `<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>${methods.map((m) => `<AllowedMethod>${m}</AllowedMethod>`).join('')}` +
  `<AllowedHeader>*</AllowedHeader>${expose.map((h) => `<ExposeHeader>${h}</ExposeHeader>`).join('')}<MaxAgeSeconds>3600</MaxAgeSeconds></CORSRule></CORSConfiguration>`;

export async function startAwsEmulators(t: Teardown, opts: { maxReceiveCount?: number } = {}): Promise<AwsEmulators> {
  // The SDK's default credential chain reads these; s3rver accepts this key pair.
  process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY = 'S3RVER';
  const region = 'us-east-1';
  const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

  const dyn = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
  await new Promise<void>((r) => dyn.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => dyn.close(() => r())));
  const dynUrl = `http://127.0.0.1:${(dyn.address() as { port: number }).port}`;
  const ddb = new DynamoDBClient({ region, endpoint: dynUrl, credentials });
  await ddb.send(
    new CreateTableCommand({
      TableName: TABLE,
      KeySchema: [{ AttributeName: 'session_id', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'session_id', AttributeType: 'S' }],
      BillingMode: 'PAY_PER_REQUEST',
    }),
  );
  ddb.destroy();

  const sqsServer = await createSqsServer({ port: 0, hostname: '127.0.0.1', emulateQueueCreationLifecycle: false });
  t.teardown(() => new Promise<void>((r) => sqsServer.close(() => r())));
  const sqsUrl = `http://127.0.0.1:${(sqsServer.address() as { port: number }).port}`;
  const sqs = new SQSClient({ region, endpoint: sqsUrl, credentials });
  t.teardown(() => sqs.destroy());
  const dlqUrl = (await sqs.send(new CreateQueueCommand({ QueueName: 'video_worker_dlq' }))).QueueUrl!;
  const dlqArn = (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ['QueueArn'] }))).Attributes!.QueueArn!;
  const queueUrl = (
    await sqs.send(
      new CreateQueueCommand({
        QueueName: 'video_worker',
        Attributes: {
          RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: String(opts.maxReceiveCount ?? 3) }),
          VisibilityTimeout: '30',
        },
      }),
    )
  ).QueueUrl!;

  const dir = await mkdtemp(path.join(os.tmpdir(), 'stereospot-s3rver-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const s3rver = new S3rver({
    port: 0,
    address: '127.0.0.1',
    silent: true,
    directory: dir,
    configureBuckets: [
      { name: INPUT_BUCKET, configs: [corsRule(['PUT'], ['ETag'])] },
      { name: OUTPUT_BUCKET, configs: [corsRule(['GET', 'HEAD'])] },
    ],
  });
  const s3addr = await s3rver.run();
  t.teardown(() => s3rver.close());
  const s3Url = `http://127.0.0.1:${s3addr.port}`;
  const s3 = new S3Client({
    region,
    endpoint: s3Url,
    credentials,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  t.teardown(() => s3.destroy());

  const bridged: string[] = [];
  s3rver.on(
    'event',
    (event: { Records: Array<{ eventName: string; s3: { bucket: { name: string }; object: { key: string; size: number } } }> }) => {
      for (const r of event.Records) {
        const key = r.s3.object.key;
        if (r.s3.bucket.name !== INPUT_BUCKET || !r.eventName.startsWith('ObjectCreated:')) continue;
        if (!key.startsWith('stream_input/') || !key.endsWith('.mp4')) continue;
        bridged.push(key);
        void sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: notification(INPUT_BUCKET, key, r.s3.object.size) }));
      }
    },
  );

  const sts = await startStsStandIn();
  t.teardown(() => sts.close());

  return {
    env: {
      PROFILE: 'aws',
      AWS_REGION: region,
      INPUT_BUCKET_NAME: INPUT_BUCKET,
      OUTPUT_BUCKET_NAME: OUTPUT_BUCKET,
      STREAM_SESSIONS_TABLE_NAME: TABLE,
      VIDEO_WORKER_QUEUE_URL: queueUrl,
      AWS_ENDPOINT_URL_S3: s3Url,
      AWS_ENDPOINT_URL_SQS: sqsUrl,
      AWS_ENDPOINT_URL_DYNAMODB: dynUrl,
      AWS_ENDPOINT_URL_STS: sts.url,
      S3_FORCE_PATH_STYLE: 'true',
      SIGNING_SECRET: 'test-secret-test-secret-test-secret',
      SQS_WAIT_SECONDS: '1',
      SQS_BATCH_SIZE: '1',
      STREAMING_ENABLED: 'true',
    },
    s3,
    sqs,
    queueUrl,
    dlqUrl,
    sts,
    bridged,
    async send(body) {
      await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body }));
    },
    async depth(url) {
      const out = await sqs.send(
        new GetQueueAttributesCommand({
          QueueUrl: url,
          AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
        }),
      );
      return Number(out.Attributes?.ApproximateNumberOfMessages ?? 0) + Number(out.Attributes?.ApproximateNumberOfMessagesNotVisible ?? 0);
    },
  };
}
