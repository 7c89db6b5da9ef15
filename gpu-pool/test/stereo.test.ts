import t from 'tap';
import { isSceneCut, renderStereo, thumbnail, updateDepthState } from '../stereo.ts';

const W = 8;
const H = 2;
/** A frame whose pixel (x, y) is (10x, 100 + y, 200). */
function gradient(): Uint8Array {
  const f = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) f.set([10 * x, 100 + y, 200], (y * W + x) * 3);
  return f;
}
const flatDepth = new Float32Array(4 * 2).fill(1);

t.test('SBS doubles the width; zero disparity copies the frame into both eyes', async (t) => {
  const frame = gradient();
  const out = new Uint8Array(2 * W * H * 3);
  renderStereo(frame, W, H, flatDepth, 4, 2, { min: 0, max: 1, thumb: [] }, { mode: 'sbs', strength: 0 }, out);
  for (let y = 0; y < H; y++) {
    const row = frame.subarray(y * W * 3, (y + 1) * W * 3);
    t.same(out.subarray(y * 2 * W * 3, y * 2 * W * 3 + W * 3), row, `left eye row ${y}`);
    t.same(out.subarray(y * 2 * W * 3 + W * 3, (y + 1) * 2 * W * 3), row, `right eye row ${y}`);
  }
});

t.test('nearer pixels are shifted in opposite directions in the two eyes', async (t) => {
  const frame = gradient();
  const out = new Uint8Array(2 * W * H * 3);
  // Everything at maximum nearness, max disparity 0.25·W = 2 px: each eye shifts by 1 px.
  renderStereo(frame, W, H, flatDepth, 4, 2, { min: 0, max: 0.5, thumb: [] }, { mode: 'sbs', strength: 0.25 }, out);
  t.equal(out[4 * 3], 30, 'left eye at x=4 shows source x=3');
  t.equal(out[(W + 4) * 3], 50, 'right eye at x=4 shows source x=5');
});

t.test('anaglyph takes red from the left eye and green/blue from the right', async (t) => {
  const frame = gradient();
  const out = new Uint8Array(W * H * 3);
  renderStereo(frame, W, H, flatDepth, 4, 2, { min: 0, max: 0.5, thumb: [] }, { mode: 'anaglyph', strength: 0.25 }, out);
  t.equal(out.length, W * H * 3, 'same width as the source');
  t.same([out[12], out[13], out[14]], [30, 100, 200], 'red from x=3 (left eye), green/blue from x=5 (right eye)');
});

t.test('the depth range is an EMA carried across calls and reset on a scene cut', async (t) => {
  const dark = new Array(144).fill(10);
  const bright = new Array(144).fill(200);
  const first = updateDepthState(null, Float32Array.from([0, 10]), dark);
  t.same([first.min, first.max], [0, 10], 'first frame: its own range');
  const next = updateDepthState(first, Float32Array.from([0, 20]), dark);
  t.ok(next.max > 10 && next.max < 20, 'smoothed, not jumped');
  const cut = updateDepthState(next, Float32Array.from([5, 6]), bright);
  t.same([cut.min, cut.max], [5, 6], 'a cut resets to the new range');
  t.ok(isSceneCut(dark, bright));
  t.notOk(isSceneCut(dark, dark));
  t.equal(thumbnail(gradient(), W, H).length, 144);
});
