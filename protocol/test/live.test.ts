/** The live wire: media frames round-trip byte for byte; what is not a frame or a config is refused, naming why. */
import t from 'tap';
import {
  avcCodecOf,
  encodeLiveFrame,
  KeyframeGate,
  LIVE_HEADER_BYTES,
  LiveKind,
  MAX_LIVE_PAYLOAD,
  parseLiveConfig,
  parseLiveFrame,
} from '../live.ts';

const now = Date.now() * 1000 + 0.5;

t.test('a frame round-trips: kind, key, capture time to the µs, duration, payload', async (t) => {
  const data = new Uint8Array([0, 0, 0, 1, 0x65, 1, 2, 3]);
  const bytes = encodeLiveFrame({ kind: LiveKind.Video, key: true, time: now, duration: 33_333, data });
  t.equal(bytes.byteLength, LIVE_HEADER_BYTES + data.byteLength);
  const parsed = parseLiveFrame(bytes);
  t.ok(parsed.ok);
  if (!parsed.ok) return;
  t.same(
    { ...parsed.frame, data: [...parsed.frame.data] },
    { kind: LiveKind.Video, key: true, time: now, duration: 33_333, data: [...data] },
  );
  const audio = parseLiveFrame(encodeLiveFrame({ kind: LiveKind.Audio, key: true, time: now, duration: 21_333, data: new Uint8Array(7) }));
  t.equal(audio.ok && audio.frame.kind, LiveKind.Audio);
});

t.test('what is not a frame is refused', async (t) => {
  const good = encodeLiveFrame({ kind: LiveKind.Video, key: false, time: now, duration: 0, data: new Uint8Array(4) });
  const broken = (edit: (b: Uint8Array, v: DataView) => void) => {
    const b = good.slice();
    edit(b, new DataView(b.buffer));
    return parseLiveFrame(b);
  };
  t.match(parseLiveFrame(good.subarray(0, LIVE_HEADER_BYTES)), { ok: false, message: /header and a payload/ });
  t.match(
    broken((b) => (b[0] = 9)),
    { ok: false, message: /unknown live frame kind 9/ },
  );
  t.match(
    broken((b) => (b[1] = 2)),
    { ok: false, message: /flags/ },
  );
  t.match(
    broken((_, v) => v.setFloat64(4, 12)),
    { ok: false, message: /capture time/ },
  );
  t.match(
    broken((_, v) => v.setFloat64(4, Number.NaN)),
    { ok: false, message: /capture time/ },
  );
  t.match(parseLiveFrame(new Uint8Array(LIVE_HEADER_BYTES + MAX_LIVE_PAYLOAD + 1)), { ok: false, message: /at most/ });
});

t.test('a live_config is checked whole and rebuilt', async (t) => {
  const config = {
    type: 'live_config',
    video: { codec: 'avc1.42C01E', width: 640, height: 360, extra: 'dropped' },
    audio: { codec: 'mp4a.40.2', sample_rate: 48_000, channels: 2, description: 'EZA=' },
  };
  t.same(parseLiveConfig(config), {
    ok: true,
    config: {
      type: 'live_config',
      video: { codec: 'avc1.42C01E', width: 640, height: 360 },
      audio: { codec: 'mp4a.40.2', sample_rate: 48_000, channels: 2, description: 'EZA=' },
    },
  });
  t.match(parseLiveConfig({ ...config, video: { ...config.video, codec: 'vp09.00.10.08' } }), { ok: false, message: /H\.264/ });
  t.match(parseLiveConfig({ ...config, video: { ...config.video, width: 0 } }), { ok: false, message: /width and height/ });
  t.match(parseLiveConfig({ ...config, video: { ...config.video, description: 'not base64!' } }), { ok: false, message: /description/ });
  t.match(parseLiveConfig({ ...config, audio: { ...config.audio, codec: 'vorbis' } }), { ok: false, message: /mp4a.*opus/ });
  t.match(parseLiveConfig({ ...config, audio: { ...config.audio, codec: 'opus' } }), { ok: false, message: /opus takes no description/ });
  t.same(
    parseLiveConfig({ ...config, audio: { codec: 'opus', sample_rate: 48_000, channels: 2 } }),
    {
      ok: true,
      config: {
        type: 'live_config',
        video: { codec: 'avc1.42C01E', width: 640, height: 360 },
        audio: { codec: 'opus', sample_rate: 48_000, channels: 2 },
      },
    },
    "opus (a browser's) with no description",
  );
  t.match(parseLiveConfig({ ...config, audio: { ...config.audio, description: undefined } }), {
    ok: false,
    message: /AudioSpecificConfig/,
  });
  t.match(parseLiveConfig({ ...config, audio: { ...config.audio, channels: 64 } }), { ok: false, message: /channels/ });
  t.same(parseLiveConfig({ ...config, audio: null }).ok, true, 'no sound is fine');
  t.match(parseLiveConfig({ type: 'other' }), { ok: false });
});

t.test("the codec string comes from the SPS's profile, constraints and level", async (t) => {
  t.equal(avcCodecOf(new Uint8Array([0x67, 0x64, 0x00, 0x1f, 0xac])), 'avc1.64001F');
});

t.test('the keyframe gate: frames while the way is clear, video after a loss from the next keyframe, sound regardless', async (t) => {
  const gate = new KeyframeGate();
  const video = (key: boolean) => ({ kind: LiveKind.Video, key });
  const audio = { kind: LiveKind.Audio, key: true };
  t.notOk(gate.pass(video(false), true), 'video starts at a keyframe');
  t.ok(gate.pass(audio, true), 'sound goes meanwhile');
  t.ok(gate.pass(video(true), true));
  t.ok(gate.pass(video(false), true));
  t.notOk(gate.pass(video(false), false), 'the way is blocked: dropped');
  t.ok(gate.waiting);
  t.notOk(gate.pass(video(false), true), 'clear again, but not a keyframe');
  t.ok(gate.pass(audio, true));
  t.ok(gate.pass(video(true), true), 'the next keyframe goes');
  gate.reset();
  t.notOk(gate.pass(video(false), true), 'after a reset, from a keyframe again');
});
