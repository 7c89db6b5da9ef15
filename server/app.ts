/**
 * The uWebSockets.js application: HTTP routes, WebSocket endpoints, and the wiring of session
 * changes to subscribers. Owns the listen socket and the fixed shutdown order.
 */
import type { TemplatedApp, us_listen_socket } from 'uWebSockets.js';
import { CloseCode } from '../protocol/messages.ts';
import type { Adapters, PoolHandle } from './adapters/ports.ts';
import type { Config } from './config.ts';
import { HttpError } from './http/errors.ts';
import { requireAdmin } from './http/guard.ts';
import { Admission } from './admission.ts';
import { route } from './http/route.ts';
import { errorMessage, type Logger } from './log.ts';
import { CONTENT_TYPE, type Metrics } from './metrics.ts';
import { registerServerMetrics } from './server-metrics.ts';
import type { RouteDeps } from './routes/deps.ts';
import { createSession, endSession, getSession, listSessions, rotateControlToken } from './routes/sessions.ts';
import { getPlaylist, getSegment } from './routes/stream.ts';
import { putChunk } from './routes/upload.ts';
import { asset, page } from './routes/pages.ts';
import { toDashboardMessage, toServerMessages } from './ws/messages.ts';
import { toPoolStatus } from './wire.ts';
import type { SessionService } from './sessions/index.ts';
import type { LiveStreams } from './live/live-streams.ts';
import type { Telemetry } from './telemetry.ts';
import type { TokenSigner } from './tokens.ts';
import { SocketHub } from './ws/hub.ts';
import { OrderedPublisher } from './ws/publisher.ts';
import { type LiveSockets, mountLiveSockets } from './ws/live-sockets.ts';
import { mountSockets } from './ws/sockets.ts';

export interface AppOptions {
  /** The uWebSockets.js build for this runtime (uws-native.ts). */
  uws: typeof import('uWebSockets.js');
  config: Config;
  adapters: Adapters;
  sessions: SessionService;
  pool: PoolHandle;
  signer: TokenSigner;
  /** The server's registry (`/metrics`) and the instruments the routes report to. */
  metrics: Metrics;
  telemetry: Telemetry;
  log: Logger;
  /** Called with each shutdown step's name, in order (tests assert the order). */
  onShutdownStep?: (step: ShutdownStep) => void;
  /** The live paths (frame by frame); none: the server has no live path. */
  live?: LiveStreams;
  /** What is degraded right now (e.g. `bus`: Redis unreachable), for /healthz; nothing when absent. */
  degraded?: () => string[];
}

export type ShutdownStep = 'stop-accepting' | 'settle-actors' | 'close-pool' | 'flush-stores';

/**
 * A control token's life: a day, renewed over the control socket with every credential refresh (so a
 * stream may run longer), and revoked at once by rotating it (POST /stream_sessions/{id}/control_token).
 */
const CONTROL_TOKEN_MS = 24 * 3600 * 1000;

export class StereoSpotApp {
  readonly #opts: AppOptions;
  readonly #app: TemplatedApp;
  readonly #hub: SocketHub;
  readonly #liveSockets: LiveSockets | null;
  readonly #metrics: Metrics;
  readonly #log: Logger;
  #listenSocket: us_listen_socket | null = null;
  #closing: Promise<void> | null = null;
  #unsubscribe: () => void = () => {};
  /** Pushes the pool's load to dashboards each second (nothing is sent when none is connected). */
  readonly #poolTicker: NodeJS.Timeout;
  port = 0;

