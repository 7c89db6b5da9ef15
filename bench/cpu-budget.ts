/**
 * A CPU budget for a benchmarked process: a Linux cgroup with a CFS quota (v1 `cpu` controller or
 * cgroup v2 `cpu.max`), so "one node" means the same share of a core in every run, and the harness
 * (emulators, uploader) keeps the rest of the machine instead of competing with the nodes for it.
 * Needs write access to the cgroup hierarchy (root in a container usually has it); `open()` returns
 * undefined where that is missing, and the caller says so in its report.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

const PERIOD_US = 100_000;

export class CpuBudget {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** A fresh cgroup allowed `cpus` cores' worth of time (e.g. 0.75), or undefined if cgroups are not writable. */
  static async open(name: string, cpus: number): Promise<CpuBudget | undefined> {
    if (!(cpus > 0)) throw new Error(`a CPU budget must be positive (got ${cpus})`);
    const quota = String(Math.round(cpus * PERIOD_US));
    const v1 = '/sys/fs/cgroup/cpu';
    const v2 = '/sys/fs/cgroup';
    try {
      if (existsSync(path.join(v1, 'cpu.cfs_quota_us'))) {
        const dir = path.join(v1, name);
        await mkdir(dir);
        await writeFile(path.join(dir, 'cpu.cfs_period_us'), String(PERIOD_US));
        await writeFile(path.join(dir, 'cpu.cfs_quota_us'), quota);
        return new CpuBudget(dir);
      }
      if (
        existsSync(path.join(v2, 'cgroup.controllers')) &&
        readFileSync(path.join(v2, 'cgroup.controllers'), 'utf8').split(/\s+/).includes('cpu')
      ) {
        const dir = path.join(v2, name);
        await mkdir(dir);
        await writeFile(path.join(dir, 'cpu.max'), `${quota} ${PERIOD_US}`);
        return new CpuBudget(dir);
      }
    } catch {
      // read-only hierarchy or no permission: no budget
    }
    return undefined;
  }

  /** `command` wrapped so the process joins this cgroup before it execs (its children inherit it). */
  wrap(command: string[]): string[] {
    return ['/bin/sh', '-c', 'echo $$ > "$0/cgroup.procs" && exec "$@"', this.dir, ...command];
  }

  /** Removes the cgroup; call after every process in it has exited. */
  async close(): Promise<void> {
    await rmdir(this.dir).catch(() => undefined);
  }
}
