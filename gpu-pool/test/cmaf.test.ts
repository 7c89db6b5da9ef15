import t from 'tap';
import { codecsOf, splitInit, topLevelBoxes } from '../cmaf.ts';
import { CAPTURE_ORIGIN_TAG, parseOrigin } from '../chunk-reader.ts';

function box(type: string, payload: number[] = []): number[] {
  const size = 8 + payload.length;
  return [size >>> 24, (size >>> 16) & 255, (size >>> 8) & 255, size & 255, ...[...type].map((c) => c.charCodeAt(0)), ...payload];
}

// A tiny init: ftyp, then a moov holding an avcC (High, level 3.1) and an esds with an AAC-LC config.
const avcc = box('avcC', [1, 0x64, 0x00, 0x1f, 0xff]);
const esds = box(
  'esds',
  [0, 0, 0, 0, 0x03, 0x19, 0, 1, 0, 0x04, 0x11, 0x40, 0x15, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x05, 0x02, 0x11, 0x90],
);
const init = Uint8Array.from([...box('ftyp', [0x69, 0x73, 0x6f, 0x6d]), ...box('moov', [...avcc, ...esds])]);
const media = Uint8Array.from([...box('moof', [1, 2, 3]), ...box('mdat', [4, 5, 6, 7])]);

t.test('top-level boxes are listed in order and a truncated tail is ignored', async (t) => {
  const all = Uint8Array.from([...init, ...media]);
  t.same(
    topLevelBoxes(all).map((b) => b.type),
    ['ftyp', 'moov', 'moof', 'mdat'],
  );
  t.same(
    topLevelBoxes(all.subarray(0, all.length - 2)).map((b) => b.type),
    ['ftyp', 'moov', 'moof'],
  );
});

t.test('a fragmented MP4 splits into its init segment and its media', async (t) => {
  const { init: i, media: m } = splitInit(Uint8Array.from([...init, ...media]));
  t.same([...i], [...init]);
  t.same([...m], [...media]);
  t.throws(() => splitInit(init), /no moov or no moof/);
});

t.test('a truncated segment is refused, never split', async (t) => {
  const all = Uint8Array.from([...init, ...media]);
  // A write that stopped part-way: inside the mdat, between moof and mdat, inside the moof; and extra bytes.
  t.throws(() => splitInit(all.subarray(0, all.length - 2)), /no mdat/);
  t.throws(() => splitInit(Uint8Array.from([...init, ...box('moof', [1, 2, 3])])), /no mdat/);
  t.throws(() => splitInit(all.subarray(0, init.length + 5)), /no moov or no moof/);
  t.throws(() => splitInit(Uint8Array.from([...all, 0, 0, 0])), /3 bytes after the last whole box/);
});

t.test('codecs are read from avcC and the AAC config', async (t) => {
  t.equal(codecsOf(init), 'avc1.64001F,mp4a.40.2');
  t.equal(codecsOf(Uint8Array.from([...box('ftyp'), ...box('moov', avcc)])), 'avc1.64001F');
  t.throws(() => codecsOf(Uint8Array.from(box('ftyp'))), /no H.264/);
});

t.test('the capture origin tag is µs since the epoch; anything else is ignored', async (t) => {
  t.equal(CAPTURE_ORIGIN_TAG, 'stereospot_capture_origin', 'the key the capture clients write (protocol/keys.ts)');
  t.equal(parseOrigin('1795000000123456'), 1_795_000_000_123.456);
  for (const bad of [undefined, '', 'abc', '12', '-1795000000123456', '1795000000123456000']) t.equal(parseOrigin(bad), null, String(bad));
});
