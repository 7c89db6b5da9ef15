import t, { type Test } from 'tap';
import { fromCallback } from 'xstate';
import { SessionRegistry, toRecord } from '../registry.ts';
import { renderPlaylist } from '../playlist.ts';
import { announceLimit, listedCount, UNSEEN_MARGIN } from '../chunks.ts';
import { sessionMachine, type ProcessChunkInput, type ProcessResult, type SessionEvent } from '../session-machine.ts';
import type { SessionChange, SessionView } from '../changes.ts';
import type { SessionConfig, SessionRecord } from '../types.ts';
import { changeProblem, recordProblem } from '../validate.ts';

const config: SessionConfig = {
  maxAttempts: 3,
  maxInFlight: 2,
  retryDelayMs: 5,
  idleMs: 60_000,
  settleTimeoutMs: 60_000,
  chunkSeconds: 2,
};

const ok = (index: number): ProcessResult => ({
  ok: true,
  duration: 2,
  start: index * 2,
  segmentBytes: 100,
  init: '0123456789abcdef',
  codecs: 'avc1.42C01E',
  origin: 1_000_000,
  timings: { decode: 1, depth: 1, stereo: 1, encode: 1, total: 4 },
});

/** A session harness whose processing step is controlled by the test. */
function harness(t: Test, opts: { config?: Partial<SessionConfig>; restored?: SessionRecord } = {}) {
  const calls: ProcessChunkInput[] = [];
  const pending = new Map<string, (result: ProcessResult) => void>();
  const changes: SessionChange[] = [];
  let auto: ((input: ProcessChunkInput) => ProcessResult | undefined) | undefined;
  const logic = sessionMachine.provide({
    actors: {
      processChunk: fromCallback<{ type: 'noop' }, ProcessChunkInput>(({ sendBack, input }) => {
        calls.push(input);
        const finish = (result: ProcessResult) =>
          sendBack({ type: 'CHUNK_PROCESSED', index: input.index, attempt: input.attempt, result } satisfies SessionEvent);
        const now = auto?.(input);
        if (now) queueMicrotask(() => finish(now));
        else pending.set(`${input.index}/${input.attempt}`, finish);
      }),
    },
  });
  const registry = new SessionRegistry(logic, {
    onChange: (_id, c) => changes.push(...c),
    onError: (_id, e) => t.fail(String(e)),
  });
  t.teardown(() => registry.close());
  registry.start({
    sessionId: 's1',
    mode: 'sbs',
    settings: { strength: 0.03, convergence: 0 },
    config: { ...config, ...opts.config },
    ...(opts.restored ? { restored: opts.restored } : {}),
  });
  const h = {
    calls,
    changes,
    registry,
    view: () => registry.view('s1') as SessionView,
    send: (e: SessionEvent) => registry.send('s1', e),
    upload: (index: number) => registry.send('s1', { type: 'CHUNK_UPLOADED', index, source: 'queue' }),
    finish(index: number, attempt: number, result: ProcessResult) {
      const f = pending.get(`${index}/${attempt}`);
      if (!f) throw new Error(`no pending attempt ${index}/${attempt}`);
      pending.delete(`${index}/${attempt}`);
      f(result);
    },
    setAuto(fn: typeof auto) {
      auto = fn;
    },
    playlist: () =>
      renderPlaylist({
        chunks: h.view().context.chunks,
        closed: h.view().phase === 'ended',
        chunkSeconds: 2,
        segmentUri: (i) => `seg_${i}`,
        initUri: (id) => `init_${id}`,
      }),
    async until(cond: () => boolean, what: string, ms = 2000) {
      const deadline = Date.now() + ms;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 2));
      }
    },
  };
  return h;
}

const listed = (text: string) =>
  text.split('\n').filter((l) => l.startsWith('seg_') || l.startsWith('#EXT-X-GAP') || l === '#EXT-X-ENDLIST');

t.test('chunks finishing out of order never reorder the playlist', async (t) => {
  const h = harness(t);
  h.upload(0);
  h.upload(1);
  t.same(
    h.calls.map((c) => c.index),
    [0, 1],
    'two in flight',
  );
  h.finish(1, 1, ok(1));
  t.same(listed(h.playlist()), [], 'segment 1 waits for segment 0');
  t.equal(h.view().context.chunks[1]!.status, 'ready');
  h.finish(0, 1, ok(0));
  t.same(listed(h.playlist()), ['seg_0', 'seg_1']);
});

t.test('the in-flight limit holds and the lowest waiting index goes next', async (t) => {
  const h = harness(t);
  for (const i of [3, 0, 2, 1]) h.upload(i);
  t.same(
    h.calls.map((c) => c.index),
    [3, 0],
  );
  t.equal(h.view().context.chunks[2]!.status, 'queued');
  h.finish(3, 1, ok(3));
  t.same(
    h.calls.map((c) => c.index),
    [3, 0, 1],
  );
});

