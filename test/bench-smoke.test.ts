/**
 * Every benchmark scenario, run through `npm run bench`'s CLI at a tiny size so none can rot: each must
 * exit 0 and save a result with figures in it; then the whole suite (`--quick`) must write its report,
 * and one of its SVG charts, rendered to PNG in Chromium, must show a picture. (The figures themselves
 * are measured in `bench/`, not asserted here.)
 */
import { execFile } from 'node:child_process';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { tempDir } from '../server/test/helpers/server.ts';
import { ARTIFACTS, launchChromium } from './helpers/browser.ts';

const run = promisify(execFile);

const scenarios: Array<[string, string[], (result: any) => boolean]> = [
  ['pipeline', ['--chunks', '2', '--chunk-seconds', '0.5', '--sizes', '160x90', '--workers', '1'], (r) => Array.isArray(r) ? r.length === 1 : r !== null],
  ['latency', ['--seconds', '2', '--chunk-seconds', '1', '--sizes', '160x90'], (r) => r.chunks >= 2 && r.processingMs.p50 > 0],
  ['glass', ['--seconds', '2', '--settle', '1', '--sizes', '160x90', '--cases', 'mse:1'], (r) => r.length === 1 && r[0].frames > 0],
  ['control', ['--seconds', '1', '--repeats', '1', '--connections', '4', '--segments', '3'], (r) => r.cases.length === 6 && r.cases.every((c: any) => c.requestsPerSecond > 0 && c.requestsPerCpuSecond > 0)],
  ['sessions', ['--counts', '20'], (r) => r.length === 1 && r[0].count === 20 && r[0].createPerSecond > 0 && r[0].listMs.p50 > 0],
  ['capacity', ['--nodes', '1', '--seconds', '2', '--max-streams', '1', '--sizes', '160x90'], (r) => r.length === 1 && r[0].levels.length === 1],
];

for (const [scenario, args, sane] of scenarios) {
  t.test(`bench ${scenario} runs at a tiny size`, async (t) => {
    const dir = await tempDir(t, 'stereospot-bench-smoke-');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/cli.ts', scenario, ...args], {
      env: { ...process.env, BENCH_RESULTS_DIR: dir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
      timeout: 180_000,
      maxBuffer: 16 << 20,
    });
    const files = (await readdir(dir)).filter((f) => f.startsWith(`${scenario}-`) && f.endsWith('.json'));
    t.equal(files.length, 1, `one result saved (${stdout.trim().split('\n').at(-1)})`);
    const saved = JSON.parse(await readFile(path.join(dir, files[0]!), 'utf8'));
    t.equal(saved.scenario, scenario);
    t.ok(sane(saved.result), `the result holds figures: ${JSON.stringify(saved.result).slice(0, 300)}`);
  });
}

t.test('npm run bench -- --quick runs every scenario and writes the report with its charts', async (t) => {
  const dir = await tempDir(t, 'stereospot-bench-suite-');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/cli.ts', '--quick'], {
    env: { ...process.env, BENCH_RESULTS_DIR: dir, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
    timeout: 300_000,
    maxBuffer: 16 << 20,
  });
  const [folder] = await readdir(dir);
  t.ok(folder, `a report folder (${stdout.trim().split('\n').at(-1)})`);
  const report = path.join(dir, folder!);
  const results = JSON.parse(await readFile(path.join(report, 'report.json'), 'utf8'));
  t.same(results.failed, [], 'no scenario failed');
  t.equal(results.quick, true);
  for (const key of ['pipeline', 'latency', 'glass', 'control', 'sessions', 'capacity']) t.ok(results[key], `${key} in the report`);
  t.ok(results.machine.cpus >= 1 && results.machine.node === process.version, 'the machine is described');
  const md = await readFile(path.join(report, 'report.md'), 'utf8');
  const charts = (await readdir(path.join(report, 'charts'))).sort();
  t.same(charts, ['capacity.svg', 'control.svg', 'glass.svg', 'latency.svg', 'pipeline-rtf.svg', 'sessions-list.svg']);
  for (const chart of charts) t.match(md, `](charts/${chart})`, `report.md shows ${chart}`);

  // One chart as a person sees it: rendered to PNG by Chromium, not blank, in test-artifacts/.
  const svg = await readFile(path.join(report, 'charts', 'control.svg'), 'utf8');
  t.match(svg, /^<svg[^>]*width="\d+"/, 'an SVG document with a size');
  const browser = await launchChromium();
  t.teardown(() => browser.close());
  const page = await browser.newPage();
  await page.setContent(`<!doctype html><body style="margin:0">${svg}</body>`);
  await mkdir(ARTIFACTS, { recursive: true });
  await page.locator('svg').first().screenshot({ path: path.join(ARTIFACTS, 'bench-control-chart.png') });
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
