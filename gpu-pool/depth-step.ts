/**
 * One estimate's way into the depth state, the same wherever it happens — in a chunk's own frames, in
 * a warm-up over the previous chunk's frames, and in the state a chunk hands on (convert.ts): what the
 * carried and the warmed-up state are must not depend on which of them ran.
 *
 *   observe: what one estimate says (its robust range, its frame's thumbnail and luma, its map);
 *   advance: the range's EMA (restarted at a scene cut), then — when stabilising — the estimate
 *            normalised against it and through the motion-compensated temporal filter.
 */
import { advanceDepthState, frameRange, isSceneCut, thumbnail } from './depth-range.ts';
import { lumaOf, stabilise } from './depth-stabiliser.ts';
import type { DepthState } from './types.ts';

export interface Observation {
  range: { min: number; max: number };
  thumb: number[];
  /** The network's raw output (owned: copied out of the network's buffer). */
  depth: Float32Array;
  width: number;
  height: number;
  /** The frame's luma at the network's input size. */
  luma: Uint8Array;
  lumaWidth: number;
  lumaHeight: number;
}

/** What one estimate says; `rgb` is the network's input picture (`mw`×`mh`). */
export function observe(depth: Float32Array, width: number, height: number, rgb: Uint8Array, mw: number, mh: number): Observation {
  return {
    range: frameRange(depth),
    thumb: thumbnail(rgb, mw, mh),
    depth: Float32Array.from(depth),
    width,
    height,
    luma: lumaOf(rgb, mw, mh),
    lumaWidth: mw,
    lumaHeight: mh,
  };
}

/** The state after one more estimate; `weight` is the EMA's (depth-range.ts); `stabilising`: through the temporal filter. */
export function advance(previous: DepthState | null, seen: Observation, weight: number, stabilising: boolean): DepthState {
  const next = advanceDepthState(previous, seen.range, seen.thumb, weight);
  if (!stabilising) return next;
  const cut = !previous || isSceneCut(previous.thumb, seen.thumb);
  const span = next.max - next.min;
  const scale = span > 1e-6 ? 1 / span : 0;
  const normalised = new Float32Array(seen.depth.length);
  for (let i = 0; i < normalised.length; i++) {
    const n = (seen.depth[i]! - next.min) * scale;
    normalised[i] = n < 0 ? 0 : n > 1 ? 1 : n;
  }
  const filter = stabilise(
    cut ? null : (previous.filter ?? null),
    normalised,
    seen.width,
    seen.height,
    seen.luma,
    seen.lumaWidth,
    seen.lumaHeight,
  );
  return { ...next, filter };
}

/** The map and range a frame is drawn with: the filtered map (already 0…1) when there is one. */
export function drawn(state: DepthState, seen: Observation): { depth: Float32Array; width: number; height: number; state: DepthState } {
  if (state.filter)
    return {
      depth: state.filter.map,
      width: state.filter.width,
      height: state.filter.height,
      state: { min: 0, max: 1, thumb: state.thumb },
    };
  return { depth: seen.depth, width: seen.width, height: seen.height, state };
}
