/**
 * How far a near object's edges smear in the warp (issue 23, edges): a synthetic scene — a flat bright
 * object over a textured background, its depth a sharp step at a network's resolution (a quarter of the
 * picture's, as a model gives it) — rendered side by side, each eye compared with what it should show:
 * the background as it is and the object moved by its disparity. Smear = the pixels around the object's
 * edges where one shows the other — the object where the background should be, or the background where
 * the object should be — per edge and row, in pixels. (Holes the object uncovers count only where they
 * show the object: what is behind it is unknown to any warp.)
 */
import { renderPairYuv, RowScratch, yuv420pSize } from '../gpu-pool/stereo.ts';

const OBJECT = 235;

export interface EdgeSmear {
  /** Mean smear per edge and row (px), both eyes. */
  perEdge: number;
  /** The object's disparity in the scene (px each eye shifts it). */
  disparity: number;
}

/** Renders the scene with the warp's occlusion handling on or off and measures the smear. */
export function edgeSmear(occlusion: boolean, options: { width?: number; height?: number; strength?: number } = {}): EdgeSmear {
  const width = options.width ?? 320;
  const height = options.height ?? 180;
  const strength = options.strength ?? 0.05;
  const [x0, x1, y0, y1] = [Math.round(width * 0.375), Math.round(width * 0.625), Math.round(height / 3), Math.round((2 * height) / 3)];
  // The picture: a deterministic noise texture (40…180: never mistaken for the object), the object flat.
  const picture = new Uint8Array(yuv420pSize(width, height)).fill(128);
  let seed = 12345;
  const noise = () => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    return 40 + ((seed >>> 16) % 141);
  };
  const background = new Uint8Array(width * height);
  for (let i = 0; i < background.length; i++) background[i] = noise();
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) picture[y * width + x] = x >= x0 && x < x1 && y >= y0 && y < y1 ? OBJECT : background[y * width + x]!;
  }
  // Its depth at a quarter of the resolution: 1 on the object, 0 elsewhere.
  const dw = width / 4;
  const dh = height / 4;
  const depth = new Float32Array(dw * dh);
  for (let y = 0; y < dh; y++)
    for (let x = 0; x < dw; x++) depth[y * dw + x] = x >= x0 / 4 && x < x1 / 4 && y >= y0 / 4 && y < y1 / 4 ? 1 : 0;
  const out = new Uint8Array(yuv420pSize(2 * width, height));
  const input = { depth, depthWidth: dw, depthHeight: dh, state: { min: 0, max: 1, thumb: [] }, convergence: 0, occlusion };
  renderPairYuv(picture, width, height, input, strength, 'lr', out, new RowScratch());
  const d = (strength * width) / 2;
  // Rows well inside the object's height (its top and bottom edges blur in the depth map).
  let wrong = 0;
  let rows = 0;
  for (let y = y0 + 4; y < y1 - 4; y++, rows++) {
    for (const [eye, shift] of [
      [0, d],
      [width, -d],
    ] as const) {
      for (let x = Math.max(0, Math.floor(x0 - 2 * d)); x < Math.min(width, Math.ceil(x1 + 2 * d)); x++) {
        const shown = out[y * 2 * width + eye + x]!;
        const objectHere = x >= x0 + shift && x < x1 + shift;
        const looksObject = Math.abs(shown - OBJECT) < 30;
        if (objectHere !== looksObject) wrong++;
      }
    }
  }
  return { perEdge: wrong / (rows * 4), disparity: d };
}
