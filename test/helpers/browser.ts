/**
 * Headless Debian Chromium driven by playwright-core (no browser download: `apt-get install chromium`).
 * The flags keep it off the network it cannot reach and let muted video autoplay.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update',
  '--disable-sync', '--no-first-run', '--autoplay-policy=no-user-gesture-required',
];

/** Launches headless Chromium; throws a clear error when it is not installed. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`Chromium not found at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
}

/** What the watch page exposes as `window.stereospot`. */
export interface WatchStats {
  player: 'mse' | 'hls' | 'native';
  state: string;
  latencies: number[];
  stalls: number[];
  fetchMs: number[];
}
