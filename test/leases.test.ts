/**
 * Session leases and fencing, the same contract for both stores: DynamoDB (dynalite, the protocol
 * emulator) and the local profile's memory leases with the file store. One owner at a time; a lease
 * is taken over only once expired, and every acquisition bumps the token; a save fenced with an old
 * token is refused and writes nothing.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import t, { type Test } from 'tap';
import { newSessionData, SESSION_RECORD_VERSION, type SessionRecord } from '../actors/types.ts';
import { DynamoSessionStore } from '../server/adapters/aws/dynamo-session-store.ts';
import { MemoryLeases } from '../server/adapters/local/leases.ts';
import { FsSessionStore } from '../server/adapters/local/session-store.ts';
import { LeaseLostError, type SessionLeases, type SessionStore } from '../server/adapters/ports.ts';
import { tempDir } from '../server/test/helpers/server.ts';
import { startAwsEmulators, TABLE } from './helpers/aws.ts';

const record = (id: string, chunks = 0): SessionRecord => {
  const data = newSessionData(id, 'sbs', 1_795_000_000_000, { strength: 0.03, convergence: 0 });
  for (let i = 0; i < chunks; i++) data.chunks[i] = { index: i, status: 'uploaded', attempts: 0, uploadedAt: 1 };
  return { version: SESSION_RECORD_VERSION, ...data, closed: false };
};

async function contract(t: Test, store: SessionStore, leases: SessionLeases): Promise<void> {
  await store.create(record('s1'));
  const a = await leases.acquire('s1', 'node-a', 300);
  t.ok(a, 'node A takes the free lease');
  t.equal(await leases.acquire('s1', 'node-b', 300), null, 'node B cannot while A holds it');
  const again = await leases.acquire('s1', 'node-a', 300);
  t.ok(again && again.token > a!.token, 'A re-acquiring gets a newer token');
  const renewed = await leases.renew(again!, 300);
  t.ok(renewed && renewed.expiresAt >= again!.expiresAt, 'A renews');
  t.equal(await leases.renew(a!, 300), null, 'an older lease of A cannot be renewed');
  await store.save(record('s1', 1), again!.token);
  t.equal(Object.keys((await store.get('s1'))!.chunks).length, 1, 'the owner saves with its token');

  // A pauses past its lease: B takes over.
  await new Promise((r) => setTimeout(r, 350));
  const b = await leases.acquire('s1', 'node-b', 10_000);
  t.ok(b && b.token > again!.token, 'after expiry B takes over with a newer token');
  t.equal(await leases.holder('s1'), 'node-b', 'the holder is B');
  await store.save(record('s1', 2), b!.token);
  await t.rejects(store.save(record('s1', 5), again!.token), LeaseLostError, "A's fenced save is refused");
  t.equal(Object.keys((await store.get('s1'))!.chunks).length, 2, "and did not overwrite B's record");
  t.equal(await leases.renew(again!, 300), null, 'A cannot renew either: it stops acting for the session');
  t.equal(await leases.acquire('s1', 'node-a', 300), null, 'nor take it back while B holds it');
  await leases.release(again!);
  t.equal(await leases.acquire('s1', 'node-c', 300), null, "A's release does not free B's lease");
  await leases.release(b!);
  t.equal(await leases.holder('s1'), null, 'released: no holder');
  t.ok(await leases.acquire('s1', 'node-c', 300), "B's release frees it at once");
}

t.test('DynamoDB: conditional writes on the lease and the fencing token', async (t) => {
  const aws = await startAwsEmulators(t);
  const client = new DynamoDBClient({ region: 'us-east-1', endpoint: aws.env.AWS_ENDPOINT_URL_DYNAMODB!, credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } });
  t.teardown(() => client.destroy());
  const store = new DynamoSessionStore(DynamoDBDocumentClient.from(client), TABLE, 1);
  await contract(t, store, store);
  t.equal(await store.acquire('no-such-session', 'node-a', 300), null, 'no lease on a session that does not exist');
  await store.save(record('s2'));
  t.ok(await store.get('s2'), 'an unfenced save still writes (single node, tools)');
});

t.test('local profile: memory leases fence the file store alike', async (t) => {
  const leases = new MemoryLeases();
  await contract(t, new FsSessionStore(await tempDir(t), leases), leases);
});
