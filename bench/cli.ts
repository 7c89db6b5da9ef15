/** `npm run bench -- <scenario> [options]`: benchmark scenarios; results also saved as JSON in bench/results/. */
import { mkdir, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { defaultPipelineOptions, runPipeline } from './scenarios/pipeline.ts';

const USAGE = `Usage: npm run bench -- <scenario> [options]

Scenarios:
  pipeline    chunk conversion throughput at 360p and 720p (30 fps): seconds per chunk,
              realtime factor and each stage's share (decode, depth, stereo, encode)

Options (pipeline):
  --chunks N          chunks per resolution (default 6)
  --chunk-seconds N   chunk length (default 2)
  --workers N         pool threads (default: GPUs, else CPU cores)
  --sizes WxH,WxH     source sizes (default 640x360,1280x720)
  --mode sbs|anaglyph (default sbs)`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      chunks: { type: 'string' },
      'chunk-seconds': { type: 'string' },
      workers: { type: 'string' },
      sizes: { type: 'string' },
      mode: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const scenario = positionals[0];
  if (values.help || !scenario) {
    process.stdout.write(USAGE + '\n');
    return scenario || values.help ? 0 : 2;
  }
  if (scenario !== 'pipeline') {
    process.stderr.write(`unknown scenario "${scenario}"\n\n${USAGE}\n`);
    return 2;
  }
  const options = defaultPipelineOptions();
  const int = (name: string, raw: string | undefined, fallback: number) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer (got "${raw}")`);
    return n;
  };
  options.chunks = int('chunks', values.chunks, options.chunks);
  options.chunkSeconds = int('chunk-seconds', values['chunk-seconds'], options.chunkSeconds);
  options.workers = int('workers', values.workers, options.workers);
  if (values.mode === 'anaglyph' || values.mode === 'sbs') options.mode = values.mode;
  else if (values.mode !== undefined) throw new Error(`--mode must be sbs or anaglyph (got "${values.mode}")`);
  if (values.sizes) {
    options.sizes = values.sizes.split(',').map((s) => {
      const m = /^(\d+)x(\d+)$/.exec(s.trim());
      if (!m) throw new Error(`--sizes must be WxH[,WxH…] (got "${values.sizes}")`);
      return [Number(m[1]), Number(m[2])] as [number, number];
    });
  }
  process.stdout.write(`pipeline: ${options.chunks} × ${options.chunkSeconds}s chunks per size, ${options.mode}\n`);
  const rows = await runPipeline(options, (line) => process.stdout.write(line + '\n'));
  await mkdir(new URL('./results/', import.meta.url), { recursive: true });
  const file = new URL(`./results/pipeline-${new Date().toISOString().replace(/[:.]/g, '-')}.json`, import.meta.url);
  await writeFile(file, JSON.stringify({ scenario: 'pipeline', options, rows }, null, 2));
  process.stdout.write(`results: ${file.pathname}\n`);
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
