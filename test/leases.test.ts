/**
 * Session leases and fencing, the same contract for both stores: DynamoDB (dynalite, the protocol
 * emulator) and the local profile's memory leases with the file store. One owner at a time; a lease
 * is taken over only once expired, and every acquisition bumps the token; a save fenced with an old
 * token is refused and writes nothing.
 */
import { localBus } from '../server/cluster/bus.ts';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import t, { type Test } from 'tap';
import { newSessionData, SESSION_RECORD_VERSION, type SessionRecord } from '../actors/types.ts';
import { DynamoSessionStore } from '../server/adapters/aws/dynamo-session-store.ts';
import { MemoryLeases } from '../server/adapters/local/leases.ts';
import { FsSessionStore } from '../server/adapters/local/session-store.ts';
import { LeaseLostError, type SessionLeases, type SessionStore } from '../server/adapters/ports.ts';
import { createLocalAdapters } from '../server/adapters/local/index.ts';
import { loadConfig } from '../server/config.ts';
import { createLogger, memorySink } from '../server/log.ts';
import { SessionService } from '../server/sessions/index.ts';
import { tempDir } from '../testkit/server.ts';
import { startAwsEmulators, TABLE } from '../testkit/aws.ts';

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
  const client = new DynamoDBClient({
    region: 'us-east-1',
    endpoint: aws.env.AWS_ENDPOINT_URL_DYNAMODB!,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  });
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

t.test('a node that reads a session just before its owner closes it does not revive it', async (t) => {
  // The race: node A reads the record (open), the owner B stores its final record and gives the
  // lease up, then A takes the free lease. Running from what A read first would undo B's final
  // writes with A's newer token; A must read the record again under the lease.
  const dataDir = await tempDir(t);
  const config = loadConfig({ PORT: '0', HOST: '127.0.0.1', DATA_DIR: dataDir, NODE_ID: 'node-a' });
  const log = createLogger('test', memorySink('warn'));
  const adapters = await createLocalAdapters(config, log);
  t.teardown(() => adapters.close());
  const open = record('s-race');
  await adapters.sessions.create(open);
  const lease = await adapters.leases.acquire('s-race', 'node-b', 10_000);
  const final: SessionRecord = {
    ...open,
    closed: true,
    endedAt: 1_795_000_010_000,
    chunks: { 0: { index: 0, status: 'failed', attempts: 3, uploadedAt: 1 } },
  };
  const get = adapters.sessions.get.bind(adapters.sessions);
  let reads = 0;
  adapters.sessions.get = async (id) => {
    const read = await get(id);
    if (++reads === 1) {
      await adapters.sessions.save(final, lease!.token);
      await adapters.leases.release(lease!);
    }
    return read;
  };
  const pool = { run: () => Promise.reject(new Error('nothing is converted here')) };
  const sessions = new SessionService({ config, adapters, pool, poolSize: 1, log, bus: await localBus(config.nodeId, log) });
  t.teardown(() => sessions.close());
  const view = await sessions.find('s-race');
  t.equal(view?.phase, 'ended', 'A shows the closed session, as B left it');
  t.same(view?.context.chunks[0], final.chunks[0], 'with its final chunks');
  t.same(await get('s-race'), final, "B's final record stands");
  t.equal(await adapters.leases.holder('s-race'), null, 'and A does not hold the lease of a closed session');
});
