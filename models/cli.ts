/**
 * `npm run models -- <command>`: the depth networks on this machine.
 *   list                                  the catalogue and what the cache holds
 *   fetch <name>                          a catalogue entry into the cache
 *   fetch <url> --name N [--family F] [--sha256 HEX]   any ONNX file (its family for the sidecar)
 *   path <name>                           the cached file's path (for DEPTH_MODEL_PATH)
 * The cache is MODELS_DIR (default ~/.cache/stereospot/models); the server loads a cached model with
 * DEPTH_MODEL=<name>. Downloads resume when run again, show progress, and are checked by sha256.
 */
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { FAMILIES } from '../gpu-pool/model-spec.ts';
import { cachedModelPath, MODEL_NAME, modelsDir } from '../gpu-pool/model-cache.ts';
import { CATALOGUE } from './catalogue.ts';
import { download, DownloadError, type DownloadProgress } from './download.ts';

const USAGE = `usage: npm run models -- list
       npm run models -- fetch <name>                 (a catalogue entry)
       npm run models -- fetch <url> --name NAME [--family FAMILY] [--sha256 HEX]
       npm run models -- path <name>
The cache: MODELS_DIR (default ~/.cache/stereospot/models). The server: DEPTH_MODEL=<name>.`;

class UsageError extends Error {}

/** Where the first download of each name recorded its sha256 (trust on first use for unpinned entries). */
async function readChecksums(dir: string): Promise<Record<string, string>> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'checksums.json'), 'utf8')) as Record<string, string>;
  } catch {
    return {};
  }
}

/** A progress line: a bar on a terminal, a line per 10 % elsewhere. */
function progressReporter(out: NodeJS.WriteStream): (p: DownloadProgress) => void {
  let lastTenth = -1;
  const mb = (n: number) => (n / 1024 / 1024).toFixed(1);
  return (p) => {
    const fraction = p.total ? p.received / p.total : null;
    if (out.isTTY) {
      const width = 30;
      const filled = fraction === null ? 0 : Math.round(fraction * width);
      out.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${mb(p.received)}${p.total ? ` / ${mb(p.total)}` : ''} MiB`);
      return;
    }
    const tenth = fraction === null ? Math.floor(p.received / (10 * 1024 * 1024)) : Math.floor(fraction * 10);
    if (tenth !== lastTenth) {
      lastTenth = tenth;
      out.write(
        `${mb(p.received)}${p.total ? ` / ${mb(p.total)} MiB (${Math.round((fraction ?? 0) * 100)} %)` : ' MiB'}${p.resumedFrom ? `, resumed at ${mb(p.resumedFrom)} MiB` : ''}\n`,
      );
    }
  };
}

async function fetchModel(target: string, values: { name?: string; family?: string; sha256?: string }): Promise<number> {
  const dir = modelsDir(process.env);
  const entry = CATALOGUE[target];
  let url: string;
  let name: string;
  let family: string;
  let licence: string;
  if (entry) {
    ({ url, family, licence } = entry);
    name = values.name ?? target;
  } else if (/^https?:\/\//.test(target)) {
    if (!values.name) throw new UsageError('a URL needs --name NAME (what DEPTH_MODEL will take)');
    url = target;
    name = values.name;
    family = values.family ?? '';
    licence = family && FAMILIES[family] ? FAMILIES[family]!.licence : 'unknown: check the source';
    if (family && !FAMILIES[family]) throw new UsageError(`--family must be one of ${Object.keys(FAMILIES).join(', ')}`);
  } else {
    throw new UsageError(`${target} is neither a catalogue entry (${Object.keys(CATALOGUE).join(', ')}) nor an http(s) URL`);
  }
  if (!MODEL_NAME.test(name)) throw new UsageError(`--name must match ${MODEL_NAME}`);
  const file = cachedModelPath(dir, name);
  const checksums = await readChecksums(dir);
  const pinned = values.sha256 ?? entry?.sha256 ?? checksums[name];
  process.stderr.write(
    `fetching ${name} from ${url}\n  into ${file}\n  ${pinned ? `expecting sha256 ${pinned}` : 'no checksum known yet: it will be printed and recorded'}\n`,
  );
  const { bytes, sha256 } = await download(url, file, {
    ...(pinned ? { sha256: pinned } : {}),
    onProgress: progressReporter(process.stderr),
  });
  if (process.stderr.isTTY) process.stderr.write('\n');
  checksums[name] = sha256;
  await writeFile(path.join(dir, 'checksums.json'), JSON.stringify(checksums, null, 2) + '\n');
  // The sidecar says what the network is, so the server loads it without guessing.
  if (family) await writeFile(path.join(dir, `${name}.json`), JSON.stringify({ family, licence }, null, 2) + '\n');
  process.stdout.write(`${name}: ${bytes} bytes, sha256 ${sha256}${pinned ? ' (verified)' : ' (recorded: later fetches must match)'}\n`);
  process.stdout.write(
    family
      ? `use it: DEPTH_MODEL=${name} npm start\n`
      : `describe it in ${path.join(dir, `${name}.json`)} (README "Depth models"), then DEPTH_MODEL=${name} npm start\n`,
  );
  return 0;
}

async function list(): Promise<number> {
  const dir = modelsDir(process.env);
  const checksums = await readChecksums(dir);
  process.stdout.write(`cache: ${dir}\n`);
  for (const [name, entry] of Object.entries(CATALOGUE)) {
    const cached = existsSync(cachedModelPath(dir, name)) ? 'cached' : 'not fetched';
    process.stdout.write(`  ${name.padEnd(26)} ${cached.padEnd(12)} ${entry.licence.padEnd(11)} ${entry.about}\n`);
  }
  for (const name of Object.keys(checksums)) {
    if (!CATALOGUE[name] && existsSync(cachedModelPath(dir, name)))
      process.stdout.write(`  ${name.padEnd(26)} cached       (fetched from a URL)\n`);
  }
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { name: { type: 'string' }, family: { type: 'string' }, sha256: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [command, target] = positionals;
  if (values.help || command === undefined) {
    process.stdout.write(USAGE + '\n');
    return command === undefined && !values.help ? 2 : 0;
  }
  if (command === 'list') return list();
  if (command === 'fetch' && target) return fetchModel(target, values);
  if (command === 'path' && target) {
    const file = cachedModelPath(modelsDir(process.env), target);
    if (!existsSync(file)) throw new UsageError(`${target} is not in the cache; fetch it first: npm run models -- fetch ${target}`);
    process.stdout.write(file + '\n');
    return 0;
  }
  throw new UsageError(`unknown command: ${positionals.join(' ')}`);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof UsageError || (error instanceof TypeError && /parseArgs|Unknown option|model name/.test(error.message))) {
      process.stderr.write(`error: ${error.message}\n\n${USAGE}\n`);
      process.exit(2);
    }
    process.stderr.write(
      `error: ${error instanceof DownloadError ? error.message : error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exit(1);
  },
);
