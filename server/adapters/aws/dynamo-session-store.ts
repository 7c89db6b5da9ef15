/**
 * The AWS profile's session store: DynamoDB, key `session_id`, with the original's attributes
 * (`created_at`, `mode`, `ended_at`, `ttl`) plus the actor's record, gzip-compressed so that long
 * streams stay far below the 400 KB item limit. Create is conditional; saves replace.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetCommand, PutCommand, ScanCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESSION_RECORD_VERSION, type SessionRecord } from '../../../actors/types.ts';
import { SessionExistsError, type SessionStore } from '../ports.ts';

interface Item {
  session_id: string;
  created_at: string;
  mode: string;
  ended_at: string | null;
  ttl: number;
  closed: boolean;
  record: Uint8Array;
}

export class DynamoSessionStore implements SessionStore {
  constructor(
    private readonly db: DynamoDBDocumentClient,
    private readonly table: string,
    private readonly ttlDays: number,
  ) {}

  #item(record: SessionRecord): Item {
    return {
      session_id: record.sessionId,
      created_at: new Date(record.createdAt).toISOString(),
      mode: record.mode,
      ended_at: record.endedAt === null ? null : new Date(record.endedAt).toISOString(),
      ttl: Math.floor(Date.now() / 1000) + this.ttlDays * 86_400,
      closed: record.closed,
      record: gzipSync(JSON.stringify(record)),
    };
  }

  #record(item: Record<string, unknown>): SessionRecord {
    const raw = item.record;
    const bytes = raw instanceof Uint8Array ? raw : Buffer.from(raw as ArrayBuffer);
    const record = JSON.parse(gunzipSync(bytes).toString('utf8')) as SessionRecord;
    if (record.version !== SESSION_RECORD_VERSION) throw new Error(`session ${record.sessionId}: unsupported record version`);
    return record;
  }

  async create(record: SessionRecord): Promise<void> {
    try {
      await this.db.send(new PutCommand({
        TableName: this.table,
        Item: this.#item(record),
        ConditionExpression: 'attribute_not_exists(session_id)',
      }));
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
        throw new SessionExistsError(`session ${record.sessionId} exists`);
      }
      throw error;
    }
  }

  async save(record: SessionRecord): Promise<void> {
    await this.db.send(new PutCommand({ TableName: this.table, Item: this.#item(record) }));
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    const out = await this.db.send(new GetCommand({ TableName: this.table, Key: { session_id: sessionId }, ConsistentRead: true }));
    return out.Item ? this.#record(out.Item) : undefined;
  }

  async list(): Promise<SessionRecord[]> {
    const records: SessionRecord[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.db.send(new ScanCommand({ TableName: this.table, ExclusiveStartKey: start, ConsistentRead: true }));
      for (const item of page.Items ?? []) records.push(this.#record(item));
      start = page.LastEvaluatedKey;
    } while (start);
    return records.sort((a, b) => a.createdAt - b.createdAt);
  }

  async close(): Promise<void> {}
}