t.test('a duplicate announcement is processed once', async (t) => {
  const h = harness(t);
  h.upload(0);
  h.send({ type: 'CHUNK_UPLOADED', index: 0, source: 'socket' });
  h.finish(0, 1, ok(0));
  h.upload(0);
  t.equal(h.calls.length, 1);
  t.equal(h.view().context.chunks[0]!.attempts, 1);
});

t.test('a failing chunk is retried, then becomes a gap while later chunks still play', async (t) => {
  const h = harness(t);
  h.setAuto((input) => (input.index === 1 ? { ok: false, error: 'decode failed' } : ok(input.index)));
  h.upload(0);
  h.upload(1);
  h.upload(2);
  await h.until(() => h.view().context.chunks[1]?.status === 'failed', 'chunk 1 to fail');
  t.equal(h.calls.filter((c) => c.index === 1).length, 3, 'three attempts');
  t.equal(h.view().context.chunks[1]!.error, 'decode failed');
  h.send({ type: 'END' });
  await h.until(() => h.view().phase === 'ended', 'ended');
  t.same(listed(h.playlist()), ['seg_0', '#EXT-X-GAP', 'seg_1', 'seg_2', '#EXT-X-ENDLIST']);
});

t.test('ENDLIST waits for every announced chunk to settle', async (t) => {
  const h = harness(t);
  h.upload(0);
  h.send({ type: 'END', expectedChunks: 2 });
  t.equal(h.view().phase, 'ending');
  h.finish(0, 1, ok(0));
  t.equal(h.view().phase, 'ending', 'chunk 1 was announced by the end request');
  h.upload(1);
  h.finish(1, 1, ok(1));
  t.equal(h.view().phase, 'ended');
  t.same(listed(h.playlist()), ['seg_0', 'seg_1', '#EXT-X-ENDLIST']);
  const ended = h.changes.filter((c) => c.kind === 'ended');
  t.same(ended, [{ kind: 'ended', reason: 'requested', ready: 2, failed: 0 }]);
});

t.test('after the settle timeout, unsettled and missing chunks become gaps', async (t) => {
  const h = harness(t, { config: { settleTimeoutMs: 30 } });
  h.upload(0);
  h.upload(2);
  h.finish(2, 1, ok(2));
  h.send({ type: 'END' });
  await h.until(() => h.view().phase === 'ended', 'ended');
  t.same(listed(h.playlist()), ['#EXT-X-GAP', 'seg_0', '#EXT-X-GAP', 'seg_1', 'seg_2', '#EXT-X-ENDLIST']);
});

t.test('a session with no chunk for the idle time ends itself', async (t) => {
  const h = harness(t, { config: { idleMs: 30 } });
  await h.until(() => h.view().phase === 'ended', 'ended');
  t.equal(h.view().context.endReason, 'idle');
});

t.test('a rejected upload settles as a gap at once', async (t) => {
  const h = harness(t);
  h.send({ type: 'CHUNK_REJECTED', index: 0, reason: 'not an MP4 file' });
  t.equal(h.view().context.chunks[0]!.status, 'failed');
  t.equal(h.calls.length, 0);
});

t.test('a ready chunk keeps what the playlist needs: init, codecs, origin, timing', async (t) => {
  const h = harness(t);
  h.upload(0);
  h.finish(0, 1, ok(0));
  t.match(h.view().context.chunks[0], {
    status: 'ready',
    init: '0123456789abcdef',
    codecs: 'avc1.42C01E',
    origin: 1_000_000,
    start: 0,
    duration: 2,
  });
});

t.test('a restored session restarts the work that was in flight and keeps what settled', async (t) => {
  const first = harness(t);
  first.upload(0);
  first.upload(1);
  first.finish(0, 1, ok(0));
  first.send({ type: 'END', expectedChunks: 2 });
  const record = toRecord(first.view());
  first.registry.close();
  const h = harness(t, { restored: JSON.parse(JSON.stringify(record)) });
  t.equal(h.view().phase, 'ending');
  t.same(
    h.calls.map((c) => [c.index, c.attempt]),
    [[1, 2]],
    'chunk 1 restarts as attempt 2',
  );
  h.finish(1, 2, ok(1));
  t.equal(h.view().phase, 'ended');
});

