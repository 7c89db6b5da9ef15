/**
 * Every benchmark scenario, run through `npm run bench`'s CLI at a tiny size so none can rot: each must
 * exit 0 and save a result with figures in it. (The figures themselves are measured in `bench/`, not
 * asserted here.)
 */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { tempDir } from '../server/test/helpers/server.ts';

const run = promisify(execFile);

const scenarios: Array<[string, string[], (result: any) => boolean]> = [
  ['pipeline', ['--chunks', '2', '--chunk-seconds', '0.5', '--sizes', '160x90', '--workers', '1'], (r) => Array.isArray(r) ? r.length === 1 : r !== null],
  ['latency', ['--seconds', '2', '--chunk-seconds', '1', '--sizes', '160x90'], (r) => r.chunks >= 2 && r.processingMs.p50 > 0],
  ['glass', ['--seconds', '2', '--settle', '1', '--sizes', '160x90', '--cases', 'mse:1'], (r) => r.length === 1 && r[0].frames > 0],
  ['control', ['--seconds', '1', '--repeats', '1', '--connections', '4', '--segments', '3'], (r) => r.cases.length === 6 && r.cases.every((c: any) => c.requestsPerSecond > 0 && c.requestsPerCpuSecond > 0)],
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
