/**
 * The watch page in a headset (WebXR), in headless Chromium with a stand-in headset: `navigator.xr` and
 * `XRWebGLLayer` replaced before the page loads by a small emulation — two views (left and right eye),
 * a 90° perspective each, side by side in one 1280×720 framebuffer (the page's own canvas), frames at
 * 60 Hz. The page's real rendering path runs: "enter VR" appears, the session starts, and each frame
 * draws the virtual screen once per eye. Read back off the framebuffer: the left viewport shows the
 * stream's left eye and the right viewport its right eye (each closer to its own eye than to the other),
 * for a side-by-side and a top-bottom session. A screenshot per eye goes to test-artifacts/.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import type { CreateSessionResponse } from '../protocol/messages.ts';
import { ARTIFACTS, launchChromium } from '../testkit/browser.ts';
import { postJson, putChunk } from '../testkit/http.ts';
import { testPattern } from '../testkit/media.ts';
import { startTestServer, until } from '../testkit/server.ts';

/** The stand-in headset: each eye at the origin (no eye separation, so both see the screen at the same place). */
const HEADSET = `(() => {
  const W = 1280, H = 720;
  const f = 1; // 1 / tan(45°): a 90° field of view
  const aspect = (W / 2) / H, near = 0.1, far = 100;
  const projection = new Float32Array([f / aspect, 0, 0, 0, 0, f, 0, 0, 0, 0, (far + near) / (near - far), -1, 0, 0, (2 * far * near) / (near - far), 0]);
  const identity = new Float32Array([1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
  const views = ['left', 'right'].map((eye) => ({ eye, projectionMatrix: projection, transform: { inverse: { matrix: identity } } }));
  class Session extends EventTarget {
    async requestReferenceSpace(type) { return { type }; }
    updateRenderState() {}
    requestAnimationFrame(cb) { return setTimeout(() => cb(performance.now(), { getViewerPose: () => ({ views }) }), 16); }
    async end() { this.dispatchEvent(new Event('end')); }
  }
  class Layer {
    constructor(session, gl) { gl.canvas.width = W; gl.canvas.height = H; this.framebuffer = null; this.framebufferWidth = W; this.framebufferHeight = H; }
    getViewport(view) { return { x: view.eye === 'left' ? 0 : W / 2, y: 0, width: W / 2, height: H }; }
  }
  window.XRWebGLLayer = Layer;
  Object.defineProperty(navigator, 'xr', { configurable: true, value: {
    isSessionSupported: async (mode) => mode === 'immersive-vr',
    requestSession: async () => new Session(),
  } });
  window.__headset = { W, H, aspect, f };
})()`;

/**
 * In the page: each viewport's screen (where the 1.6 m screen 2 m ahead falls) and each eye of the
 * paused video, resampled to 160×90; mean absolute differences between them; each viewport as a PNG.
 */
const READ = (rects: { left: number[]; right: number[] }) => `(() => {
  const { W, H, aspect, f } = window.__headset;
  const video = document.querySelector('video');
  const xr = document.getElementById('xr');
  const vw = video.videoWidth, vh = video.videoHeight;
  const eyeW = ${JSON.stringify(rects.left)}[2] * vw, eyeH = ${JSON.stringify(rects.left)}[3] * vh;
  // The screen's half-size in normalised device coordinates: x/(z·aspect), y/z with z = 2 m.
  const sx = (0.8 / 2) * f / aspect, sy = ((1.6 * eyeH / eyeW) / 2 / 2) * f;
  const w = 160, h = 90;
  const sample = (source, x, y, sw, sh) => {
    const c = document.createElement('canvas'); c.width = w; c.height = h;
    const g = c.getContext('2d'); g.drawImage(source, x, y, sw, sh, 0, 0, w, h);
    return g.getImageData(0, 0, w, h).data;
  };
  const viewport = (i) => sample(xr, i * W / 2 + (1 - sx) / 2 * W / 2, (1 - sy) / 2 * H, sx * W / 2, sy * H);
  const eye = (r) => sample(video, r[0] * vw, r[1] * vh, r[2] * vw, r[3] * vh);
  const diff = (a, b) => { let s = 0, n = 0; for (let i = 0; i < a.length; i += 4) { s += Math.abs(a[i] - b[i]) + Math.abs(a[i + 1] - b[i + 1]) + Math.abs(a[i + 2] - b[i + 2]); n += 3; } return s / n; };
  const shown = [viewport(0), viewport(1)];
  const eyes = [eye(${JSON.stringify(rects.left)}), eye(${JSON.stringify(rects.right)})];
  const png = (i) => { const c = document.createElement('canvas'); c.width = W / 2; c.height = H; c.getContext('2d').drawImage(xr, i * W / 2, 0, W / 2, H, 0, 0, W / 2, H); return c.toDataURL('image/png'); };
  return {
    leftToLeft: diff(shown[0], eyes[0]), leftToRight: diff(shown[0], eyes[1]),
    rightToRight: diff(shown[1], eyes[1]), rightToLeft: diff(shown[1], eyes[0]),
    eyesApart: diff(eyes[0], eyes[1]),
    png: [png(0), png(1)],
  };
})()`;

