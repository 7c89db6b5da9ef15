/**
 * The AWS profile's session store: DynamoDB, key `session_id`, with the original's attributes
 * (`created_at`, `mode`, `ended_at`, `ttl`) plus the actor's record, gzip-compressed so that long
 * streams stay far below the 400 KB item limit. Create is conditional.
 *
 * It also holds each session's lease (`lease_owner`, `lease_expires` ms, `lease_token`) in the same
 * item: taking it is one conditional update (free, expired, or ours), and it bumps the token; a
 * fenced save is an update conditional on the token, so a node that lost the session (paused past its
 * lease, then resumed) can never overwrite what the new owner wrote. Saves update the record's
 * attributes and leave the lease's alone.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { GetCommand, PutCommand, ScanCommand, UpdateCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { SESSION_RECORD_VERSION, type SessionRecord } from '../../../actors/types.ts';
import { LeaseLostError, SessionExistsError, type Lease, type SessionLeases, type SessionStore } from '../ports.ts';

const isConditionFailure = (error: unknown) => (error as { name?: string }).name === 'ConditionalCheckFailedException';

interface Item {
  session_id: string;
  created_at: string;
  mode: string;
  ended_at: string | null;
  ttl: number;
  closed: boolean;
  record: Uint8Array;
}

export class DynamoSessionStore implements SessionStore, SessionLeases {
  readonly shared = true;

  private readonly db: DynamoDBDocumentClient;
  private readonly table: string;
  private readonly ttlDays: number;

  constructor(db: DynamoDBDocumentClient, table: string, ttlDays: number) {
    this.db = db;
    this.table = table;
    this.ttlDays = ttlDays;
  }

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
      await this.db.send(
        new PutCommand({
          TableName: this.table,
          Item: this.#item(record),
          ConditionExpression: 'attribute_not_exists(session_id)',
        }),
      );
    } catch (error) {
      if ((error as { name?: string }).name === 'ConditionalCheckFailedException') {
        throw new SessionExistsError(`session ${record.sessionId} exists`);
      }
      throw error;
    }
  }

  async save(record: SessionRecord, fence?: number): Promise<void> {
    const { session_id: _key, ...fields } = this.#item(record);
    const names: Record<string, string> = {};
    const values: Record<string, unknown> = {};
    const sets = Object.entries(fields).map(([name, value], i) => {
      names[`#f${i}`] = name;
      values[`:f${i}`] = value;
      return `#f${i} = :f${i}`;
    });
    if (fence !== undefined) values[':fence'] = fence;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { session_id: record.sessionId },
          UpdateExpression: `SET ${sets.join(', ')}`,
          ConditionExpression: fence === undefined ? undefined : 'lease_token = :fence',
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
        }),
      );
    } catch (error) {
      if (fence !== undefined && isConditionFailure(error)) {
        throw new LeaseLostError(`session ${record.sessionId}: lease ${fence} is no longer the newest; the record was not written`);
      }
      throw error;
    }
  }

  async acquire(sessionId: string, owner: string, ttlMs: number): Promise<Lease | null> {
    const now = Date.now();
    try {
      const out = await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { session_id: sessionId },
          UpdateExpression: 'SET lease_owner = :me, lease_expires = :expires ADD lease_token :one',
          ConditionExpression:
            'attribute_exists(session_id) AND (attribute_not_exists(lease_owner) OR lease_expires < :now OR lease_owner = :me)',
          ExpressionAttributeValues: { ':me': owner, ':expires': now + ttlMs, ':now': now, ':one': 1 },
          ReturnValues: 'UPDATED_NEW',
        }),
      );
      return { sessionId, owner, token: Number(out.Attributes?.lease_token), expiresAt: now + ttlMs };
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  async renew(lease: Lease, ttlMs: number): Promise<Lease | null> {
    const expiresAt = Date.now() + ttlMs;
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { session_id: lease.sessionId },
          UpdateExpression: 'SET lease_expires = :expires',
          ConditionExpression: 'lease_owner = :me AND lease_token = :token',
          ExpressionAttributeValues: { ':me': lease.owner, ':token': lease.token, ':expires': expiresAt },
        }),
      );
      return { ...lease, expiresAt };
    } catch (error) {
      if (isConditionFailure(error)) return null;
      throw error;
    }
  }

  async holder(sessionId: string): Promise<string | null> {
    const out = await this.db.send(
      new GetCommand({
        TableName: this.table,
        Key: { session_id: sessionId },
        ProjectionExpression: 'lease_owner, lease_expires',
        ConsistentRead: true,
      }),
    );
    const owner = out.Item?.lease_owner as string | undefined;
    return owner !== undefined && Number(out.Item?.lease_expires) >= Date.now() ? owner : null;
  }

  async release(lease: Lease): Promise<void> {
    try {
      await this.db.send(
        new UpdateCommand({
          TableName: this.table,
          Key: { session_id: lease.sessionId },
          UpdateExpression: 'SET lease_expires = :past',
          ConditionExpression: 'lease_owner = :me AND lease_token = :token',
          ExpressionAttributeValues: { ':me': lease.owner, ':token': lease.token, ':past': 0 },
        }),
      );
    } catch (error) {
      if (!isConditionFailure(error)) throw error; // already someone else's: nothing to give up
    }
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
