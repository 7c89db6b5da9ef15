/**
 * The SQS adapter on the SQS emulator: an event for a session another node runs is given back to the
 * queue (a copy, then the original deleted) without counting against the redrive policy — so it
 * cannot bounce between non-owners into the DLQ while its owner is alive — and after its bound of
 * give-backs it is left to ordinary redelivery, so nothing circulates for ever.
 */
import t from 'tap';
import { SqsChunkQueue } from '../server/adapters/aws/sqs-queue.ts';
import type { ChunkEventOutcome, ObjectCreatedEvent } from '../server/adapters/ports.ts';
import { createLogger, memorySink } from '../server/log.ts';
import { until } from '../testkit/server.ts';
import { INPUT_BUCKET, notification, startAwsEmulators } from '../testkit/aws.ts';

const quiet = createLogger('test', memorySink('error'));

t.test('an event another node must take is given back without moving it towards the DLQ', async (t) => {
  const aws = await startAwsEmulators(t, { maxReceiveCount: 2 });
  const queue = new SqsChunkQueue(
    aws.sqs,
    { queueUrl: aws.queueUrl, waitSeconds: 1, visibilitySeconds: 2, batchSize: 1, maxInFlight: 2 },
    quiet,
  );
  t.teardown(() => queue.close());
  const seen: string[] = [];
  // Four non-owners in a row receive it before the owner does: twice the redrive policy's limit.
  queue.start(async (event: ObjectCreatedEvent): Promise<ChunkEventOutcome> => {
    seen.push(event.key);
    return seen.length <= 4 ? 'elsewhere' : 'done';
  });
  await aws.send(notification(INPUT_BUCKET, 'stream_input/s1/chunk_00000.mp4', 10));
  await until(() => seen.length === 5, 'the owner to receive the event', 30_000);
  await until(async () => (await aws.depth(aws.queueUrl)) === 0, 'the event deleted once handled', 10_000);
  t.same(seen, Array(5).fill('stream_input/s1/chunk_00000.mp4'), 'received five times: four give-backs, then handled');
  t.equal(queue.stats.givenBack, 4);
  t.equal(queue.stats.failed, 0, 'a give-back is not a failure');
  t.equal(await aws.depth(aws.dlqUrl), 0, 'nothing in the DLQ');
});

t.test('past its bound of give-backs an event is left to redelivery and the redrive policy', async (t) => {
  const aws = await startAwsEmulators(t, { maxReceiveCount: 2 });
  const queue = new SqsChunkQueue(
    aws.sqs,
    { queueUrl: aws.queueUrl, waitSeconds: 1, visibilitySeconds: 1, batchSize: 1, maxInFlight: 2, maxGiveBacks: 2 },
    quiet,
  );
  t.teardown(() => queue.close());
  const counts: number[] = [];
  queue.start(async () => {
    counts.push(counts.length);
    return 'elsewhere';
  });
  await aws.send(notification(INPUT_BUCKET, 'stream_input/s1/chunk_00001.mp4', 10));
  await until(async () => (await aws.depth(aws.dlqUrl)) === 1, 'the event in the DLQ', 30_000);
  t.equal(queue.stats.givenBack, 2, 'given back twice, its bound');
  t.equal(counts.length, 4, 'then received twice more (the redrive limit) before the DLQ took it');
});
