/** Runs one benchmark scenario through `npm run bench`'s CLI at a tiny size and checks its saved result. */
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { Test } from 'tap';
import { tempDir } from './server.ts';

export const run = promisify(execFile);

/** The environment every bench run gets in the tests: results in `dir`, no Node-version notice. */
export const benchEnv = (dir: string) => ({
  ...process.env,
  BENCH_RESULTS_DIR: dir,
  AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
});

export async function smokeScenario(t: Test, scenario: string, args: string[], sane: (result: any) => boolean): Promise<void> {
  const dir = await tempDir(t, 'stereospot-bench-smoke-');
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'bench/cli.ts', scenario, ...args], {
    env: benchEnv(dir),
    timeout: 150_000,
    maxBuffer: 16 << 20,
  });
  const files = (await readdir(dir)).filter((f) => f.startsWith(`${scenario}-`) && f.endsWith('.json'));
  t.equal(files.length, 1, `one result saved (${stdout.trim().split('\n').at(-1)})`);
  const saved = JSON.parse(await readFile(path.join(dir, files[0]!), 'utf8'));
  t.equal(saved.scenario, scenario);
  t.ok(sane(saved.result), `the result holds figures: ${JSON.stringify(saved.result).slice(0, 300)}`);
}
