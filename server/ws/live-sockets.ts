/**
 * /ws/live/{id} — a session's live path (protocol/live.ts). With the session's control token (or the
 * admin token) the socket publishes: a `live_config` text frame, then media frames; a new publisher
 * replaces the old. Without a token it watches: the converted stream's `live_config`, media frames from
 * the next keyframe, `live_stats` now and then, `live_end` when the path stops. Only the node running
 * the session's actor runs its live path: elsewhere a viewer hears `live_end` (`not_here`) at once and
 * plays the HLS stream, which every node serves; a publisher is refused (409) and keeps uploading chunks.
 */
import type { TemplatedApp, WebSocket } from 'uWebSockets.js';
import { isValidId } from '../../protocol/keys.ts';
import { LIVE_HEADER_BYTES, MAX_LIVE_PAYLOAD, parseLiveConfig, parseLiveFrame } from '../../protocol/live.ts';
import { CloseCode, offersSocketProtocol, SOCKET_PROTOCOL, tokenFromProtocols } from '../../protocol/messages.ts';
import { HttpError } from '../http/errors.ts';
import { authorityOf, bearerOf, checkControl, checkOrigin } from '../http/guard.ts';
import type { LivePath } from '../live/live-path.ts';
import type { LiveStreams } from '../live/live-streams.ts';
import type { LiveViewer } from '../live/viewer-set.ts';
import { errorMessage } from '../log.ts';
import type { RouteDeps } from '../routes/deps.ts';
import { readUpgrade, reject } from './upgrade.ts';

interface LiveSocketData {
  sessionId: string;
  publisher: boolean;
  stream: LivePath | null;
  viewer: LiveViewer | null;
  closed: boolean;
}

/** A viewer's socket sends no more than this while its reader lags; past it, frames are skipped to the next keyframe. */
const VIEWER_BUFFER_BYTES = 1024 * 1024;

/** The live sockets' handle for the shutdown. */
export interface LiveSockets {
  /** Closes every live socket (publishers and viewers) and refuses new ones. */
  closeAll(code: number, reason: string): void;
}

export function mountLiveSockets(app: TemplatedApp, deps: RouteDeps, live: LiveStreams): LiveSockets {
  const { config, sessions, log } = deps;
  // Every open live socket, for the shutdown (bounded by the connections uWS accepts).
  const open = new Set<WebSocket<LiveSocketData>>();
  let shuttingDown = false;
  app.ws<LiveSocketData>('/ws/live/*', {
    maxPayloadLength: LIVE_HEADER_BYTES + MAX_LIVE_PAYLOAD,
    maxBackpressure: 4 * VIEWER_BUFFER_BYTES,
    closeOnBackpressureLimit: 0,
    idleTimeout: 60,
    sendPingsAutomatically: true,
    upgrade: (res, req, context) => {
      const { url, key, protocol, extensions, headers } = readUpgrade(req);
      const sessionId = url.slice('/ws/live/'.length);
      let aborted = false;
      res.onAborted(() => (aborted = true));
      try {
        checkOrigin(headers, config);
        if (!isValidId(sessionId))
          throw new HttpError(400, 'invalid_session_id', 'session id must match ^[A-Za-z0-9_-]{1,64}$', 'session_id');
      } catch (error) {
        return reject(res, error as HttpError);
      }
      const token = bearerOf(headers) ?? tokenFromProtocols(protocol);
      sessions
        .find(sessionId)
        .then(async (view) => {
          if (aborted) return;
          if (!view) return reject(res, new HttpError(404, 'session_not_found', `no session ${sessionId}`));
          if (view.phase === 'ended') return reject(res, new HttpError(409, 'session_ended', `session ${sessionId} has ended`));
          const publisher = token !== null;
          if (publisher) checkControl(token, config, deps.signer, authorityOf(view), 'the live socket');
          const stream = (await live.open(sessionId)) ?? null;
          if (aborted) return;
          if (shuttingDown) return reject(res, new HttpError(503, 'shutting_down', 'the server is shutting down'));
          if (publisher && !stream)
            return reject(res, new HttpError(409, 'not_here', `no node runs session ${sessionId} now: upload chunks only`));
          const data: LiveSocketData = { sessionId, publisher, stream, viewer: null, closed: false };
          res.cork(() => res.upgrade(data, key, offersSocketProtocol(protocol) ? SOCKET_PROTOCOL : '', extensions, context));
        })
        .catch((error: unknown) => {
          if (aborted) return;
          if (error instanceof HttpError) return reject(res, error);
          log.error('live socket upgrade failed', { session_id: sessionId, error: errorMessage(error) });
          reject(res, new HttpError(503, 'storage_unavailable', 'the session store is unavailable'));
        });
    },
    open: (ws: WebSocket<LiveSocketData>) => {
      const data = ws.getUserData();
      open.add(ws);
      if (data.stream) data.stream = live.attach(data.sessionId, data.stream);
      if (data.publisher) return;
      const viewer: LiveViewer = {
        sendText: (message) => {
          if (!data.closed) ws.send(JSON.stringify(message), false);
        },
        sendBinary: (bytes) => !data.closed && ws.getBufferedAmount() < VIEWER_BUFFER_BYTES && ws.send(bytes, true) !== 2,
      };
      data.viewer = viewer;
      if (data.stream) data.stream.addViewer(viewer);
      else viewer.sendText({ type: 'live_end', reason: 'not_here' });
    },
    message: (ws: WebSocket<LiveSocketData>, message: ArrayBuffer, isBinary: boolean) => {
      const data = ws.getUserData();
      const refuse = (why: string) => {
        data.closed = true;
        ws.end(CloseCode.BadMessage, why.slice(0, 120));
      };
      if (!data.publisher || !data.stream) return refuse('this socket only sends');
      if (!isBinary) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(Buffer.from(message).toString('utf8'));
        } catch {
          return refuse('a text frame must be JSON');
        }
        const check = parseLiveConfig(parsed);
        if (!check.ok) return refuse(check.message);
        if (!data.stream.configure(check.config, data)) ws.send(JSON.stringify({ type: 'live_end', reason: 'overloaded' }), false);
        return;
      }
      // The payload is a view of uWS's buffer, valid only now: the stream copies what it keeps.
      const bytes = new Uint8Array(message);
      const check = parseLiveFrame(bytes);
      if (!check.ok) return refuse(check.message);
      data.stream.frame(check.frame, bytes);
    },
    close: (ws: WebSocket<LiveSocketData>) => {
      const data = ws.getUserData();
      open.delete(ws);
      data.closed = true;
      if (data.publisher) data.stream?.unpublished(data);
      else if (data.viewer) data.stream?.removeViewer(data.viewer);
      if (data.stream) live.detach(data.sessionId);
    },
  });
  return {
    closeAll(code, reason) {
      shuttingDown = true;
      for (const ws of [...open]) {
        const data = ws.getUserData();
        if (data.closed) continue;
        data.closed = true;
        ws.end(code, reason);
      }
    },
  };
}
