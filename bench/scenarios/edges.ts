/**
 * How far a near object's edges smear in the warp, before and after occlusion-aware warping (issue 23):
 * the synthetic scene of testkit/edge-scene.ts — a flat object over a textured background, its depth a
 * sharp step at a network's resolution — at three strengths, with STEREO_OCCLUSION off and on.
 * Pixels per edge and row where the object shows in place of the background or the other way round.
 */
import { edgeSmear } from '../../testkit/edge-scene.ts';

export interface EdgesRow {
  strength: number;
  /** Each eye's shift of the object (px, 320-px eyes). */
  disparity: number;
  off: number;
  on: number;
}

export function runEdges(log: (line: string) => void): EdgesRow[] {
  const rows = [0.03, 0.05, 0.08].map((strength) => ({
    strength,
    disparity: edgeSmear(false, { strength }).disparity,
    off: edgeSmear(false, { strength }).perEdge,
    on: edgeSmear(true, { strength }).perEdge,
  }));
  for (const r of rows) log(formatEdgesRow(r));
  return rows;
}

export function formatEdgesRow(r: EdgesRow): string {
  return `edges: strength ${r.strength} (object shifted ${r.disparity.toFixed(1)} px per eye): smear ${r.off.toFixed(2)} px per edge without occlusion handling, ${r.on.toFixed(2)} px with it`;
}
