/**
 * `npm run bench -- --quick`: the whole suite at tiny sizes must run every scenario and write its
 * report, and one of its SVG charts, rendered to PNG in Chromium, must show a picture.
 */
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import t from 'tap';
import { tempDir } from '../testkit/server.ts';
import { benchEnv, run } from '../testkit/bench-cli.ts';
import { ARTIFACTS, launchChromium } from '../testkit/browser.ts';

t.test('npm run bench -- --quick runs every scenario and writes the report with its charts', async (t) => {
  const dir = await tempDir(t, 'stereospot-bench-suite-');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/cli.ts', '--quick'], {
    env: benchEnv(dir),
    timeout: 170_000,
    maxBuffer: 16 << 20,
  });
  const [folder] = await readdir(dir);
  t.ok(folder, `a report folder (${stdout.trim().split('\n').at(-1)})`);
  const report = path.join(dir, folder!);
  const results = JSON.parse(await readFile(path.join(report, 'report.json'), 'utf8'));
  t.same(results.failed, [], 'no scenario failed');
  t.equal(results.quick, true);
  for (const key of ['pipeline', 'latency', 'glass', 'control', 'fanout', 'sessions', 'soak', 'concurrency', 'capacity'])
    t.ok(results[key], `${key} in the report`);
  t.ok(results.machine.cpus >= 1 && results.machine.node === process.version, 'the machine is described');
  const md = await readFile(path.join(report, 'report.md'), 'utf8');
  const charts = (await readdir(path.join(report, 'charts'))).sort();
  t.same(charts, [
    'capacity.svg',
    'concurrency.svg',
    'control.svg',
    'fanout.svg',
    'glass.svg',
    'latency.svg',
    'pipeline-rtf.svg',
    'sessions-list.svg',
    'soak-memory.svg',
  ]);
  for (const chart of charts) t.match(md, `](charts/${chart})`, `report.md shows ${chart}`);

  // One chart as a person sees it: rendered to PNG by Chromium, not blank, in test-artifacts/.
  const svg = await readFile(path.join(report, 'charts', 'control.svg'), 'utf8');
  t.match(svg, /^<svg[^>]*width="\d+"/, 'an SVG document with a size');
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.setContent(`<!doctype html><body style="margin:0">${svg}</body>`);
  await mkdir(ARTIFACTS, { recursive: true });
  await page
    .locator('svg')
    .first()
    .screenshot({ path: path.join(ARTIFACTS, 'bench-control-chart.png') });
  // Evaluated in the page (a string: the tests are compiled for Node, not the DOM).
  const inked = (await page.evaluate(`(async () => {
    const image = new Image();
    image.src = 'data:image/svg+xml;base64,' + btoa(unescape(encodeURIComponent(${JSON.stringify(svg)})));
    await image.decode();
    const canvas = document.createElement('canvas');
    canvas.width = image.width;
    canvas.height = image.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(image, 0, 0);
    const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
    let coloured = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (Math.max(data[i], data[i + 1], data[i + 2]) - Math.min(data[i], data[i + 1], data[i + 2]) > 60) coloured++;
    }
    return { width: canvas.width, height: canvas.height, coloured };
  })()`)) as { width: number; height: number; coloured: number };
  t.ok(inked.width > 300 && inked.height > 100, `a chart of ${inked.width}×${inked.height}`);
  t.ok(inked.coloured > 500, `coloured bars drawn (${inked.coloured} coloured pixels)`);
});
