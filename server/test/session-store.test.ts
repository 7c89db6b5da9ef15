/**
 * The local session store lists from memory once it has read its folder: a listing shows every record
 * on disk, in creation order, and every write made since — including one made while the folder was
 * still being read.
 */
import { readdir } from 'node:fs/promises';
import t from 'tap';
import { newSessionData, SESSION_RECORD_VERSION, type SessionRecord } from '../../actors/types.ts';
import { FsSessionStore } from '../adapters/local/session-store.ts';
import { tempDir } from '../../testkit/server.ts';

const record = (id: string, createdAt: number, chunks = 0): SessionRecord => {
  const data = newSessionData(id, 'sbs', createdAt, { strength: 0.03, convergence: 0 });
  for (let i = 0; i < chunks; i++) data.chunks[i] = { index: i, status: 'uploaded', attempts: 0, uploadedAt: createdAt };
  return { version: SESSION_RECORD_VERSION, ...data, closed: false };
};

t.test('a listing holds what is on disk and every write since', async (t) => {
  const dir = await tempDir(t);
  const writer = new FsSessionStore(dir);
  for (let i = 0; i < 200; i++) await writer.create(record(`s${String(i).padStart(3, '0')}`, 1_000 + ((i * 37) % 200)));

  // A new store (a restarted server) reads the folder on its first listing.
  const store = new FsSessionStore(dir);
  const listing = store.list();
  // Written while the folder is being read: the listing and every later one show this version.
  await store.save(record('s007', 1_000 + ((7 * 37) % 200), 3));
  const first = await listing;
  t.equal(first.length, 200);
  t.same(
    first.map((r) => r.createdAt),
    [...first.map((r) => r.createdAt)].sort((a, b) => a - b),
    'oldest first',
  );
  const later = await store.list();
  t.equal(Object.keys(later.find((r) => r.sessionId === 's007')!.chunks).length, 3, 'the write made during the read is kept');

  await store.create(record('new', 5_000));
  await store.save(record('s010', 1_000 + ((10 * 37) % 200), 1));
  const now = await store.list();
  t.equal(now.length, 201);
  t.equal(now.at(-1)!.sessionId, 'new', 'a created session is listed at once');
  t.equal(Object.keys(now.find((r) => r.sessionId === 's010')!.chunks).length, 1, 'a saved record is listed as saved');
  t.equal((await readdir(dir)).filter((f) => f.endsWith('.json')).length, 201, 'and all of it is on disk');
  t.same(await new FsSessionStore(dir).list(), now, 'a fresh store reading the folder agrees');
});

t.test('an empty or missing folder lists nothing', async (t) => {
  t.same(await new FsSessionStore(`${await tempDir(t)}/none`).list(), []);
});