  constructor(opts: AppOptions) {
    this.#opts = opts;
    this.#log = opts.log;
    this.#metrics = opts.metrics;
    this.#hub = new SocketHub(opts.config.wsMaxBackpressureBytes, opts.log.child({ component: 'ws' }));
    this.#app = this.#opts.uws.App();
    const deps: RouteDeps = {
      config: opts.config,
      adapters: opts.adapters,
      sessions: opts.sessions,
      signer: opts.signer,
      metrics: this.#metrics,
      telemetry: opts.telemetry,
      log: opts.log.child({ component: 'http' }),
      controlToken: (id, generation = 0) => opts.signer.issue('control', id, Date.now() + CONTROL_TOKEN_MS, generation),
      poolStats: () => opts.pool.stats(),
      admission: new Admission(opts.config.limits, this.#metrics),
    };
    registerServerMetrics(this.#metrics, {
      sessions: opts.sessions,
      adapters: opts.adapters,
      hub: this.#hub,
      pool: opts.pool,
      ...(opts.live ? { live: opts.live } : {}),
    });
    this.#mountRoutes(deps);
    mountSockets(this.#app, deps, this.#hub);
    this.#liveSockets = opts.live ? mountLiveSockets(this.#app, deps, opts.live) : null;
    this.#hub.onFanOut((f) => {
      if (f.sessionId !== null) opts.telemetry.fannedOut(Number(f.endedAt - f.startedAt) / 1e9);
    });
    const publisher = new OrderedPublisher(opts.log.child({ component: 'ws' }));
    this.#unsubscribe = opts.sessions.subscribe((sessionId, changes, view) => {
      if (view.phase === 'ended') deps.admission.ended(sessionId);
      for (const change of changes) if (change.kind === 'control') this.#hub.revokeControl(sessionId, change.generation);
      if (this.#hub.hasDashboards) this.#hub.publishDashboard(toDashboardMessage(view));
      if (!this.#hub.hasSubscribers(sessionId)) return;
      publisher.enqueue(sessionId, async () => {
        // Entry URLs are relative (signed, no host): every subscriber gets the same bytes.
        const messages = await toServerMessages(sessionId, changes, (from) => opts.sessions.playlists.entries(view, from, ''));
        this.#hub.publish(sessionId, messages);
      });
    });
    this.#poolTicker = setInterval(() => {
      if (this.#hub.hasDashboards) this.#hub.publishDashboard({ type: 'pool', pool: toPoolStatus(deps.poolStats()) });
    }, 1000);
    this.#poolTicker.unref();
  }

  get metrics(): Metrics {
    return this.#metrics;
  }

  get hub(): SocketHub {
    return this.#hub;
  }

  /** The live paths (none when LIVE_MAX is 0). */
  get live(): LiveStreams | undefined {
    return this.#opts.live;
  }

  #mountRoutes(deps: RouteDeps): void {
    const app = this.#app;
    const log = deps.log;
    // Preflights: media only (see http/context.ts); anything else gets no CORS headers, so a browser
    // refuses the cross-origin request it was asking about.
    app.options(
      '/*',
      route(log, (ctx) => {
        ctx.cors = ctx.path.startsWith('/stream/') || ctx.path.startsWith('/segments/');
        ctx.send(204, '', [['Access-Control-Max-Age', '600']]);
      }),
    );
    app.post(
      '/stream_sessions',
      route(log, (ctx) => createSession(ctx, deps)),
    );
    app.post(
      '/stream_sessions/:id/control_token',
      route(log, (ctx) => rotateControlToken(ctx, deps, ctx.params[0]), 1),
    );
    app.get(
      '/stream_sessions',
      route(log, (ctx) => listSessions(ctx, deps)),
    );
    app.get(
      '/stream_sessions/:id',
      route(log, (ctx) => getSession(ctx, deps, ctx.params[0]), 1),
    );
    app.post(
      '/stream_sessions/:id/end',
      route(log, (ctx) => endSession(ctx, deps, ctx.params[0]), 1),
    );
    app.get(
      '/stream/:id/:file',
      route(log, (ctx) => getPlaylist(ctx, deps, ctx.params[0], ctx.params[1]), 2),
    );
    app.get(
      '/segments/:id/:file',
      route(log, (ctx) => getSegment(ctx, deps, ctx.params[0], ctx.params[1]), 2),
    );
    app.put(
      '/upload/:id/:file',
      route(log, (ctx) => putChunk(ctx, deps, ctx.params[0], ctx.params[1]), 2),
    );
    app.get(
      '/healthz',
      route(log, (ctx) => {
        // Degraded is still 200: the node serves what it can (its own sessions, stored state), so a load
        // balancer keeps it; operators read `degraded` and /metrics.
        const degraded = this.#opts.degraded?.() ?? [];
        ctx.json(
          200,
          {
            status: this.#closing ? 'shutting_down' : degraded.length > 0 ? 'degraded' : 'ok',
            degraded,
            profile: deps.config.profile,
            streaming_enabled: deps.config.streamingEnabled,
            sessions_live: this.#opts.sessions.liveCount,
            pool: deps.poolStats(),
          },
          [['Cache-Control', 'no-store']],
        );
      }),
    );
    app.get(
      '/metrics',
      route(log, async (ctx) => {
        requireAdmin(ctx.headers, deps.config, '/metrics');
        ctx.send(200, await this.#metrics.render(), [
          ['Content-Type', CONTENT_TYPE],
          ['Cache-Control', 'no-store'],
        ]);
      }),
    );
    app.get('/', route(log, page('dashboard')));
    app.get('/capture', route(log, page('capture')));
    app.get('/watch/:id', route(log, page('watch'), 1));
    app.get('/assets/*', route(log, asset));
    app.any(
      '/*',
      route(log, (ctx) => {
        throw new HttpError(404, 'not_found', `no route for ${ctx.method} ${ctx.path}`);
      }),
    );
  }

  /** Listens on config.host:config.port (0 picks a free port); resolves with the port. */
  listen(): Promise<number> {
    const { host, port } = this.#opts.config;
    return new Promise((resolve, reject) => {
      this.#app.listen(host, port, (socket) => {
        if (!socket) {
          reject(new Error(`could not listen on ${host}:${port} (in use or not permitted)`));
          return;
        }
        this.#listenSocket = socket;
        this.port = this.#opts.uws.us_socket_local_port(socket);
        resolve(this.port);
      });
    });
  }

  /**
   * Shuts down in a fixed order: stop accepting (listen socket, sockets) → settle actors (stop them,
   * flush session records) → close the pool (with a timeout) → flush and close the stores. Safe twice.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    const step = (name: ShutdownStep) => {
      this.#log.info(`shutdown: ${name}`);
      this.#opts.onShutdownStep?.(name);
    };
    step('stop-accepting');
    clearInterval(this.#poolTicker);
    if (this.#listenSocket) this.#opts.uws.us_listen_socket_close(this.#listenSocket);
    this.#listenSocket = null;
    this.#hub.closeAll(CloseCode.GoingAway, 'server shutting down');
    this.#liveSockets?.closeAll(CloseCode.GoingAway, 'server shutting down');
    await this.#opts.live?.close();
    step('settle-actors');
    this.#unsubscribe();
    await this.#opts.sessions.close();
    step('close-pool');
    try {
      const { forced } = await this.#opts.pool.close({ timeoutMs: this.#opts.config.shutdownTimeoutMs });
      if (forced) this.#log.warn('pool: conversions still running at the shutdown timeout were stopped by force');
    } catch (error) {
      this.#log.warn('pool did not close cleanly', { error: errorMessage(error) });
    }
    step('flush-stores');
    await this.#opts.adapters.close();
  }
}
