/** A real `redis-server` (Debian package) of the test's own on a free port, stopped at teardown. */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import { until } from '../../server/test/helpers/server.ts';
import { freePort } from './node-process.ts';
import type { Teardown } from './teardown.ts';

export async function startRedis(t: Teardown): Promise<string> {
  if (!existsSync('/usr/bin/redis-server')) throw new Error('redis-server is missing: apt-get install redis-server');
  const port = await freePort();
  const child = spawn('/usr/bin/redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
  t.teardown(() => void child.kill('SIGKILL'));
  await until(() => new Promise<boolean>((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  }), 'redis-server to listen', 10_000);
  return `redis://127.0.0.1:${port}`;
}
