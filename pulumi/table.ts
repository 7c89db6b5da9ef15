/** The `stream_sessions` table: `session_id` hash key, on demand, TTL on `ttl`. */
import * as aws from '@pulumi/aws';
import type { Settings } from './settings.ts';

export function createTable(s: Settings): aws.dynamodb.Table {
  return new aws.dynamodb.Table(`${s.name}-stream-sessions`, {
    billingMode: 'PAY_PER_REQUEST',
    hashKey: 'session_id',
    attributes: [{ name: 'session_id', type: 'S' }],
    ttl: { attributeName: 'ttl', enabled: true },
    pointInTimeRecovery: { enabled: true },
    serverSideEncryption: { enabled: true },
  });
}
