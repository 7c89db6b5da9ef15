import t from 'tap';
import { allSettled, expectedLength, listedCount, planDispatch, retryDelay } from '../chunks.ts';
import type { ChunkRecord, ChunkStatus } from '../types.ts';

const chunk = (index: number, status: ChunkStatus, extra: Partial<ChunkRecord> = {}): ChunkRecord => ({
  index,
  status,
  attempts: 0,
  uploadedAt: 0,
  ...extra,
});
const map = (...chunks: ChunkRecord[]) => Object.fromEntries(chunks.map((c) => [c.index, c]));

t.test('listedCount counts the settled prefix', async (t) => {
  t.equal(listedCount({}), 0);
  t.equal(listedCount(map(chunk(0, 'ready'), chunk(1, 'failed'), chunk(2, 'processing'), chunk(3, 'ready'))), 2);
  t.equal(listedCount(map(chunk(1, 'ready'))), 0);
});

t.test('allSettled waits for holes and for the announced count', async (t) => {
  t.ok(allSettled({}, null));
  t.notOk(allSettled({}, 2));
  t.notOk(allSettled(map(chunk(0, 'ready'), chunk(2, 'ready')), null), 'index 1 is a hole');
  t.ok(allSettled(map(chunk(0, 'ready'), chunk(1, 'failed')), 2));
  t.equal(expectedLength(map(chunk(4, 'ready')), 2), 5);
});

t.test('planDispatch starts the lowest waiting indices up to the in-flight limit', async (t) => {
  const chunks = map(
    chunk(0, 'processing'),
    chunk(1, 'queued', { retryPending: true }),
    chunk(2, 'uploaded'),
    chunk(3, 'queued'),
    chunk(4, 'uploaded'),
  );
  t.same(planDispatch(chunks, 3), [2, 3]);
  t.same(planDispatch(chunks, 1), []);
});

t.test('retryDelay doubles and is capped', async (t) => {
  t.same(
    [1, 2, 3].map((a) => retryDelay(100, a)),
    [100, 200, 400],
  );
  t.equal(retryDelay(10_000, 10), 30_000);
});
