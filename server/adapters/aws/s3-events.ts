/**
 * Parsing S3 event notifications as they arrive on SQS. Pure: table-tested.
 * Keys arrive URL-encoded (spaces as `+`), as real S3 sends them.
 */
import type { ObjectCreatedEvent } from '../ports.ts';

export type ParsedNotification =
  | { kind: 'test' }
  | { kind: 'records'; created: ObjectCreatedEvent[]; ignored: number }
  | { kind: 'invalid'; reason: string };

interface S3Record {
  eventName?: unknown;
  s3?: { object?: { key?: unknown; size?: unknown } };
}

/** Decodes an S3 notification key: `+` is a space, then percent-decoding. */
export function decodeS3Key(raw: string): string {
  return decodeURIComponent(raw.replace(/\+/g, ' '));
}

export function parseNotification(body: string): ParsedNotification {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { kind: 'invalid', reason: 'body is not JSON' };
  }
  if (value === null || typeof value !== 'object') return { kind: 'invalid', reason: 'body is not an object' };
  const v = value as { Event?: unknown; Records?: unknown };
  if (v.Event === 's3:TestEvent') return { kind: 'test' };
  if (!Array.isArray(v.Records)) return { kind: 'invalid', reason: 'no Records array' };
  const created: ObjectCreatedEvent[] = [];
  let ignored = 0;
  for (const r of v.Records as S3Record[]) {
    const key = r?.s3?.object?.key;
    if (typeof r?.eventName !== 'string' || !r.eventName.startsWith('ObjectCreated:') || typeof key !== 'string') {
      ignored++;
      continue;
    }
    let decoded: string;
    try {
      decoded = decodeS3Key(key);
    } catch {
      ignored++;
      continue;
    }
    created.push({ key: decoded, size: typeof r.s3?.object?.size === 'number' ? r.s3.object.size : 0 });
  }
  return { kind: 'records', created, ignored };
}
