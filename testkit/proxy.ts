/**
 * A round-robin reverse proxy of the tests' own, standing in for a load balancer in front of several
 * nodes: each HTTP request and each WebSocket upgrade goes to the next node in turn; a node that
 * refuses the connection (it died) is skipped for the next one, as a load balancer's health check
 * would. Request bodies are small here (uploads go to S3 directly), so they are buffered to be retried.
 * With one backend it is a plain proxy that can cut and refuse WebSocket upgrades by path (a network fault).
 */
import http from 'node:http';
import net from 'node:net';
import type { Test } from 'tap';

export interface RoundRobinProxy {
  url: string;
  /** Requests and upgrades forwarded, per backend port. */
  forwarded: Map<number, number>;
  /**
   * A network fault for WebSocket upgrades whose path starts with `prefix`: their tunnels are cut now
   * and new ones answered 503 until `refuseUpgrades(null)`. Returns how many tunnels were cut.
   */
  refuseUpgrades(prefix: string | null): number;
}

export async function startRoundRobinProxy(t: Test, ports: number[]): Promise<RoundRobinProxy> {
  let next = 0;
  const forwarded = new Map<number, number>(ports.map((p) => [p, 0]));
  /** Tries the backends in turn from the next one; `attempt` gets a port and reports whether it connected. */
  const tryEach = (attempt: (port: number, failed: () => void) => void, none: () => void, tries = 0): void => {
    if (tries >= ports.length) {
      none();
      return;
    }
    const port = ports[next++ % ports.length]!;
    attempt(port, () => tryEach(attempt, none, tries + 1));
  };

  const server = http.createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (d: Buffer) => body.push(d));
    req.on('end', () => {
      tryEach(
        (port, failed) => {
          const upstream = http.request({ host: '127.0.0.1', port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
            forwarded.set(port, (forwarded.get(port) ?? 0) + 1);
            res.writeHead(answer.statusCode ?? 502, answer.headers);
            answer.pipe(res);
            answer.on('error', () => res.destroy());
          });
          let answered = false;
          upstream.on('response', () => (answered = true));
          // Refused or reset before an answer: the next node. After it: the client sees the break.
          upstream.on('error', () => (answered ? res.destroy() : failed()));
          upstream.end(Buffer.concat(body));
        },
        () => {
          res.writeHead(502, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ error: 'no_backend', message: 'no node answered' }));
        },
      );
    });
  });

  /** Each client's tunnel, by the path it upgraded. */
  const tunnels = new Map<net.Socket, string>();
  let refused: string | null = null;
  server.on('upgrade', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    if (refused !== null && req.url?.startsWith(refused)) {
      client.end('HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
      return;
    }
    tunnels.set(client, req.url ?? '');
    client.on('close', () => tunnels.delete(client));
    client.on('error', () => client.destroy());
    tryEach(
      (port, failed) => {
        const upstream = net.connect(port, '127.0.0.1');
        upstream.once('error', failed);
        upstream.once('connect', () => {
          upstream.off('error', failed);
          upstream.on('error', () => client.destroy());
          forwarded.set(port, (forwarded.get(port) ?? 0) + 1);
          const lines = [`${req.method} ${req.url} HTTP/1.1`];
          for (let i = 0; i < req.rawHeaders.length; i += 2) lines.push(`${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}`);
          upstream.write(lines.join('\r\n') + '\r\n\r\n');
          if (head.length > 0) upstream.write(head);
          upstream.pipe(client);
          client.pipe(upstream);
          upstream.on('close', () => client.destroy());
          client.on('close', () => upstream.destroy());
        });
      },
      () => client.destroy(),
    );
  });

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    for (const socket of tunnels.keys()) socket.destroy();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const refuseUpgrades = (prefix: string | null): number => {
    refused = prefix;
    let cut = 0;
    for (const [socket, url] of tunnels) {
      if (prefix === null || !url.startsWith(prefix)) continue;
      socket.destroy();
      cut++;
    }
    return cut;
  };
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, forwarded, refuseUpgrades };
}