interface Read {
  leftToLeft: number;
  leftToRight: number;
  rightToRight: number;
  rightToLeft: number;
  eyesApart: number;
  png: [string, string];
}

t.test('enter VR: each eye sees its own view of the stream on the virtual screen', async (t) => {
  const server = await startTestServer(t, { env: { EXECUTION_PROVIDER: 'cpu', CHUNK_SECONDS: '0.5', GPU_POOL_WORKERS: '2' } });
  const chunks = await testPattern({ seconds: 2, chunkSeconds: 0.5, size: '320x180' });
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  await mkdir(ARTIFACTS, { recursive: true });
  const cases = [
    { mode: 'sbs', rects: { left: [0, 0, 0.5, 1], right: [0.5, 0, 0.5, 1] } },
    { mode: 'tb', rects: { left: [0, 0, 1, 0.5], right: [0, 0.5, 1, 0.5] } },
  ];
  for (const { mode, rects } of cases) {
    const s = (await postJson(`${server.url}/stream_sessions`, { mode, stereo_strength: 0.08 })).json as CreateSessionResponse;
    for (let i = 0; i < 4; i++) t.equal((await putChunk(s, i, chunks[i]!)).status, 201);
    t.equal((await postJson(`${server.url}/stream_sessions/${s.session_id}/end`, { chunks: 4 })).status, 204);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.addInitScript(HEADSET);
    await page.goto(`${server.url}/watch/${s.session_id}?player=hls`);
    await until(
      async () => ((await page.evaluate('document.querySelector("video").currentTime')) as number) > 0.8,
      `${mode}: playback`,
      30_000,
    );
    await page.evaluate('document.querySelector("video").pause()');
    await page.waitForSelector('#enter-vr:not([hidden])', { timeout: 5_000 });
    await page.click('#enter-vr');
    const xr = await until(
      async () => {
        const stats = (await page.evaluate('window.stereospot.xr')) as { frames: number; eyes: number } | null;
        return stats !== null && stats.frames >= 10 ? stats : undefined;
      },
      `${mode}: frames drawn in the headset`,
      10_000,
    );
    t.ok(xr.eyes >= 2 * xr.frames - 2, `${mode}: both eyes drawn every frame (${xr.frames} frames, ${xr.eyes} eyes)`);
    const read = (await page.evaluate(READ(rects))) as Read;
    t.ok(read.eyesApart > 3, `${mode}: the stream's eyes differ on this frame (${read.eyesApart.toFixed(1)})`);
    t.ok(
      read.leftToLeft < read.leftToRight - 1,
      `${mode}: the left eye sees the left view (${read.leftToLeft.toFixed(1)} from it, ${read.leftToRight.toFixed(1)} from the right)`,
    );
    t.ok(
      read.rightToRight < read.rightToLeft - 1,
      `${mode}: the right eye sees the right view (${read.rightToRight.toFixed(1)} from it, ${read.rightToLeft.toFixed(1)} from the left)`,
    );
    for (const [i, eye] of ['left', 'right'].entries()) {
      await writeFile(path.join(ARTIFACTS, `xr-${mode}-${eye}.png`), Buffer.from(read.png[i]!.split(',')[1]!, 'base64'));
    }
    await page.click('#enter-vr');
    await until(async () => (await page.textContent('#enter-vr')) === 'enter VR', `${mode}: out of VR`, 5_000).catch(() => undefined);
    t.same(errors, [], `${mode}: no page errors`);
    await page.close();
  }
});
