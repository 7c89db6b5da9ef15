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
/** Bytes of a streamed body held in memory at most before the socket is paused. */
const BODY_WINDOW_BYTES = 1024 * 1024;

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
  /** The peer's address as the socket sees it (a proxy's, behind one). */
  readonly peer: string;
  /** Whether the response may be read by pages of any origin (playlists and segments only). */
  cors = false;
  readonly #res: HttpResponse;
  readonly #abortListeners: Array<() => void> = [];
  /** Whether a streamed body's reading is paused (bodyChunks): a response resumes it, so the rest drains. */
  #bodyPaused = false;

  #resumeBody(): void {
    if (!this.#bodyPaused || this.aborted) return;
    this.#bodyPaused = false;
    this.#res.resume();
  }

  constructor(res: HttpResponse, req: HttpRequest, paramCount = 0) {
    this.#res = res;
    this.params = [];
    for (let i = 0; i < paramCount; i++) this.params.push(req.getParameter(i) ?? '');
    this.method = req.getCaseSensitiveMethod().toUpperCase();
    this.path = req.getUrl();
    this.query = new URLSearchParams(req.getQuery() ?? '');
    const headers = new Map<string, string>();
    req.forEach((key, value) => {
      headers.set(key, value);
    });
    this.headers = headers;
    this.peer = Buffer.from(res.getRemoteAddressAsText()).toString();
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
    // A streamed body left unread drains (and is dropped) instead of holding the connection paused.
    this.#resumeBody();
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
    const headers: Array<[string, string]> = [];
    // A refused upload's remaining body is not read: the connection cannot carry another request.
    if (error.status === 413 || error.code === 'too_many_uploads' || error.code === 'not_mp4') headers.push(['Connection', 'close']);
    if (error.retryAfter !== undefined) headers.push(['Retry-After', String(error.retryAfter)]);
    return this.json(error.status, error.body(), headers);
  }

  /**
   * The request body as it arrives, at most `limit` bytes, for a consumer that writes it on (an upload
   * going to storage). Reading starts now (call it before any await: uWS hands body data only to a
   * reader registered in time); never more than BODY_WINDOW_BYTES are held — past that the socket is
   * paused until the consumer catches up. Iterating throws 413 past the limit (declared or actual) and
   * 400 `aborted` when the client goes away. Iterate it once.
   */
  bodyChunks(limit: number): AsyncIterable<Buffer> {
    const declared = this.header('content-length');
    const queue: Buffer[] = [];
    let held = 0;
    let size = 0;
    let ended = false;
    let failure: HttpError | null =
      declared !== undefined && Number(declared) > limit
        ? new HttpError(413, 'too_large', `body is ${declared} bytes; the limit is ${limit}`, 'body')
        : null;
    let wake: (() => void) | null = null;
    const notify = () => {
      wake?.();
      wake = null;
    };
    this.onAbort(() => {
      failure ??= new HttpError(400, 'aborted', 'the client went away during the upload');
      notify();
    });
    this.#res.onData((chunk, isLast) => {
      if (failure || ended || this.responded) return;
      size += chunk.byteLength;
      if (size > limit) {
        failure = new HttpError(413, 'too_large', `body exceeds the limit of ${limit} bytes`, 'body');
      } else {
        // uWS reuses the ArrayBuffer after this callback: copy it.
        const copy = Buffer.from(new Uint8Array(chunk.slice(0)));
        queue.push(copy);
        held += copy.byteLength;
        if (isLast) ended = true;
        else if (held > BODY_WINDOW_BYTES && !this.#bodyPaused && !this.aborted && !this.responded) {
          this.#bodyPaused = true;
          this.#res.pause();
        }
      }
      notify();
    });
    const context = this;
    return {
      async *[Symbol.asyncIterator]() {
        while (true) {
          if (failure) throw failure;
          const next = queue.shift();
          if (next) {
            held -= next.byteLength;
            if (held <= BODY_WINDOW_BYTES / 2) context.#resumeBody();
            yield next;
            continue;
          }
          if (ended) return;
          await new Promise<void>((resolve) => (wake = resolve));
        }
      },
    };
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
