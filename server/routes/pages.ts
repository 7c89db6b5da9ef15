/**
 * The built-in pages — the dashboard at `/`, the browser capture at `/capture`, the player at
 * `/watch/{id}` — their scripts (TypeScript from `web/`, bundled with esbuild once, at start-up, in
 * memory) and the browser libraries they load, from npm: hls.js for the HLS fallback, and ffmpeg.wasm
 * (`@ffmpeg/ffmpeg`'s worker, `@ffmpeg/core`'s script and wasm) for the capture page. Nothing comes
 * from a CDN: a page works on a machine with no internet access.
 */
import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import type { HttpContext } from '../http/context.ts';
import { HttpError } from '../http/errors.ts';

const require = createRequire(import.meta.url);
const web = (file: string) => fileURLToPath(new URL(`../../web/${file}`, import.meta.url));

/** Bundles one script (ES2020 modules: every current browser). */
function bundle(entry: string): Buffer {
  const result = buildSync({ entryPoints: [entry], bundle: true, format: 'esm', target: 'es2020', minify: true, write: false });
  return Buffer.from(result.outputFiles[0]!.contents);
}

const JS = 'text/javascript; charset=utf-8';
const HTML = 'text/html; charset=utf-8';
const NO_CACHE = 'no-cache';
/** npm files change only with the package version (an upgrade restarts the server). */
const DAY = 'public, max-age=86400';

interface Asset {
  type: string;
  cache: string;
  body: () => Buffer | Promise<Buffer>;
}

/** Built once: pages never change while the server runs. */
function built(type: string, cache: string, make: () => Buffer): Asset {
  const body = make();
  return { type, cache, body: () => body };
}

/** Read on first use and kept (the wasm is 31 MB: only servers whose capture page is used hold it). */
function lazy(type: string, cache: string, file: string): Asset {
  let body: Promise<Buffer> | undefined;
  return { type, cache, body: () => (body ??= readFile(file)) };
}

const pages: Record<string, Asset> = {
  dashboard: built(HTML, NO_CACHE, () => readFileSync(web('dashboard.html'))),
  capture: built(HTML, NO_CACHE, () => readFileSync(web('capture.html'))),
  watch: built(HTML, NO_CACHE, () => readFileSync(web('watch.html'))),
};

// The package exports its UMD build to require(); the module worker needs the ESM build beside it.
const ffmpegCore = (file: string) => path.join(path.dirname(require.resolve('@ffmpeg/core')), '..', 'esm', file);

const assets: Record<string, Asset> = {
  'dashboard.js': built(JS, NO_CACHE, () => bundle(web('dashboard.ts'))),
  'capture.js': built(JS, NO_CACHE, () => bundle(web('capture.ts'))),
  'watch.js': built(JS, NO_CACHE, () => bundle(web('watch.ts'))),
  'style.css': built('text/css; charset=utf-8', NO_CACHE, () => readFileSync(web('style.css'))),
  'hls.min.js': built(JS, DAY, () => readFileSync(require.resolve('hls.js/dist/hls.min.js'))),
  // ffmpeg.wasm's worker (a module worker: it imports the core below when it is told to load).
  'ffmpeg/worker.js': built(JS, DAY, () => bundle(require.resolve('@ffmpeg/ffmpeg/worker'))),
  'ffmpeg/ffmpeg-core.js': lazy(JS, DAY, ffmpegCore('ffmpeg-core.js')),
  'ffmpeg/ffmpeg-core.wasm': lazy('application/wasm', DAY, ffmpegCore('ffmpeg-core.wasm')),
};

/**
 * The pages' Content-Security-Policy: scripts only from this server (and WebAssembly: ffmpeg.wasm),
 * workers from here or blob: (hls.js starts its worker from one), no plugins, no <base>, no forms
 * elsewhere, and no framing by other sites. Inline <style> stays (no script can come of it);
 * `connect-src` is open because uploads go to the storage the server names (an S3 bucket's host).
 */
const PAGE_POLICY = [
  "default-src 'self'",
  "script-src 'self' 'wasm-unsafe-eval'",
  "worker-src 'self' blob:",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob:",
  "media-src 'self' blob:",
  'connect-src * data: blob:',
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'self'",
].join('; ');

const PAGE_HEADERS: Array<[string, string]> = [
  ['Content-Security-Policy', PAGE_POLICY],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['Referrer-Policy', 'same-origin'],
];

async function serve(ctx: HttpContext, asset: Asset, headers: Array<[string, string]> = []): Promise<void> {
  const body = await asset.body();
  ctx.send(200, body, [['Content-Type', asset.type], ['Cache-Control', asset.cache], ...headers]);
}

export function page(name: 'dashboard' | 'capture' | 'watch'): (ctx: HttpContext) => Promise<void> {
  const asset = pages[name]!;
  return (ctx) => serve(ctx, asset, PAGE_HEADERS);
}

/** `/assets/{name}` and `/assets/ffmpeg/{name}`: only the files listed above. */
export function asset(ctx: HttpContext): Promise<void> {
  const name = ctx.path.slice('/assets/'.length);
  const found = Object.hasOwn(assets, name) ? assets[name] : undefined;
  if (!found) throw new HttpError(404, 'not_found', `no asset ${name}`);
  return serve(ctx, found);
}
