import t from 'tap';
import { PLAYLIST_VERSION, renderPlaylist, targetDuration } from '../playlist.ts';
import { timeline } from '../timeline.ts';
import type { ChunkRecord } from '../types.ts';

const ORIGIN = Date.UTC(2026, 0, 1, 12, 0, 0);
const INIT = '0123456789abcdef';
const ready = (index: number, over: Partial<ChunkRecord> = {}): ChunkRecord => ({
  index,
  status: 'ready',
  attempts: 1,
  uploadedAt: 0,
  duration: 2,
  start: index * 2,
  init: INIT,
  codecs: 'avc1.42C01E',
  origin: ORIGIN,
  ...over,
});
const failed = (index: number): ChunkRecord => ({ index, status: 'failed', attempts: 3, uploadedAt: 0, error: 'x' });
const processing = (index: number): ChunkRecord => ({ index, status: 'processing', attempts: 1, uploadedAt: 0 });
const map = (...chunks: ChunkRecord[]) => Object.fromEntries(chunks.map((c) => [c.index, c]));
const render = (chunks: ChunkRecord[], closed = false, chunkSeconds = 2) =>
  renderPlaylist({ chunks: map(...chunks), closed, chunkSeconds, segmentUri: (i) => `seg_${i}.m4s`, initUri: (id) => `init_${id}.mp4` });