t.test('stereo settings apply to chunks dispatched after the change, are reported and persisted', async (t) => {
  const h = harness(t, { config: { maxInFlight: 1 } });
  h.upload(0);
  h.upload(1);
  t.same(h.calls[0]!.settings, { strength: 0.03, convergence: 0 }, 'chunk 0 starts with the creation settings');
  h.send({ type: 'SET_SETTINGS', settings: { strength: 0.06 } });
  t.same(
    h.changes.filter((c) => c.kind === 'settings').map((c) => c.kind === 'settings' && c.settings),
    [{ strength: 0.06, convergence: 0 }],
  );
  h.finish(0, 1, ok(0));
  t.same(h.calls[1]!.settings, { strength: 0.06, convergence: 0 }, 'chunk 1 (dispatched later) uses the new strength');
  h.send({ type: 'SET_SETTINGS', settings: { convergence: 0.5 } });
  t.same(toRecord(h.view()).settings, { strength: 0.06, convergence: 0.5 }, 'the record carries the settings');
  const before = h.changes.length;
  h.send({ type: 'SET_SETTINGS', settings: { convergence: 0.5 } });
  t.equal(h.changes.length, before, 'setting the same value again changes nothing');
});

t.test('a record from before settings existed resumes with the defaults', async (t) => {
  const base = harness(t);
  const { settings: _settings, ...old } = toRecord(base.view());
  const h = harness(t, { restored: { ...old, sessionId: 's1' } as SessionRecord });
  t.same(h.view().context.settings, { strength: 0.03, convergence: 0 });
});

t.test('an ending announces at most the chunks seen plus a margin, whatever its sender claims', async (t) => {
  const h = harness(t, { config: { settleTimeoutMs: 20 } });
  h.setAuto((input) => ok(input.index));
  h.upload(0);
  h.upload(1);
  // A bus message (or any caller past the HTTP check) naming 300 000 chunks: bounded here too.
  h.send({ type: 'END', expectedChunks: 300_000 });
  t.equal(h.view().context.expectedChunks, 2 + UNSEEN_MARGIN, 'two seen plus the margin');
  await h.until(() => h.view().phase === 'ended', 'ended after the settle timeout');
  t.equal(
    listedCount(h.view().context.chunks),
    2 + UNSEEN_MARGIN,
    'so the closed playlist lists two segments and at most the margin in gaps',
  );
});

t.test('announceLimit: what was seen plus the margin, and no more than the session is old', async (t) => {
  const chunks = {
    0: { index: 0, status: 'ready', attempts: 1, uploadedAt: 0 },
    4: { index: 4, status: 'ready', attempts: 1, uploadedAt: 0 },
  } as const;
  t.equal(announceLimit(chunks, 0, 1_000_000, 2), 5 + UNSEEN_MARGIN, 'an old session: five seen (0…4) plus the margin');
  t.equal(announceLimit(chunks, 0, 4_000, 2), 5 + 4, 'a 4-s session at 2-s chunks: two more chunks of age, plus two');
  t.equal(announceLimit({}, 0, 0, 2), 2, 'a new session with nothing seen');
});

t.test('rotating the control token raises the generation and announces it', async (t) => {
  const h = harness(t);
  t.equal(h.view().context.controlGeneration, 0);
  h.send({ type: 'ROTATE_CONTROL' });
  h.send({ type: 'ROTATE_CONTROL' });
  t.equal(h.view().context.controlGeneration, 2);
  t.same(
    h.changes.filter((c) => c.kind === 'control'),
    [
      { kind: 'control', generation: 1 },
      { kind: 'control', generation: 2 },
    ],
  );
  t.equal(toRecord(h.view()).controlGeneration, 2, 'kept in the record');
});

t.test('the live path: noted and announced, kept in the record, forgotten on restore, checked when it comes from outside', async (t) => {
  const h = harness(t);
  t.equal(h.view().context.live, undefined, 'none at first');
  h.send({ type: 'LIVE_CHANGED', live: { publishing: true, viewers: 0 } });
  h.send({ type: 'LIVE_CHANGED', live: { publishing: true, viewers: 0 } });
  h.send({ type: 'LIVE_CHANGED', live: { publishing: true, viewers: 3 } });
  t.same(
    h.changes.filter((c) => c.kind === 'live'),
    [
      { kind: 'live', live: { publishing: true, viewers: 0 } },
      { kind: 'live', live: { publishing: true, viewers: 3 } },
    ],
    'each change once',
  );
  const record = toRecord(h.view());
  t.same(record.live, { publishing: true, viewers: 3 }, 'in the record (other nodes see it)');
  t.equal(recordProblem(record), null);
  t.match(recordProblem({ ...record, live: { publishing: 'yes', viewers: 3 } }), /record\.live\.publishing/);
  t.match(recordProblem({ ...record, live: { publishing: true, viewers: -1 } }), /record\.live\.viewers/);
  t.match(changeProblem({ kind: 'live', live: { publishing: true, viewers: 1e9 } }), /live\.viewers/);
  const restored = harness(t, { restored: record });
  t.equal(restored.view().context.live, undefined, 'a restored session starts without it: the live path died with its node');
});
