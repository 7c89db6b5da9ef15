/** What every socket endpoint does with an upgrade request: copy it at once, and refuse with JSON. */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { type HttpError, STATUS_TEXT } from '../http/errors.ts';

/** An upgrade request, copied: uWS's request is invalid once the upgrade handler returns. */
export interface UpgradeRequest {
  url: string;
  query: URLSearchParams;
  key: string;
  protocol: string;
  extensions: string;
  headers: Map<string, string>;
}

export function readUpgrade(req: HttpRequest): UpgradeRequest {
  const headers = new Map<string, string>();
  req.forEach((k, v) => {
    headers.set(k, v);
  });
  return {
    url: req.getUrl(),
    query: new URLSearchParams(req.getQuery() ?? ''),
    key: req.getHeader('sec-websocket-key'),
    protocol: req.getHeader('sec-websocket-protocol'),
    extensions: req.getHeader('sec-websocket-extensions'),
    headers,
  };
}

/** Answers an upgrade request with the error's status and JSON body (no socket). */
export function reject(res: HttpResponse, error: HttpError): void {
  res.cork(() => {
    res.writeStatus(`${error.status} ${STATUS_TEXT[error.status] ?? ''}`);
    res.writeHeader('Content-Type', 'application/json');
    res.end(JSON.stringify(error.body()));
  });
}
