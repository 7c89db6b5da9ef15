/**
 * The server runs on uWebSockets.js's native build only. The package we install from the npm registry
 * (@trufflesuite/uws-js-unofficial 20.30.0, see ../shared/NOTES.md) carries binaries for Node ABIs 93,
 * 108 and 115 (Node 16, 18, 20) and, on any other runtime, quietly falls back to a partial JavaScript
 * implementation that does not serve this server (corked writes, pub/sub, backpressure). So that case is
 * refused at start with the reason, instead of a server that half works.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** Where the native binary for this runtime would be. */
export function uwsBinaryPath(): string {
  const main = createRequire(import.meta.url).resolve('uWebSockets.js');
  return path.join(path.dirname(main), '..', 'binaries', `uws_${process.platform}_${process.arch}_${process.versions.modules}.node`);
}

/** Throws, naming the runtime and what to do, unless uWebSockets.js runs natively here. */
export function assertNativeUws(): void {
  if (process.env.UWS_USE_FALLBACK && process.env.UWS_USE_FALLBACK !== '0' && process.env.UWS_USE_FALLBACK.toLowerCase() !== 'false') {
    throw new Error('UWS_USE_FALLBACK is set: uWebSockets.js\'s JavaScript fallback does not serve this server; unset it');
  }
  const binary = uwsBinaryPath();
  if (!existsSync(binary)) {
    throw new Error(
      `uWebSockets.js has no native build for Node ${process.version} (ABI ${process.versions.modules}, ${process.platform}-${process.arch}): ` +
        `expected ${path.basename(binary)}. Run the server on Node 20 (README "Runtime").`,
    );
  }
}
