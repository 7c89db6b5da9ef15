/**
 * WebSocket endpoints:
 *   /ws/sessions/{id}[?format=json] — one session's live status; with the control token also the
 *     capture client's channel (`chunk_uploaded`, `set_settings`, credential refreshes).
 *   /ws/events[?format=json] — for dashboards (the admin token where one is set): a snapshot of the
 *     newest sessions and the pool, then every session change and the pool's load each second.
 * A token travels in `Authorization: Bearer …` or, from browsers, as the offered subprotocol
 * `bearer.{base64url}` beside `stereospot` (protocol/messages.ts `socketProtocols`) — never in the URL,
 * which proxies log: `?token=` is refused. Upgrades copy what they need from `req` synchronously,
 * check the Origin (pages of other sites get nothing) and answer 4xx JSON for bad requests.
 */
import type { HttpRequest, HttpResponse, TemplatedApp, us_socket_context_t } from 'uWebSockets.js';
import { chunkKey, isValidId } from '../../protocol/keys.ts';
import {
  CloseCode,
  offersSocketProtocol,
  SOCKET_PROTOCOL,
  tokenFromProtocols,
  type ChunkUploadedMessage,
} from '../../protocol/messages.ts';
import { HttpError } from '../http/errors.ts';
import { errorMessage } from '../log.ts';
import type { RouteDeps } from '../routes/deps.ts';
import { parseClientMessage } from '../../protocol/validate.ts';
import { NotOwnerError } from '../sessions/index.ts';
import { fromSettingsWire, toDashboardSession, toPoolStatus, toStatus } from '../wire.ts';
import { authorityOf, bearerOf, checkControl, checkOrigin, isAdmin } from '../http/guard.ts';
import { baseUrlFromHeaders } from '../http/route.ts';
import { decode } from './codec.ts';
import { readUpgrade, reject } from './upgrade.ts';
import type { SocketHub, Socket, SocketData } from './hub.ts';

const MAX_MESSAGE_BYTES = 16 * 1024;
/** Listed entries a snapshot carries: the newest ones, enough to start at the live edge. */
const SNAPSHOT_ENTRIES = 16;
/** Sessions a dashboard's snapshot carries: the newest ones. */
const DASHBOARD_SESSIONS = 100;

