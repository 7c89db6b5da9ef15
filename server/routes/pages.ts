/** The built-in player page (hls.js) at `/` and `/watch/{id}`, and its script. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { HttpContext } from '../http/context.ts';

const require = createRequire(import.meta.url);
// Read once at start-up: both are small and never change while the server runs.
const page = readFileSync(new URL('../static/watch.html', import.meta.url));
const hlsScript = readFileSync(require.resolve('hls.js/dist/hls.min.js'));

export function watchPage(ctx: HttpContext): void {
  ctx.send(200, page, [['Content-Type', 'text/html; charset=utf-8'], ['Cache-Control', 'no-cache']]);
}

export function hlsAsset(ctx: HttpContext): void {
  ctx.send(200, hlsScript, [['Content-Type', 'text/javascript; charset=utf-8'], ['Cache-Control', 'public, max-age=86400']]);
}
