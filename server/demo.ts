/**
 * `npm run demo`: the server on the local profile plus a capture client streaming the built-in test
 * source (a moving pattern with a tone) through it — what a person would run in two terminals.
 * Chunks are 0.5 s unless CHUNK_SECONDS says otherwise: the demo shows the lowest latency.
 * Ctrl-C ends the stream cleanly (the playlist closes), then stops the server.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { configFromEnvironment, loggingFromEnvironment } from './config.ts';
import { configureLogging, createLogger, errorMessage } from './log.ts';
import { startServer } from './server.ts';

/** Signals this close together are one stop (as in the capture client), not a stop and then "quit now". */
const SAME_STOP_MS = 500;

configureLogging(loggingFromEnvironment());
const log = createLogger('demo');

async function main(): Promise<number> {
  // The demo shows the lowest latency: 0.5-s chunks unless CHUNK_SECONDS says otherwise.
  const config = configFromEnvironment((message) => log.error(message), { CHUNK_SECONDS: '0.5' });
  if (!config) return 78; // EX_CONFIG
  const server = await startServer(config, { log: createLogger('server') });
  const base = server.url;
  const cli = fileURLToPath(new URL('../capture-client/cli.ts', import.meta.url));
  const args = ['--import', 'tsx', cli, '--server', base, '--source', 'test', ...process.argv.slice(2)];
  log.info('starting the capture client', { source: 'test', server: base });
  process.stderr.write(
    `\n  Dashboard:    ${base}/   (every session live; "watch" opens the player — its URL is also printed` +
      ` below as "Watch:")\n  Capture page: ${base}/capture   (stream a screen, window, tab or camera from a browser)` +
      `\n  Stop:         Ctrl-C (ends the session cleanly)\n\n`,
  );
  const child = spawn(process.execPath, args, { stdio: 'inherit' });
  let stopping: number | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    const now = performance.now();
    if (stopping !== null) {
      // A stop sent to the process group and forwarded by npm arrives twice: one stop.
      if (now - stopping >= SAME_STOP_MS) process.exit(130);
      return;
    }
    stopping = now;
    // The terminal sends Ctrl-C to the whole process group; forward it when it did not (e.g. kill). (The
    // client takes a signal that reached it both ways at once as one stop.)
    if (signal === 'SIGTERM') child.kill('SIGINT');
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const code = await new Promise<number>((resolve) => child.on('close', (c) => resolve(c ?? 1)));
  await server.close();
  return code;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log.error('demo failed', { error: errorMessage(error) });
    process.exit(1);
  },
);