export function mountSockets(app: TemplatedApp, deps: RouteDeps, hub: SocketHub): void {
  const { config, sessions, log } = deps;
  const common = {
    maxPayloadLength: MAX_MESSAGE_BYTES,
    maxBackpressure: config.wsMaxBackpressureBytes,
    idleTimeout: 120,
    sendPingsAutomatically: true,
  };

  const upgradeWith = (kind: SocketData['kind']) => (res: HttpResponse, req: HttpRequest, context: us_socket_context_t) => {
    const { url, query, key, protocol, extensions, headers } = readUpgrade(req);
    let aborted = false;
    res.onAborted(() => (aborted = true));
    // A socket is a page's as much as a request is: one of another origin gets nothing (not even a
    // session's status, which names its playlist).
    let base: string;
    try {
      checkOrigin(headers, config);
      base = baseUrlFromHeaders(headers, config.publicBaseUrl);
    } catch (error) {
      reject(res, error as HttpError);
      return;
    }
    if (query.has('token')) {
      reject(
        res,
        new HttpError(
          400,
          'token_in_url',
          'send the token in Authorization: Bearer … or as the subprotocol bearer.{base64url} beside "stereospot", not in the URL (proxies log URLs)',
          'token',
        ),
      );
      return;
    }
    const token = bearerOf(headers) ?? tokenFromProtocols(protocol);
    // Answer with our protocol when it was offered (browsers require one of theirs back); never the token.
    const chosen = offersSocketProtocol(protocol) ? SOCKET_PROTOCOL : '';
    const upgrade = (data: SocketData) => res.cork(() => res.upgrade(data, key, chosen, extensions, context));
    const format = query.get('format') === 'json' ? 'json' : 'msgpack';
    const data: SocketData = { kind, sessionId: '', control: false, generation: 0, format, baseUrl: base, closed: false };
    if (kind === 'events') {
      if (!isAdmin(token, config.adminToken)) {
        reject(
          res,
          new HttpError(
            401,
            'unauthorized',
            'the dashboard socket needs the admin token (Authorization: Bearer …, or the subprotocol bearer.{base64url})',
          ),
        );
        return;
      }
      upgrade(data);
      return;
    }
    const sessionId = url.slice('/ws/sessions/'.length);
    if (!isValidId(sessionId)) {
      reject(res, new HttpError(400, 'invalid_session_id', 'session id must match ^[A-Za-z0-9_-]{1,64}$', 'session_id'));
      return;
    }
    data.sessionId = sessionId;
    sessions
      .find(sessionId)
      .then((view) => {
        if (aborted) return;
        if (!view) return reject(res, new HttpError(404, 'session_not_found', `no session ${sessionId}`));
        if (token !== null) {
          // The session's control token of its current generation, or the admin token (any session).
          let holder: 'admin' | 'control';
          try {
            holder = checkControl(token, config, deps.signer, authorityOf(view), 'the control socket');
          } catch (error) {
            return reject(res, error as HttpError);
          }
          data.control = true;
          data.generation = holder === 'admin' ? Number.MAX_SAFE_INTEGER : (view.context.controlGeneration ?? 0);
        }
        upgrade(data);
      })
      .catch((error: unknown) => {
        log.error('socket upgrade failed', { session_id: sessionId, error: errorMessage(error) });
        if (!aborted) reject(res, new HttpError(503, 'storage_unavailable', 'the session store is unavailable'));
      });
  };

  app.ws<SocketData>('/ws/sessions/*', {
    ...common,
    upgrade: upgradeWith('session'),
    open: (ws: Socket) => {
      const data = ws.getUserData();
      hub.add(ws);
      void sessions
        .find(data.sessionId)
        .then(async (view) => {
          if (!view || data.closed) return;
          // The newest entries let a viewer that joins mid-stream start at the live edge.
          const entries = await sessions.playlists.entries(view, 0, '', SNAPSHOT_ENTRIES);
          if (data.closed) return;
          hub.send(ws, { type: 'snapshot', session: toStatus(view, data.baseUrl), entries });
          if (data.control) scheduleRefresh(ws);
        })
        .catch((error: unknown) => log.error('snapshot failed', { session_id: data.sessionId, error: errorMessage(error) }));
    },
    message: (ws: Socket, message: ArrayBuffer, isBinary: boolean) => {
      let parsed: unknown;
      try {
        parsed = decode(message, isBinary);
      } catch {
        return protocolError(ws, CloseCode.BadMessage, 'bad_message', 'frame is neither MessagePack nor JSON');
      }
      handleClientMessage(ws, parsed);
    },
    close: (ws: Socket, code: number) => hub.remove(ws, code),
  });

  app.ws<SocketData>('/ws/events', {
    ...common,
    upgrade: upgradeWith('events'),
    open: (ws: Socket) => {
      hub.add(ws);
      const data = ws.getUserData();
      void sessions
        .list(DASHBOARD_SESSIONS)
        .then((views) => {
          if (data.closed) return;
          hub.send(ws, { type: 'sessions', sessions: views.map(toDashboardSession), pool: toPoolStatus(deps.poolStats()) });
        })
        .catch((error: unknown) => log.error('dashboard snapshot failed', { error: errorMessage(error) }));
    },
    message: (ws: Socket) => protocolError(ws, CloseCode.BadMessage, 'bad_message', 'this socket only sends'),
    close: (ws: Socket, code: number) => hub.remove(ws, code),
  });

  function protocolError(ws: Socket, code: number, error: string, message: string): void {
    hub.send(ws, { type: 'error', code: error, message });
    const data = ws.getUserData();
    if (!data.closed) {
      data.closed = true;
      ws.end(code, message);
    }
  }

  /** A decoded frame: checked whole against the ClientMessage types (protocol/validate.ts), then done. */
  function handleClientMessage(ws: Socket, raw: unknown): void {
    const data = ws.getUserData();
    const check = parseClientMessage(raw);
    // Not a message, or not one we know: the peer speaks another protocol.
    if (!check.ok && !('type' in check)) {
      protocolError(ws, CloseCode.BadMessage, check.code, check.message);
      return;
    }
    const type = check.ok ? check.message.type : check.type;
    if (type !== 'ping' && !data.control) {
      protocolError(ws, CloseCode.Unauthorized, 'unauthorized', `${type} needs the control token`);
      return;
    }
    // A known message with a bad field: named, and the socket stays open.
    if (!check.ok) {
      hub.send(ws, { type: 'error', code: check.code, message: check.message });
      return;
    }
    const msg = check.message;
    switch (msg.type) {
      case 'ping':
        hub.send(ws, msg.t === undefined ? { type: 'pong' } : { type: 'pong', t: msg.t });
        return;
      case 'set_settings':
        sessions
          .updateSettings(data.sessionId, fromSettingsWire(msg), msg.mode)
          .then((applied) => {
            if (!applied)
              hub.send(ws, { type: 'error', code: 'session_ended', message: 'the session has ended: its settings can no longer change' });
          })
          .catch((error: unknown) => {
            if (error instanceof NotOwnerError)
              hub.send(ws, { type: 'error', code: 'session_elsewhere', message: 'another server runs this session; retry shortly' });
            else log.error('settings change failed', { session_id: data.sessionId, error: errorMessage(error) });
          });
        return;
      case 'chunk_uploaded':
        void announce(ws, msg);
        return;
    }
  }

  /** The fast path: verify the chunk object exists, then tell the actor (deduplicated there). */
  async function announce(ws: Socket, msg: ChunkUploadedMessage): Promise<void> {
    const data = ws.getUserData();
    if (msg.key !== chunkKey(data.sessionId, msg.index)) {
      hub.send(ws, {
        type: 'error',
        code: 'invalid_chunk',
        message: `chunk_uploaded must name ${chunkKey(data.sessionId, 0).replace('00000', 'NNNNN')} with its index`,
      });
      return;
    }
    try {
      const head = await deps.adapters.objects.head(msg.key);
      if (!head) {
        hub.send(ws, { type: 'error', code: 'chunk_not_found', message: `no object at ${msg.key}` });
        return;
      }
      await sessions.chunkArrived(data.sessionId, msg.index, head.size, 'socket');
    } catch (error) {
      log.warn('fast-path announcement failed', { session_id: data.sessionId, chunk_index: msg.index, error: errorMessage(error) });
    }
  }

  /** Sends fresh upload rights before the current ones expire (at 80% of their lifetime). */
  function scheduleRefresh(ws: Socket): void {
    const data = ws.getUserData();
    const delay = Math.max(1000, config.uploadTokenSeconds * 1000 * 0.8);
    data.refreshTimer = setTimeout(() => {
      if (data.closed) return;
      Promise.all([deps.adapters.grants.issue(data.sessionId, data.baseUrl), sessions.find(data.sessionId)])
        .then(([upload, view]) => {
          if (data.closed) return;
          // A fresh control token of the session's current generation: a stream may outlive one token.
          const generation = view?.context.controlGeneration ?? 0;
          const control = data.generation >= generation ? { control_token: deps.controlToken(data.sessionId, generation) } : {};
          hub.send(ws, { type: 'credentials', session_id: data.sessionId, upload, ...control });
          scheduleRefresh(ws);
        })
        .catch((error: unknown) => log.error('credential refresh failed', { session_id: data.sessionId, error: errorMessage(error) }));
    }, delay);
    data.refreshTimer.unref();
  }
}
