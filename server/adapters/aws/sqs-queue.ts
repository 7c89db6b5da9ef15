/**
 * The durable event path in the AWS profile: S3 ObjectCreated notifications on SQS.
 * Long polling; at most `maxInFlight` messages handled at once; visibility extended while a message's
 * chunk is still processing; a message is deleted only after its handler resolved (the segment is
 * durably written), and left for redelivery when it rejects, so the redrive policy moves poison
 * messages to the DLQ. Test events and keys that are not chunks are deleted.
 *
 * An event whose session another node runs (`elsewhere`) is given back: a copy is sent (with a
 * give-back count in a message attribute, after a second's delay) and then the original is deleted.
 * Simply not deleting it would count each receive by a non-owner against the redrive policy — with
 * nodes that cannot forward to each other, an event could bounce between non-owners into the DLQ
 * while its owner was alive (the failover test's rare "chunk 0 never converted"). Sending before
 * deleting keeps it at-least-once (a duplicate is deduplicated by the session). After
 * `maxGiveBacks` it is left to ordinary redelivery, so nothing circulates for ever.
 */
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { parseChunkKey } from '../../../protocol/keys.ts';
import { errorMessage, type Logger } from '../../log.ts';
import type { ChunkEventOutcome, ChunkEventQueue, ObjectCreatedEvent } from '../ports.ts';
import { parseNotification } from './s3-events.ts';

export interface SqsQueueOptions {
  queueUrl: string;
  waitSeconds: number;
  visibilitySeconds: number;
  batchSize: number;
  maxInFlight: number;
  /** Times an event may be given back to the queue for another node before ordinary redelivery takes over. */
  maxGiveBacks?: number;
}

/** Message attribute counting how often an event was given back for another node. */
const GIVE_BACKS_ATTRIBUTE = 'stereospot_give_backs';
const DEFAULT_MAX_GIVE_BACKS = 100;

type Handler = (event: ObjectCreatedEvent) => Promise<ChunkEventOutcome>;

export class SqsChunkQueue implements ChunkEventQueue {
  readonly #sqs: SQSClient;
  readonly #opts: SqsQueueOptions;
  readonly #log: Logger;
  readonly #abort = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #loop: Promise<void> | undefined;
  #closed = false;
  /** Counters for tests and metrics. */
  readonly stats = { received: 0, deleted: 0, failed: 0, ignored: 0, givenBack: 0 };

  constructor(sqs: SQSClient, options: SqsQueueOptions, log: Logger) {
    this.#sqs = sqs;
    this.#opts = options;
    this.#log = log;
  }

  start(handler: Handler): void {
    if (this.#loop) throw new Error('SqsChunkQueue already started');
    this.#loop = this.#run(handler);
  }

  async #run(handler: Handler): Promise<void> {
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
            MessageAttributeNames: [GIVE_BACKS_ATTRIBUTE],
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

  async #handle(message: Message, handler: Handler): Promise<void> {
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
    const heartbeat = setInterval(
      () => {
        this.#sqs
          .send(
            new ChangeMessageVisibilityCommand({
              QueueUrl: this.#opts.queueUrl,
              ReceiptHandle: receipt,
              VisibilityTimeout: this.#opts.visibilitySeconds,
            }),
          )
          .catch((error: unknown) => this.#log.warn('visibility extension failed', { error: errorMessage(error) }));
      },
      Math.max(1000, (this.#opts.visibilitySeconds * 1000) / 2),
    );
    try {
      const outcomes = await Promise.all(chunks.map((event) => handler(event)));
      if (outcomes.includes('elsewhere')) await this.#giveBack(message);
      else await this.#delete(receipt);
    } catch (error) {
      this.stats.failed++;
      this.#log.warn('chunk event not acknowledged; it will be redelivered', { message_id: message.MessageId, error: errorMessage(error) });
    } finally {
      clearInterval(heartbeat);
    }
  }

  /** Sends a copy for another node to receive, then deletes this one (see the header); throws to leave it for redelivery. */
  async #giveBack(message: Message): Promise<void> {
    const count = Number(message.MessageAttributes?.[GIVE_BACKS_ATTRIBUTE]?.StringValue ?? 0);
    const max = this.#opts.maxGiveBacks ?? DEFAULT_MAX_GIVE_BACKS;
    if (!Number.isSafeInteger(count) || count < 0 || count >= max) {
      throw new Error(`its session runs on another node, and it was given back ${max} times already`);
    }
    await this.#sqs.send(
      new SendMessageCommand({
        QueueUrl: this.#opts.queueUrl,
        MessageBody: message.Body ?? '',
        DelaySeconds: 1,
        MessageAttributes: { [GIVE_BACKS_ATTRIBUTE]: { DataType: 'Number', StringValue: String(count + 1) } },
      }),
    );
    this.stats.givenBack++;
    await this.#delete(message.ReceiptHandle!);
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
