/**
 * The durable event path in the AWS profile: S3 ObjectCreated notifications on SQS.
 * Long polling; at most `maxInFlight` messages handled at once; visibility extended while a message's
 * chunk is still processing; a message is deleted only after its handler resolved (the segment is
 * durably written), and left for redelivery when it rejects, so the redrive policy moves poison
 * messages to the DLQ. Test events and keys that are not chunks are deleted.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { parseChunkKey } from '../../../protocol/keys.ts';
import { errorMessage, type Logger } from '../../log.ts';
import type { ChunkEventQueue, ObjectCreatedEvent } from '../ports.ts';
import { parseNotification } from './s3-events.ts';

export interface SqsQueueOptions {
  queueUrl: string;
  waitSeconds: number;
  visibilitySeconds: number;
  batchSize: number;
  maxInFlight: number;
}

export class SqsChunkQueue implements ChunkEventQueue {
  readonly #sqs: SQSClient;
  readonly #opts: SqsQueueOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #loop: Promise<void> | undefined;
  #closed = false;
  /** Counters for tests and metrics. */
  readonly stats = { received: 0, deleted: 0, failed: 0, ignored: 0 };

  constructor(sqs: SQSClient, options: SqsQueueOptions, log: Logger) {
    this.#sqs = sqs;
    this.#opts = options;
    this.#log = log;
  }

  start(handler: (event: ObjectCreatedEvent) => Promise<void>): void {
    if (this.#loop) throw new Error('SqsChunkQueue already started');
    this.#loop = this.#run(handler);
  }

  async #run(handler: (event: ObjectCreatedEvent) => Promise<void>): Promise<void> {
    let backoff = 500;
    while (!this.#closed) {
      if (this.#inFlight.size >= this.#opts.maxInFlight) {
        await Promise.race(this.#inFlight);
        continue;
      }
      let messages: Message[];
      try {
        const out = await this.#sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: this.#opts.queueUrl,
            MaxNumberOfMessages: Math.min(this.#opts.batchSize, this.#opts.maxInFlight - this.#inFlight.size),
            WaitTimeSeconds: this.#opts.waitSeconds,
            VisibilityTimeout: this.#opts.visibilitySeconds,
          }),
          { abortSignal: this.#abort.signal },
        );
        messages = out.Messages ?? [];
        backoff = 500;
      } catch (error) {
        if (this.#closed) return;
        this.#log.warn('SQS receive failed; retrying', { error: errorMessage(error), retry_ms: backoff });
        await new Promise((r) => setTimeout(r, backoff));
        backoff = Math.min(15_000, backoff * 2);
        continue;
      }
      for (const message of messages) {
        this.stats.received++;
        const work = this.#handle(message, handler).finally(() => this.#inFlight.delete(work));
        this.#inFlight.add(work);
      }
    }
  }

  async #handle(message: Message, handler: (event: ObjectCreatedEvent) => Promise<void>): Promise<void> {
    const receipt = message.ReceiptHandle!;
    const parsed = parseNotification(message.Body ?? '');
    if (parsed.kind === 'invalid') {
      // Never deleted: the redrive policy moves it to the DLQ where a person can look at it.
      this.stats.failed++;
      this.#log.error('unreadable message left for the DLQ', { message_id: message.MessageId, reason: parsed.reason });
      return;
    }
    const chunks = parsed.kind === 'test' ? [] : parsed.created.filter((e) => parseChunkKey(e.key) !== undefined);
    if (chunks.length === 0) {
      this.stats.ignored++;
      await this.#delete(receipt);
      return;
    }
    // Keep the message invisible while its chunks are processing.
    const heartbeat = setInterval(() => {
      this.#sqs
        .send(new ChangeMessageVisibilityCommand({ QueueUrl: this.#opts.queueUrl, ReceiptHandle: receipt, VisibilityTimeout: this.#opts.visibilitySeconds }))
        .catch((error: unknown) => this.#log.warn('visibility extension failed', { error: errorMessage(error) }));
    }, Math.max(1000, (this.#opts.visibilitySeconds * 1000) / 2));
    try {
      await Promise.all(chunks.map((event) => handler(event)));
      await this.#delete(receipt);
    } catch (error) {
      this.stats.failed++;
      this.#log.warn('chunk event not acknowledged; it will be redelivered', { message_id: message.MessageId, error: errorMessage(error) });
    } finally {
      clearInterval(heartbeat);
    }
  }

  async #delete(receipt: string): Promise<void> {
    await this.#sqs.send(new DeleteMessageCommand({ QueueUrl: this.#opts.queueUrl, ReceiptHandle: receipt }));
    this.stats.deleted++;
  }

  /** Stops receiving; handlers still running are abandoned (their messages reappear later). Safe twice. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#abort.abort();
    await this.#loop?.catch(() => {});
  }
}
