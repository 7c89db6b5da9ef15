import t from 'tap';
import { outputSize, parseFirstPts, parseProbe } from '../probe.ts';

const chunk = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'chunk_00001.mp4':
  Duration: 00:00:02.01, start: 2.008000, bitrate: 425 kb/s
  Stream #0:0[0x1](und): Video: h264 (High) (avc1 / 0x31637661), yuv420p(progressive), 640x360 [SAR 1:1 DAR 16:9], 780 kb/s, 30 fps, 30 tbr, 15360 tbn (default)
  Stream #0:1[0x2](und): Audio: aac (LC) (mp4a / 0x6134706D), 48000 Hz, mono, fltp, 69 kb/s (default)`;
const silent = `Input #0, mov,mp4,m4a,3gp,3g2,mj2, from 'x.mp4':
  Duration: 00:00:04.00, start: 0.000000, bitrate: 100 kb/s
  Stream #0:0(und): Video: h264 (Constrained Baseline) (avc1 / 0x31637661), yuv420p, 1920x1080, 29.97 fps, 29.97 tbr, 30k tbn`;

t.test('parseProbe reads size, rate, start, duration and audio', async (t) => {
  t.match(parseProbe(chunk), { width: 640, height: 360, fps: 30, start: 2.008, duration: 2.01, hasAudio: true });
  t.match(parseProbe(silent), { width: 1920, height: 1080, fps: 29.97, start: 0, duration: 4, hasAudio: false });
});

t.test('parseProbe names why a chunk cannot be used', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ["[mov,mp4,m4a,3gp,3g2,mj2 @ 0x1] moov atom not found\nx.mp4: Invalid data found when processing input", /moov atom not found/],
    ['x.mp4: Invalid data found when processing input', /Invalid data/],
    ["Input #0, wav, from 'a.wav':\n  Stream #0:0: Audio: pcm_s16le, 44100 Hz", /no video stream/],
  ];
  for (const [stderr, why] of cases) t.throws(() => parseProbe(stderr), why);
});

t.test('parseFirstPts converts the first packet time to seconds', async (t) => {
  t.equal(parseFirstPts('#tb 0: 1/15360\n#media_type 0: video\n0,      30710,      31734,      512,     9686, 0xea03e811\n'), 31734 / 15360);
  t.equal(parseFirstPts(''), null);
});

t.test('outputSize never upscales, keeps the aspect and even sizes', async (t) => {
  t.same(outputSize({ width: 1280, height: 720 }, 360), { width: 640, height: 360 });
  t.same(outputSize({ width: 320, height: 180 }, 360), { width: 320, height: 180 });
  t.same(outputSize({ width: 1920, height: 1080 }, 301), { width: 534, height: 300 });
});
