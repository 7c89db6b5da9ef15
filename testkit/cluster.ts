/**
 * Server nodes as separate processes on the AWS profile (the emulators) sharing one Redis, as a
 * deployment runs them; helpers to read their metrics and to compare their playlists.
 */
import type { ChildProcess } from 'node:child_process';
import type { Test } from 'tap';
import { getText } from './http.ts';
import { tempDir, until } from './server.ts';
import type { AwsEmulators } from './aws.ts';
import { freePort, spawnNode } from './node-process.ts';

export interface ServerNode {
  name: string;
  port: number;
  url: string;
  child: ChildProcess;
  /** Everything the process printed (warnings and errors: LOG_LEVEL=warn). */
  log: string;
  killed: boolean;
}

/** Starts `names.length` nodes with short leases and visibility (2 s), each with one pool worker; waits until all see each other. */
export async function startNodes(t: Test, aws: AwsEmulators, redisUrl: string, names: string[]): Promise<ServerNode[]> {
  const nodes: ServerNode[] = [];
  for (const name of names) {
    const port = await freePort();
    const child = spawnNode(['server/main.ts'], {
      ...aws.env,
      REDIS_URL: redisUrl,
      NODE_ID: name,
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: await tempDir(t),
      EXECUTION_PROVIDER: 'cpu',
      GPU_POOL_WORKERS: '1',
      SESSION_LEASE_SECONDS: '2',
      SQS_VISIBILITY_SECONDS: '2',
    });
    const node: ServerNode = { name, port, url: `http://127.0.0.1:${port}`, child, log: '', killed: false };
    child.stdout!.on('data', (d: Buffer) => (node.log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (node.log += d.toString()));
    t.teardown(() => void child.kill('SIGKILL'));
    nodes.push(node);
  }
  for (const node of nodes) await until(async () => (await fetch(`${node.url}/healthz`)).ok, `${node.name} up`, 60_000);
  for (const node of nodes)
    await until(
      async () => (await metric(node, 'stereospot_cluster_nodes')) === names.length,
      `${node.name} to see all ${names.length}`,
      10_000,
    );
  return nodes;
}

/** An unlabelled gauge or counter from the node's /metrics (NaN when absent). */
export async function metric(node: ServerNode, name: string): Promise<number> {
  return Number(new RegExp(`^${name} (\\d+)$`, 'm').exec((await getText(`${node.url}/metrics`)).text)?.[1]);
}

/** The node running the session: the one whose gauge shows a session running there. */
export async function ownerOf(nodes: ServerNode[], what = 'the owner'): Promise<ServerNode> {
  return until(
    async () => {
      for (const node of nodes) if ((await metric(node, 'stereospot_sessions_running').catch(() => 0)) === 1) return node;
      return undefined;
    },
    what,
    30_000,
  );
}

/** A playlist reduced to what must agree across nodes: segment names, durations, gaps, tags (no signatures). */
export function shape(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('#EXT-X-SERVER-CONTROL') && !l.startsWith('#EXT-X-PROGRAM-DATE-TIME') && !l.startsWith('#EXT-X-MAP'))
    .map((l) => (l.startsWith('#') ? l : (/(seg_\d{5}\.m4s)/.exec(l)?.[1] ?? l)));
}

/** The segment names a playlist lists, in order. */
export const segments = (text: string): string[] => shape(text).filter((l) => /^seg_\d{5}\.m4s$/.test(l));
