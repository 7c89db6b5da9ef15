/**
 * Stereo output formats: how the two views are packed into one frame, or mixed into an anaglyph —
 * the one place that knows, shared by the converter (what it renders), the server (output sizes,
 * playlist names, stream metadata) and the pages (where each eye is in a decoded frame).
 *
 * | mode              | frame for eyes W×H      | for                                                     |
 * |-------------------|-------------------------|---------------------------------------------------------|
 * | `sbs`             | 2W×H, left eye first    | VR players, headset browsers (full resolution per eye)  |
 * | `half-sbs`        | W×H, each eye W/2 wide  | 3D TVs and projectors (side-by-side mode), VR players  |
 * | `tb`              | W×2H, left eye on top   | VR players (top-bottom)                                 |
 * | `half-tb`         | W×H, each eye H/2 tall  | 3D TVs and projectors (top-and-bottom mode)             |
 * | `cross`           | 2W×H, right eye first   | free viewing, cross-eyed                                |
 * | `anaglyph`        | W×H                     | red/cyan glasses, colour (red from the left eye)        |
 * | `anaglyph-half`   | W×H                     | red/cyan, half colour: the left eye's red is its grey   |
 * | `anaglyph-dubois` | W×H                     | red/cyan, Dubois' least-squares mix: truer colours      |
 *
 * "Half" layouts squeeze each eye to keep the frame at the source's size; a player stretches it back.
 */

export const STEREO_MODES = ['sbs', 'half-sbs', 'tb', 'half-tb', 'cross', 'anaglyph', 'anaglyph-half', 'anaglyph-dubois'] as const;
export type StereoMode = (typeof STEREO_MODES)[number];

/** How a frame holds its views: two packed side by side (left or right first) or top-bottom, or one anaglyph. */
export type Packing = 'lr' | 'rl' | 'tb' | 'anaglyph';
export type AnaglyphMethod = 'color' | 'half-color' | 'dubois';

export interface Layout {
  packing: Packing;
  /** Each eye squeezed to half its width (side by side) or height (top-bottom). */
  half: boolean;
  /** Anaglyphs only: how the two views' colours are mixed. */
  method: AnaglyphMethod | null;
  /**
   * The token VR players (DeoVR, Skybox, Pigasus, Rad, Commedia…) look for in a file or playlist name
   * to choose this layout; null when there is none (anaglyphs play as flat video).
   */
  tag: string | null;
  /** H.264 frame-packing arrangement SEI (3 side by side, 4 top-bottom; left view first), for 3D TVs; null: none. */
  framePacking: 3 | 4 | null;
}

const LAYOUTS: Record<StereoMode, Layout> = {
  sbs: { packing: 'lr', half: false, method: null, tag: 'SBS_LR', framePacking: 3 },
  'half-sbs': { packing: 'lr', half: true, method: null, tag: 'SBS_half', framePacking: 3 },
  tb: { packing: 'tb', half: false, method: null, tag: 'TB', framePacking: 4 },
  'half-tb': { packing: 'tb', half: true, method: null, tag: 'TB_half', framePacking: 4 },
  // Right eye first: players would take it for parallel side by side, so it names itself for what it is.
  cross: { packing: 'rl', half: false, method: null, tag: 'cross_RL', framePacking: null },
  anaglyph: { packing: 'anaglyph', half: false, method: 'color', tag: null, framePacking: null },
  'anaglyph-half': { packing: 'anaglyph', half: false, method: 'half-color', tag: null, framePacking: null },
  'anaglyph-dubois': { packing: 'anaglyph', half: false, method: 'dubois', tag: null, framePacking: null },
};

export function isStereoMode(value: unknown): value is StereoMode {
  return typeof value === 'string' && (STEREO_MODES as readonly string[]).includes(value);
}

export function layoutOf(mode: StereoMode): Layout {
  return LAYOUTS[mode];
}

/** Even, rounded down: a squeezed eye never makes the frame larger than the source. */
/**
 * The playlist's file name for players that choose a layout from the name (`playlist_SBS_LR.m3u8`);
 * `playlist.m3u8` for the anaglyphs. Both names serve the same playlist.
 */
export function playlistName(mode: StereoMode): string {
  const { tag } = LAYOUTS[mode];
  return tag ? `playlist_${tag}.m3u8` : 'playlist.m3u8';
}

const even = (n: number) => Math.max(2, Math.floor(n / 2) * 2);

/** A source's picture scaled for the output: at most `wantedHeight` high, the aspect kept, both even. */
export function scaledSize(source: { width: number; height: number }, wantedHeight: number): { width: number; height: number } {
  const height = Math.max(2, Math.floor(Math.min(wantedHeight, source.height) / 2) * 2);
  const width = Math.max(2, Math.round((source.width * height) / source.height / 2) * 2);
  return { width, height };
}

/** The size each eye is rendered at, for a source scaled to `width`×`height` (even). */
export function eyeSize(mode: StereoMode, width: number, height: number): { width: number; height: number } {
  const { packing, half } = LAYOUTS[mode];
  if (!half) return { width, height };
  return packing === 'tb' ? { width, height: even(height / 2) } : { width: even(width / 2), height };
}

/** The frame that holds eyes of `eye` size. */
export function frameSize(mode: StereoMode, eye: { width: number; height: number }): { width: number; height: number } {
  switch (LAYOUTS[mode].packing) {
    case 'lr':
    case 'rl':
      return { width: eye.width * 2, height: eye.height };
    case 'tb':
      return { width: eye.width, height: eye.height * 2 };
    case 'anaglyph':
      return eye;
  }
}

/** A part of a frame, as fractions of its width and height. */
export interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** Where each eye is in a decoded frame (an anaglyph: the whole frame, for both). */
export function eyeRects(mode: StereoMode): { left: Rect; right: Rect } {
  const first: Rect = { x: 0, y: 0, w: 0.5, h: 1 };
  const second: Rect = { x: 0.5, y: 0, w: 0.5, h: 1 };
  switch (LAYOUTS[mode].packing) {
    case 'lr':
      return { left: first, right: second };
    case 'rl':
      return { left: second, right: first };
    case 'tb':
      return { left: { x: 0, y: 0, w: 1, h: 0.5 }, right: { x: 0, y: 0.5, w: 1, h: 0.5 } };
    case 'anaglyph': {
      const whole: Rect = { x: 0, y: 0, w: 1, h: 1 };
      return { left: whole, right: whole };
    }
  }
}

/** How big one eye is shown, for a decoded frame of `width`×`height`: a half layout's eye stretched back. */
export function eyeDisplaySize(mode: StereoMode, width: number, height: number): { width: number; height: number } {
  const { packing, half } = LAYOUTS[mode];
  if (packing === 'anaglyph') return { width, height };
  if (packing === 'tb') return { width, height: half ? height : height / 2 };
  return { width: half ? width : width / 2, height };
}
