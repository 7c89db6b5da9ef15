/**
 * The SIMD warp (warp.wat via warp-simd.ts) against the plain loops (warp-plan.ts): byte for byte the
 * same frames over every packing, odd and even sizes, widths that are and are not multiples of 16,
 * smooth and sharp depth (a block's samples in one window, two, or spread wider), occlusion on and off,
 * a flat map, a NaN in the map, one warper reused across sizes; and the committed binary is what the
 * text assembles to.
 */
import { readFile } from 'node:fs/promises';
import t from 'tap';
import { assembleWarp, WARP_WASM } from '../tools/build-wasm.ts';
import { RowScratch, renderPairYuv, yuv420pSize } from '../stereo.ts';
import type { DepthInput } from '../types.ts';
import { SimdWarper } from '../warp-simd.ts';

let seed = 11;
const random = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 8) / 16777216;

type Scene = 'smooth' | 'sharp' | 'flat' | 'nan';

function depthMap(scene: Scene, width: number, height: number): Float32Array {
  return new Float32Array(width * height).map((_, i) => {
    const x = i % width;
    const y = Math.floor(i / width);
    if (scene === 'flat') return 0.4;
    if (scene === 'sharp') return random();
    if (scene === 'nan' && x === 3 && y === 1) return Number.NaN;
    return 0.5 + 0.45 * Math.sin(x / 7) * Math.cos(y / 5);
  });
}

function render(
  scratch: RowScratch,
  picture: Uint8Array,
  width: number,
  height: number,
  input: DepthInput,
  strength: number,
  packing: 'lr' | 'rl' | 'tb',
) {
  const out = new Uint8Array(packing === 'tb' ? yuv420pSize(width, 2 * height) : yuv420pSize(2 * width, height));
  renderPairYuv(picture, width, height, input, strength, packing, out, scratch);
  return out;
}

t.test('the committed warp.wasm is what warp.wat assembles to (run `npm run build:wasm` after editing the text)', async (t) => {
  const committed = new Uint8Array(await readFile(WARP_WASM));
  t.same(Buffer.from(await assembleWarp()).equals(Buffer.from(committed)), true);
});

t.test('this runtime has WebAssembly SIMD: the warp uses it by default', async (t) => {
  t.ok(SimdWarper.create(), 'the kernel compiles');
  t.ok(new RowScratch().warper instanceof SimdWarper, 'the default warper');
  t.notOk(new RowScratch({ simd: false }).warper instanceof SimdWarper, 'the loops on request');
});

t.test('SIMD and the plain loops draw the same bytes', async (t) => {
  const simd = new RowScratch();
  const loops = new RowScratch({ simd: false });
  let cases = 0;
  const sizes: Array<[number, number]> = [
    [64, 36],
    [322, 182],
    [40, 20],
    [18, 2],
    [1280, 720],
    [640, 360],
  ];
  for (const [width, height] of sizes) {
    const picture = new Uint8Array(yuv420pSize(width, height)).map(() => Math.floor(random() * 256));
    for (const scene of ['smooth', 'sharp', 'flat', 'nan'] as const) {
      const [dw, dh] = scene === 'sharp' ? [Math.max(2, width >> 2), Math.max(2, height >> 2)] : [56, 32];
      const depth = depthMap(scene, dw, dh);
      for (const packing of ['lr', 'rl', 'tb'] as const) {
        for (const occlusion of [true, false]) {
          for (const [strength, convergence] of [
            [0.03, 0],
            [0.12, 0.4],
          ] as const) {
            const input: DepthInput = {
              depth,
              depthWidth: dw,
              depthHeight: dh,
              state: { min: 0.05, max: 0.95, thumb: [] },
              convergence,
              occlusion,
            };
            const a = render(simd, picture, width, height, input, strength, packing);
            const b = render(loops, picture, width, height, input, strength, packing);
            cases++;
            if (!Buffer.from(a).equals(Buffer.from(b))) {
              let first = 0;
              while (a[first] === b[first]) first++;
              t.fail(
                `${width}×${height} ${scene} ${packing} occlusion ${occlusion} strength ${strength}: first difference at byte ${first}`,
              );
            }
          }
        }
      }
    }
  }
  t.equal(cases, 6 * 4 * 3 * 2 * 2, `${cases} frames compared, one warper each way reused across every size`);
});
