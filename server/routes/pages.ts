/**
 * The built-in pages: the player at `/` and `/watch/{id}`, its script (TypeScript from `web/`, bundled
 * with esbuild once, at start-up, in memory), and hls.js for the fallback — all served by the server
 * itself, nothing from a CDN.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import type { HttpContext } from '../http/context.ts';

const require = createRequire(import.meta.url);
const web = (file: string) => fileURLToPath(new URL(`../../web/${file}`, import.meta.url));

/** Bundles one page script (ES2020 modules: every current browser). */
function bundle(entry: string): Buffer {
  const result = buildSync({ entryPoints: [web(entry)], bundle: true, format: 'esm', target: 'es2020', minify: true, write: false });
  return Buffer.from(result.outputFiles[0]!.contents);
}

// Built once: pages never change while the server runs.
const page = readFileSync(web('watch.html'));
const watchScript = bundle('watch.ts');
const hlsScript = readFileSync(require.resolve('hls.js/dist/hls.min.js'));

export function watchPage(ctx: HttpContext): void {
  ctx.send(200, page, [['Content-Type', 'text/html; charset=utf-8'], ['Cache-Control', 'no-cache']]);
}

export function watchAsset(ctx: HttpContext): void {
  ctx.send(200, watchScript, [['Content-Type', 'text/javascript; charset=utf-8'], ['Cache-Control', 'no-cache']]);
}

export function hlsAsset(ctx: HttpContext): void {
  ctx.send(200, hlsScript, [['Content-Type', 'text/javascript; charset=utf-8'], ['Cache-Control', 'public, max-age=86400']]);
}
