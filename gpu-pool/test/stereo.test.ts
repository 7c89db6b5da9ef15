import t from 'tap';
import { edgeSmear } from '../../testkit/edge-scene.ts';
import { renderPairYuv, renderStereo, yuv420pSize } from '../stereo.ts';
import { occlusionRows } from '../warp-plan.ts';

const W = 8;
const H = 2;
/** A frame whose pixel (x, y) is (10x, 100 + y, 200). */
function gradient(): Uint8Array {
  const f = new Uint8Array(W * H * 3);
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) f.set([10 * x, 100 + y, 200], (y * W + x) * 3);
  return f;
}
const flatDepth = new Float32Array(4 * 2).fill(1);
const near = { min: 0, max: 0.5, thumb: [] };

t.test('rgb SBS doubles the width; zero disparity copies the frame into both eyes', async (t) => {
  const frame = gradient();
  const out = new Uint8Array(2 * W * H * 3);
  renderStereo(
    frame,
    W,
    H,
    { depth: flatDepth, depthWidth: 4, depthHeight: 2, state: { min: 0, max: 1, thumb: [] }, convergence: 0 },
    { mode: 'sbs', strength: 0 },
    out,
  );
  for (let y = 0; y < H; y++) {
    const row = frame.subarray(y * W * 3, (y + 1) * W * 3);
    t.same(out.subarray(y * 2 * W * 3, y * 2 * W * 3 + W * 3), row, `left eye row ${y}`);
    t.same(out.subarray(y * 2 * W * 3 + W * 3, (y + 1) * 2 * W * 3), row, `right eye row ${y}`);
  }
});

t.test('nearer pixels are shifted in opposite directions in the two eyes', async (t) => {
  const out = new Uint8Array(2 * W * H * 3);
  // Everything at maximum nearness, max disparity 0.25·W = 2 px: each eye shifts by 1 px.
  renderStereo(
    gradient(),
    W,
    H,
    { depth: flatDepth, depthWidth: 4, depthHeight: 2, state: near, convergence: 0 },
    { mode: 'sbs', strength: 0.25 },
    out,
  );
  t.equal(out[4 * 3], 30, 'left eye at x=4 shows source x=3');
  t.equal(out[(W + 4) * 3], 50, 'right eye at x=4 shows source x=5');
});

t.test('anaglyph takes red from the left eye and green/blue from the right', async (t) => {
  const out = new Uint8Array(W * H * 3);
  renderStereo(
    gradient(),
    W,
    H,
    { depth: flatDepth, depthWidth: 4, depthHeight: 2, state: near, convergence: 0 },
    { mode: 'anaglyph', strength: 0.25 },
    out,
  );
  t.same([out[12], out[13], out[14]], [30, 100, 200], 'red from x=3 (left eye), green/blue from x=5 (right eye)');
});

/** A packed yuv420p frame: Y = 10x, U = 100 + cx, V = 200 − cx. */
function yuvGradient(w: number, h: number): Uint8Array {
  const f = new Uint8Array(yuv420pSize(w, h));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) f[y * w + x] = 10 * x;
  const cw = w / 2;
  const ch = h / 2;
  for (let y = 0; y < ch; y++) {
    for (let x = 0; x < cw; x++) {
      f[w * h + y * cw + x] = 100 + x;
      f[w * h + cw * ch + y * cw + x] = 200 - x;
    }
  }
  return f;
}

t.test('yuv420p SBS: each plane doubles in width; zero disparity copies both eyes', async (t) => {
  const w = 8;
  const h = 4;
  const src = yuvGradient(w, h);
  const out = new Uint8Array(yuv420pSize(2 * w, h));
  renderPairYuv(
    src,
    w,
    h,
    { depth: flatDepth, depthWidth: 4, depthHeight: 2, state: { min: 0, max: 1, thumb: [] }, convergence: 0 },
    0,
    'lr',
    out,
  );
  t.same(out.subarray(0, w), src.subarray(0, w), 'left luma row');
  t.same(out.subarray(w, 2 * w), src.subarray(0, w), 'right luma row');
  const u = 2 * w * h;
  t.same(out.subarray(u, u + w / 2), src.subarray(w * h, w * h + w / 2), 'left U row');
  t.same(out.subarray(u + w / 2, u + w), src.subarray(w * h, w * h + w / 2), 'right U row');
  const v = u + (w / 2) * 2 * (h / 2);
  t.same(out.subarray(v, v + w / 2), src.subarray(w * h + (w / 2) * (h / 2), w * h + (w / 2) * (h / 2) + w / 2), 'left V row');
});