/** The lines that say what is listed (segments, gaps, maps, discontinuities, the end). */
function listing(text: string): string[] {
  return text.split('\n').filter((l) => /^(seg_|#EXT-X-GAP|#EXT-X-ENDLIST|#EXT-X-MAP|#EXT-X-DISCONTINUITY)/.test(l));
}

const cases: Array<{ name: string; chunks: ChunkRecord[]; closed: boolean; want: string[] }> = [
  { name: 'an empty live session lists nothing', chunks: [], closed: false, want: [] },
  { name: 'an empty ended session is closed', chunks: [], closed: true, want: ['#EXT-X-ENDLIST'] },
  {
    name: 'ready segments are listed in order, after their init segment',
    chunks: [ready(1), ready(0)],
    closed: false,
    want: [`#EXT-X-MAP:URI="init_${INIT}.mp4"`, 'seg_0.m4s', 'seg_1.m4s'],
  },
  {
    name: 'a segment waits behind a lower index that is still processing',
    chunks: [ready(0), processing(1), ready(2)],
    closed: false,
    want: [`#EXT-X-MAP:URI="init_${INIT}.mp4"`, 'seg_0.m4s'],
  },
  { name: 'a missing lower index holds back everything above it', chunks: [ready(1), ready(2)], closed: false, want: [] },
  {
    name: 'a failed chunk becomes a gap and later segments follow',
    chunks: [ready(0), failed(1), ready(2)],
    closed: true,
    want: [`#EXT-X-MAP:URI="init_${INIT}.mp4"`, 'seg_0.m4s', '#EXT-X-GAP', 'seg_1.m4s', 'seg_2.m4s', '#EXT-X-ENDLIST'],
  },
  {
    name: 'a new init segment is mapped where the format changes, with a discontinuity',
    chunks: [ready(0), ready(1, { init: 'fedcba9876543210' })],
    closed: false,
    want: [
      `#EXT-X-MAP:URI="init_${INIT}.mp4"`,
      'seg_0.m4s',
      '#EXT-X-DISCONTINUITY',
      '#EXT-X-MAP:URI="init_fedcba9876543210.mp4"',
      'seg_1.m4s',
    ],
  },
  {
    name: 'a restarted recorder (new origin, timestamps from zero) is a discontinuity',
    chunks: [ready(0), ready(1), ready(2, { start: 0, origin: ORIGIN + 60_000 })],
    closed: false,
    want: [`#EXT-X-MAP:URI="init_${INIT}.mp4"`, 'seg_0.m4s', 'seg_1.m4s', '#EXT-X-DISCONTINUITY', 'seg_2.m4s'],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const text = render(c.chunks, c.closed);
    t.same(listing(text), c.want);
    t.match(text, /^#EXTM3U\n/);
    t.match(text, new RegExp(`#EXT-X-VERSION:${PLAYLIST_VERSION}\\n`));
    t.match(text, /#EXT-X-PLAYLIST-TYPE:EVENT\n/);
    t.match(text, /#EXT-X-MEDIA-SEQUENCE:0\n/);
    t.match(text, /#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n/, 'blocking reload is advertised');
  });
}

t.test('the version covers every tag used: MAP (6) and GAP (8)', async (t) => {
  t.ok(PLAYLIST_VERSION >= 8);
});

t.test('EXTINF carries the measured duration with millisecond precision', async (t) => {
  t.match(render([ready(0, { duration: 2.033 })]), /#EXTINF:2\.033,\nseg_0\.m4s\n/);
});

t.test('PROGRAM-DATE-TIME is the capture time of each segment: origin + start', async (t) => {
  const text = render([ready(0, { start: 0.133 }), failed(1), ready(2, { start: 4.133 })]);
  const stamps = [...text.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(.+)/g)].map((m) => m[1]);
  t.same(stamps, ['2026-01-01T12:00:00.133Z', '2026-01-01T12:00:04.133Z']);
});

t.test('after a restarted recorder the date is the new capture time, not a repeat of the first', async (t) => {
  const restart = ORIGIN + 90_000;
  const text = render([ready(0), ready(1), ready(2, { start: 0.1, origin: restart })]);
  const stamps = [...text.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(.+)/g)].map((m) => m[1]);
  t.same(stamps, ['2026-01-01T12:00:00.000Z', '2026-01-01T12:00:02.000Z', '2026-01-01T12:01:30.100Z']);
});

t.test('chunks without an origin are dated from their arrival, and keep that timeline', async (t) => {
  const arrived = ORIGIN + 5_000; // chunk 0 (0…2 s) arrived 5 s after ORIGIN: captured from 3 s after it
  const entries = timeline(
    map(ready(0, { origin: undefined, uploadedAt: arrived }), ready(1, { origin: undefined, uploadedAt: arrived + 9_999 })),
    2,
  );
  t.same(
    entries.map((e) => e.capturedAt),
    [ORIGIN + 3_000, ORIGIN + 5_000],
    'the second continues the first',
  );
  t.same(
    entries.map((e) => e.discontinuity),
    [false, false],
  );
});

t.test('timestamps continuing across a gap are not a discontinuity; a jump is', async (t) => {
  const across = timeline(map(ready(0), failed(1), ready(2)), 2);
  t.same(
    across.map((e) => [e.gap, e.discontinuity, e.start]),
    [
      [false, false, 0],
      [true, false, 2],
      [false, false, 4],
    ],
  );
  const jump = timeline(map(ready(0), ready(1, { start: 7 })), 2);
  t.same(
    jump.map((e) => e.discontinuity),
    [false, true],
  );
});

t.test('target duration is the rounded longest segment, never below the chunk length', async (t) => {
  t.equal(targetDuration({}, 2), 2);
  t.equal(targetDuration(map(ready(0, { duration: 2.4 })), 2), 2);
  t.equal(targetDuration(map(ready(0, { duration: 3.6 })), 2), 4);
  t.equal(targetDuration({}, 0.5), 1);
});

t.test('the playlist only grows: each rendering is a prefix of the next', async (t) => {
  const steps: ChunkRecord[][] = [
    [processing(0), ready(1)],
    [ready(0), ready(1), processing(2), ready(3)],
    [ready(0), ready(1), failed(2), ready(3)],
    [ready(0), ready(1), failed(2), ready(3), ready(4, { start: 0, origin: ORIGIN + 1 })],
  ];
  let previous = '';
  for (const chunks of steps) {
    const text = render(chunks);
    t.ok(text.startsWith(previous.replace(/\n$/, '')), 'previous rendering is a prefix');
    previous = text;
  }
});
