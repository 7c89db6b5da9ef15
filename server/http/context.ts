/**
 * One HTTP exchange on uWebSockets.js, made safe: everything from `req` is copied synchronously
 * (uWS invalidates it when the handler returns), `onAborted` is always registered, writes happen
 * inside `cork()`, and nothing is written after an abort or a previous response.
 */
import type { HttpRequest, HttpResponse } from 'uWebSockets.js';
import { HttpError, STATUS_TEXT } from './errors.ts';

/**
 * Cross-origin reads are for media only (playlists and segments: any HLS player on any page may
 * play a stream it has the link of); the API, pages and sockets answer only their own origin.
 */
const CORS: Array<[string, string]> = [
  ['Access-Control-Allow-Origin', '*'],
  ['Access-Control-Allow-Methods', 'GET, OPTIONS'],
];

export class HttpContext {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  readonly headers: ReadonlyMap<string, string>;
  /** Route parameters (`:id`, `:file`), in order. */
  readonly params: string[];
  aborted = false;
  responded = false;
  /** Whether the response may be read by pages of any origin (playlists and segments only). */
  cors = false;
  readonly #res: HttpResponse;
  readonly #abortListeners: Array<() => void> = [];

  constructor(res: HttpResponse, req: HttpRequest, paramCount = 0) {
    this.#res = res;
    this.params = [];
    for (let i = 0; i < paramCount; i++) this.params.push(req.getParameter(i) ?? '');
    this.method = req.getCaseSensitiveMethod().toUpperCase();
    this.path = req.getUrl();
    this.query = new URLSearchParams(req.getQuery() ?? '');
    const headers = new Map<string, string>();
    req.forEach((key, value) => headers.set(key, value));
    this.headers = headers;
    res.onAborted(() => {
      this.aborted = true;
      for (const listener of this.#abortListeners.splice(0)) listener();
    });
  }

  get res(): HttpResponse {
    return this.#res;
  }

  /** Runs `listener` if the client goes away before the response is complete. */
  onAbort(listener: () => void): void {
    if (this.aborted) listener();
    else this.#abortListeners.push(listener);
  }

  header(name: string): string | undefined {
    return this.headers.get(name.toLowerCase());
  }

  /** Writes a whole response; returns false if the client had gone or a response was sent. */
  send(status: number, body: string | Uint8Array, headers: Array<[string, string]> = []): boolean {
    if (this.aborted || this.responded) return false;
    this.responded = true;
    this.#res.cork(() => {
      this.#res.writeStatus(`${status} ${STATUS_TEXT[status] ?? ''}`.trim());
      // Every response is what its Content-Type says: no browser guesses a script out of a body.
      this.#res.writeHeader('X-Content-Type-Options', 'nosniff');
      if (this.cors) for (const [k, v] of CORS) this.#res.writeHeader(k, v);
      for (const [k, v] of headers) this.#res.writeHeader(k, v);
      if (status === 204 || status === 304) this.#res.endWithoutBody();
      else this.#res.end(body);
    });
    return true;
  }

  json(status: number, value: unknown, headers: Array<[string, string]> = []): boolean {
    return this.send(status, JSON.stringify(value), [['Content-Type', 'application/json'], ...headers]);
  }

  error(error: HttpError): boolean {
    return this.json(error.status, error.body(), error.status === 413 ? [['Connection', 'close']] : []);
  }

  /**
   * Reads the request body, at most `limit` bytes. A declared or actual size over the limit
   * rejects with 413 before more is buffered.
   */
  readBody(limit: number): Promise<Buffer> {
    const declared = this.header('content-length');
    if (declared !== undefined && Number(declared) > limit) {
      return Promise.reject(new HttpError(413, 'too_large', `body is ${declared} bytes; the limit is ${limit}`, 'body'));
    }
    return new Promise<Buffer>((resolve, reject) => {
      const parts: Buffer[] = [];
      let size = 0;
      let done = false;
      this.onAbort(() => {
        if (!done) {
          done = true;
          reject(new HttpError(400, 'aborted', 'the client went away during the upload'));
        }
      });
      this.#res.onData((chunk, isLast) => {
        if (done) return;
        size += chunk.byteLength;
        if (size > limit) {
          done = true;
          reject(new HttpError(413, 'too_large', `body exceeds the limit of ${limit} bytes`, 'body'));
          return;
        }
        // uWS reuses the ArrayBuffer after this callback: copy it.
        parts.push(Buffer.from(new Uint8Array(chunk.slice(0))));
        if (isLast) {
          done = true;
          resolve(Buffer.concat(parts, size));
        }
      });
    });
  }
}
