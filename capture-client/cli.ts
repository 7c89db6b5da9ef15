/** `npm run capture -- [options]`: stream a source to a StereoSpot Live server. */
import { parseOptions, USAGE, UsageError } from './options.ts';
import { CaptureRunner } from './runner.ts';

/** Signals this close together are one stop, not a stop and then "quit now". */
const SAME_STOP_MS = 500;

async function main(): Promise<number> {
  let options;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`error: ${error.message}\n\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  if (options === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const runner = new CaptureRunner(options, { stdout: process.stdout, stderr: process.stderr });
  let stopping: number | null = null;
  const onSignal = () => {
    const now = performance.now();
    if (stopping !== null) {
      // One stop delivered twice — to the process group and forwarded by a parent, as `npm run demo`,
      // systemd and `timeout` do — is one stop; a second Ctrl-C a moment later quits now.
      if (now - stopping >= SAME_STOP_MS) process.exit(130);
      return;
    }
    stopping = now;
    process.stderr.write('\nstopping: uploading what was captured and ending the session (Ctrl-C again to quit now)\n');
    runner.stop();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const result = await runner.run();
  return result.closed ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`error: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
