/** A real `redis-server` (Debian package) of the test's own on a free port, stopped at teardown. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { until } from './server.ts';
import { freePort } from './node-process.ts';
import type { Teardown } from './teardown.ts';

export interface RedisServer {
  url: string;
  /** Kills the server (SIGKILL: an outage, not a shutdown); resolves once it has exited. */
  stop(): Promise<void>;
  /** Starts it again on the same port, empty (no persistence); resolves once it listens. */
  start(): Promise<void>;
}

/** Starts redis-server; resolves with its URL. */
export async function startRedis(t: Teardown): Promise<string> {
  return (await startRedisServer(t)).url;
}

/** Starts redis-server and returns controls to take it away and bring it back. */
export async function startRedisServer(t: Teardown): Promise<RedisServer> {
  if (!existsSync('/usr/bin/redis-server')) throw new Error('redis-server is missing: apt-get install redis-server');
  const port = await freePort();
  let child: ChildProcess | null = null;
  t.teardown(() => void child?.kill('SIGKILL'));
  const listening = (yes: boolean) =>
    until(
      () =>
        new Promise<boolean>((resolve) => {
          const socket = net.connect(port, '127.0.0.1', () => {
            socket.end();
            resolve(yes);
          });
          socket.on('error', () => resolve(!yes));
        }),
      yes ? 'redis-server to listen' : 'redis-server to stop listening',
      10_000,
    );
  const server: RedisServer = {
    url: `redis://127.0.0.1:${port}`,
    async start() {
      if (child) return;
      child = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
        stdio: 'ignore',
      });
      await listening(true);
    },
    async stop() {
      const running = child;
      if (!running) return;
      child = null;
      const exited = new Promise<void>((resolve) => (running.exitCode !== null ? resolve() : running.once('exit', () => resolve())));
      running.kill('SIGKILL');
      await exited;
      await listening(false);
    },
  };
  await server.start();
  return server;
}
