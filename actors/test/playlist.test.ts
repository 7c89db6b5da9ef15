import t from 'tap';
import { renderPlaylist, targetDuration } from '../playlist.ts';
import type { ChunkRecord } from '../types.ts';

const ready = (index: number, duration = 2, start = index * 2): ChunkRecord => ({
  index, status: 'ready', attempts: 1, uploadedAt: 0, duration, start,
});
const failed = (index: number): ChunkRecord => ({ index, status: 'failed', attempts: 3, uploadedAt: 0, error: 'x' });
const processing = (index: number): ChunkRecord => ({ index, status: 'processing', attempts: 1, uploadedAt: 0 });
const map = (...chunks: ChunkRecord[]) => Object.fromEntries(chunks.map((c) => [c.index, c]));
const uri = (i: number) => `seg_${i}.ts`;

function entries(text: string): string[] {
  return text.split('\n').filter((l) => l.startsWith('seg_') || l === '#EXT-X-GAP' || l === '#EXT-X-ENDLIST');
}

const cases: Array<{ name: string; chunks: ChunkRecord[]; closed: boolean; want: string[] }> = [
  { name: 'an empty live session lists nothing', chunks: [], closed: false, want: [] },
  { name: 'an empty ended session is closed', chunks: [], closed: true, want: ['#EXT-X-ENDLIST'] },
  { name: 'ready segments are listed in order', chunks: [ready(1), ready(0)], closed: false, want: ['seg_0.ts', 'seg_1.ts'] },
  {
    name: 'a segment waits behind a lower index that is still processing',
    chunks: [ready(0), processing(1), ready(2)], closed: false, want: ['seg_0.ts'],
  },
  {
    name: 'a missing lower index holds back everything above it',
    chunks: [ready(1), ready(2)], closed: false, want: [],
  },
  {
    name: 'a failed chunk becomes a gap and later segments follow',
    chunks: [ready(0), failed(1), ready(2)], closed: true,
    want: ['seg_0.ts', '#EXT-X-GAP', 'seg_1.ts', 'seg_2.ts', '#EXT-X-ENDLIST'],
  },
];

for (const c of cases) {
  t.test(c.name, async (t) => {
    const text = renderPlaylist({ chunks: map(...c.chunks), closed: c.closed, createdAt: 0, chunkSeconds: 2, segmentUri: uri });
    t.same(entries(text), c.want);
    t.match(text, /^#EXTM3U\n/);
    t.match(text, /#EXT-X-PLAYLIST-TYPE:EVENT\n/);
    t.match(text, /#EXT-X-MEDIA-SEQUENCE:0\n/);
    t.match(text, /#EXT-X-SERVER-CONTROL:CAN-BLOCK-RELOAD=YES\n/, 'blocking reload is advertised');
  });
}

t.test('EXTINF carries the measured duration with millisecond precision', async (t) => {
  const text = renderPlaylist({ chunks: map(ready(0, 2.033)), closed: false, createdAt: 0, chunkSeconds: 2, segmentUri: uri });
  t.match(text, /#EXTINF:2\.033,\nseg_0\.ts\n/);
});

t.test('PROGRAM-DATE-TIME anchors media time to the session clock, again after a gap', async (t) => {
  const createdAt = Date.UTC(2026, 0, 1, 12, 0, 0);
  const text = renderPlaylist({
    chunks: map(ready(0), failed(1), ready(2)), closed: false, createdAt, chunkSeconds: 2, segmentUri: uri,
  });
  const stamps = [...text.matchAll(/#EXT-X-PROGRAM-DATE-TIME:(.+)/g)].map((m) => m[1]);
  t.same(stamps, ['2026-01-01T12:00:00.000Z', '2026-01-01T12:00:04.000Z']);
});

t.test('target duration is the rounded longest segment, never below the chunk length', async (t) => {
  t.equal(targetDuration({}, 2), 2);
  t.equal(targetDuration(map(ready(0, 2.4)), 2), 2);
  t.equal(targetDuration(map(ready(0, 3.6)), 2), 4);
  t.equal(targetDuration({}, 0.5), 1);
});

t.test('the playlist only grows: each rendering is a prefix of the next', async (t) => {
  const steps: ChunkRecord[][] = [
    [processing(0), ready(1)],
    [ready(0), ready(1), processing(2), ready(3)],
    [ready(0), ready(1), failed(2), ready(3)],
  ];
  let previous = '';
  for (const chunks of steps) {
    const text = renderPlaylist({ chunks: map(...chunks), closed: false, createdAt: 0, chunkSeconds: 2, segmentUri: uri });
    t.ok(text.startsWith(previous.replace(/\n$/, '')), 'previous rendering is a prefix');
    previous = text;
  }
});
