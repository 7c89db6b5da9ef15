/**
 * Which uWebSockets.js build the server runs on. uWS is not on the npm registry; two builds are, and
 * each covers runtimes the other does not (README "Runtime"):
 *
 * - `uws-current` = @btc-vision/uwebsockets.js 20.57.0: Node 20, 22, 24 and 25 (ABIs 115/127/137/141),
 *   built against glibc 2.38 — Debian 13, Ubuntu 24.04 and the image; it throws on anything else.
 * - `uWebSockets.js` = @trufflesuite/uws-js-unofficial 20.30.0: Node 16–20 on older C libraries
 *   (Debian 12: glibc 2.36, where the other cannot load). On any other runtime it quietly falls back to a
 *   partial JavaScript implementation that does not serve this server (corked writes, pub/sub,
 *   backpressure), so that case is refused with the reason instead of a server that half works.
 *
 * The newer build is tried first; the choice is made once, when the server starts (not at import, so
 * every module still loads on a runtime neither build serves).
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

type Uws = typeof import('uWebSockets.js');

export interface UwsBuild {
  uws: Uws;
  /** The npm package and version that was loaded, for the start-up log and /healthz. */
  name: string;
}

const require = createRequire(import.meta.url);
const CURRENT = { id: 'uws-current', name: '@btc-vision/uwebsockets.js 20.57.0' };
const LEGACY = { id: 'uWebSockets.js', name: '@trufflesuite/uws-js-unofficial 20.30.0' };
let loaded: UwsBuild | null = null;

/** Where the legacy build's native binary for this runtime would be. */
export function uwsBinaryPath(): string {
  const main = require.resolve(LEGACY.id);
  return path.join(path.dirname(main), '..', 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
}

/**
 * The native uWS build for this runtime; throws, naming the runtime, both builds' reasons and what to
 * do, when there is none.
 */
export function loadUws(): UwsBuild {
  if (loaded) return loaded;
  let currentError: string;
  try {
    loaded = { uws: require(CURRENT.id) as Uws, name: CURRENT.name };
    return loaded;
  } catch (error) {
    // The build's own message is long; its last line names the cause (no binary, or the C library).
    currentError = String(error instanceof Error ? error.message : error)
      .trim()
      .split('\n')
      .pop()!;
  }
  const binary = uwsBinaryPath();
  if (!existsSync(binary)) {
    throw new Error(
      `uWebSockets.js has no native build for Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch}): ` +
        `${CURRENT.name} cannot load (${currentError}), and ${LEGACY.name} has no ${path.basename(binary)}. ` +
        'Run the server on Node 20, 22, 24 or 25 with glibc ≥ 2.38, or on Node 20 (README "Runtime").',
    );
  }
  loaded = { uws: require(LEGACY.id) as Uws, name: LEGACY.name };
  return loaded;
}

/** Throws, as loadUws() does, unless uWebSockets.js runs natively here. */
export function assertNativeUws(): void {
  loadUws();
}
