/** The composition root: config from the environment → server → signals → shutdown. */
import { configFromEnvironment, loggingFromEnvironment } from './config.ts';
import { configureLogging, createLogger, errorMessage } from './log.ts';
import { startServer } from './server.ts';

configureLogging(loggingFromEnvironment());
const log = createLogger('main');

async function main(): Promise<void> {
  const config = configFromEnvironment((message) => log.error(message));
  if (!config) process.exit(78); // EX_CONFIG
  const server = await startServer(config, { log: createLogger('server') });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) {
      log.warn('second signal: exiting now', { signal });
      process.exit(130);
    }
    stopping = true;
    log.info('shutting down', { signal });
    server.close().then(
      () => process.exit(0),
      (error: unknown) => {
        log.error('shutdown failed', { error: errorMessage(error) });
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((error: unknown) => {
  log.error('server failed to start', { error: errorMessage(error) });
  process.exit(1);
});