t.test('yuv420p SBS: luma shifts by the disparity, chroma by half of it', async (t) => {
  const w = 16;
  const h = 4;
  const out = new Uint8Array(yuv420pSize(2 * w, h));
  // Max disparity 0.25·16 = 4 px: each luma eye shifts by 2 px, each chroma eye by 1 chroma px.
  renderPairYuv(yuvGradient(w, h), w, h, { depth: flatDepth, depthWidth: 4, depthHeight: 2, state: near, convergence: 0 }, 0.25, 'lr', out);
  t.equal(out[8], 60, 'left luma at x=8 shows source x=6');
  t.equal(out[w + 8], 100, 'right luma at x=8 shows source x=10');
  const u = 2 * w * h;
  t.equal(out[u + 4], 103, 'left U at cx=4 shows source cx=3');
  t.equal(out[u + w / 2 + 4], 105, 'right U at cx=4 shows source cx=5');
});

t.test('convergence moves the screen plane: the chosen depth gets zero disparity, the rest flips sides', async (t) => {
  const w = 16;
  const h = 4;
  const src = yuvGradient(w, h);
  const out = new Uint8Array(yuv420pSize(2 * w, h));
  // Everything is at maximum nearness; convergence 1 puts the nearest depth on the screen: no shift at all.
  renderPairYuv(src, w, h, { depth: flatDepth, depthWidth: 4, depthHeight: 2, state: near, convergence: 1 }, 0.25, 'lr', out);
  t.same(out.subarray(0, w), src.subarray(0, w), 'left luma row unshifted');
  t.same(out.subarray(w, 2 * w), src.subarray(0, w), 'right luma row unshifted');
  // Convergence 0.5: half the disparity of convergence 0 (±1 px instead of ±2 px).
  renderPairYuv(src, w, h, { depth: flatDepth, depthWidth: 4, depthHeight: 2, state: near, convergence: 0.5 }, 0.25, 'lr', out);
  t.equal(out[8], 70, 'left luma at x=8 shows source x=7');
  t.equal(out[w + 8], 90, 'right luma at x=8 shows source x=9');
  // A far point (depth 0 against the range 0…1) behind a screen plane at 0.5: the eyes swap sides.
  const far = { min: 1, max: 2, thumb: [] };
  renderPairYuv(src, w, h, { depth: flatDepth, depthWidth: 4, depthHeight: 2, state: far, convergence: 0.5 }, 0.25, 'lr', out);
  t.equal(out[8], 90, 'left luma at x=8 shows source x=9 (behind the screen)');
  t.equal(out[w + 8], 70, 'right luma at x=8 shows source x=7');
});

t.test("occlusion: each eye's pixel takes the nearest point that lands on it", async (t) => {
  // A near run (half-disparity 3) at x 4…7 of a flat background (0).
  const d = new Float32Array([0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0]);
  const left = new Float32Array(d.length);
  const right = new Float32Array(d.length);
  occlusionRows(d, d.length, left, right);
  // The left eye shows s at s + 3: the run covers 7…10; 4…6 is the hole it left (its own disparity stays).
  t.same([...left], [0, 0, 0, 0, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0], 'left: the run moves onto 7…10 (it is not cut at 8)');
  // The right eye shows s at s − 3: the run covers 1…4.
  t.same([...right], [0, 3, 3, 3, 3, 3, 3, 3, 0, 0, 0, 0, 0, 0], 'right: the run moves onto 1…4');
});

t.test('occlusion-aware warping (the default) cuts the smear at a near edge to about a quarter', async (t) => {
  for (const strength of [0.03, 0.05, 0.08]) {
    const off = edgeSmear(false, { strength });
    const on = edgeSmear(true, { strength });
    t.ok(
      off.perEdge > 1.5,
      `strength ${strength}: without it the edge smears ${off.perEdge.toFixed(2)} px (object shifted ${off.disparity} px)`,
    );
    t.ok(on.perEdge < off.perEdge / 2.5, `with it: ${on.perEdge.toFixed(2)} px`);
  }
});
