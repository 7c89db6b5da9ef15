/**
 * Headless Debian Chromium driven by playwright-core (no browser download: `apt-get install chromium`).
 * The flags keep it off the network it cannot reach and let muted video autoplay.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--autoplay-policy=no-user-gesture-required',
  // WebGL (the anaglyph view) on the software rasteriser: there is no GPU here.
  '--enable-unsafe-swiftshader',
];

/**
 * Fake capture devices (a test picture and a beep): `granted` also answers every permission prompt
 * with yes; without it the headless browser refuses capture, as a person pressing "block" would.
 */
export type FakeMedia = 'granted' | 'denied';

/** Launches headless Chromium; throws a clear error when it is not installed. */
export async function launchChromium(options: { media?: FakeMedia; webgl?: boolean } = {}): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  const media =
    options.media === undefined
      ? []
      : ['--use-fake-device-for-media-stream', ...(options.media === 'granted' ? ['--use-fake-ui-for-media-stream'] : [])];
  // Without WebGL (`webgl: false`): pages fall back to their 2D canvas.
  const webgl = options.webgl === false ? ['--disable-webgl', '--disable-3d-apis'] : [];
  return chromium.launch({ executablePath: CHROMIUM, args: [...CHROMIUM_ARGS, ...media, ...webgl] });
}

/** Where browser tests save their screenshots (git-ignored; CI keeps them as artifacts). */
export const ARTIFACTS = fileURLToPath(new URL('../test-artifacts/', import.meta.url));

/** What the watch page exposes as `window.stereospot`. */
export interface WatchStats {
  player: 'mse' | 'hls' | 'native';
  state: string;
  latencies: number[];
  stalls: number[];
  fetchMs: number[];
}
