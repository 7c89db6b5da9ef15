/**
 * One capture session from start to end: create the session → print the playlist URL → capture and
 * cut chunks → upload them strictly in order → announce each on the socket → on end of input or
 * stop(): end the session and wait until its playlist closes.
 */
import { chunkKey } from '../protocol/keys.ts';
import type { CreateSessionResponse, ServerMessage } from '../protocol/messages.ts';
import { createSession, endSession, playlistClosed, sessionStatus } from './api.ts';
import { Chunker } from './chunker.ts';
import type { CaptureOptions } from './options.ts';
import { LiveFeed } from './live-feed.ts';
import { LivePublisher } from './live-socket.ts';
import { SessionSocket } from './socket.ts';
import { inputArgs } from './sources.ts';
import { StatusLine, type CaptureStats } from './status-line.ts';
import { planStreams } from './timeline.ts';
import { S3ChunkUploader } from './s3-uploader.ts';
import { HttpChunkUploader, type ChunkUploader } from './uploader.ts';

export interface RunnerIO {
  /** Results: the playlist URL, or JSON lines with --json. */
  stdout: NodeJS.WritableStream;
  /** The status line and messages for people. */
  stderr: NodeJS.WriteStream;
}

export interface CaptureResult {
  sessionId: string;
  playlistUrl: string;
  chunks: number;
  uploaded: number;
  ready: number;
  failed: number;
  /** The playlist closed (#EXT-X-ENDLIST) before the end timeout. */
  closed: boolean;
}

export class CaptureRunner {
  readonly #opts: CaptureOptions;
  readonly #io: RunnerIO;
  readonly #status: StatusLine;
  readonly #stats: CaptureStats = {
    cut: 0,
    uploaded: 0,
    uploadFailed: 0,
    ready: 0,
    failed: 0,
    listed: 0,
    latencyMs: null,
    lastError: null,
    socket: false,
  };
  readonly #cutAt = new Map<number, number>();
  #chunker: Chunker | undefined;
  #socket: SessionSocket | undefined;
  #live: LivePublisher | undefined;
  /** The session's control token: the newest the server sent (a stream may outlive the first). */
  #controlToken = '';
  #uploader: ChunkUploader | undefined;
  #ended: (() => void) | undefined;
  #endedSeen = false;
  #stopped = false;

  constructor(options: CaptureOptions, io: RunnerIO) {
    this.#opts = options;
    this.#io = io;
    this.#status = new StatusLine(io.stderr, !options.quiet && !options.json);
  }

  #emit(event: string, fields: Record<string, unknown>): void {
    if (this.#opts.json) this.#io.stdout.write(JSON.stringify({ event, ...fields }) + '\n');
  }

  #say(line: string): void {
    if (this.#opts.json || this.#opts.quiet) return;
    this.#status.done();
    this.#io.stderr.write(line + '\n');
  }

  #onMessage(session: CreateSessionResponse, message: ServerMessage): void {
    switch (message.type) {
      case 'segment': {
        this.#stats.ready++;
        const cut = this.#cutAt.get(message.index);
        if (cut !== undefined) this.#stats.latencyMs = Date.now() - cut;
        this.#emit('segment', { index: message.index, duration: message.duration, latency_ms: this.#stats.latencyMs });
        break;
      }
      case 'chunk':
        if (message.chunk.status === 'failed') {
          this.#stats.failed++;
          this.#stats.lastError = `chunk ${message.chunk.index}: ${message.chunk.error ?? 'failed'}`;
          this.#emit('chunk_failed', { index: message.chunk.index, error: message.chunk.error ?? null });
        }
        break;
      case 'playlist':
        this.#stats.listed = message.listed;
        break;
      case 'credentials':
        this.#uploader?.setTarget(message.upload);
        if (message.control_token) {
          this.#controlToken = message.control_token;
          this.#socket?.setToken(message.control_token);
          this.#live?.setToken(message.control_token);
        }
        this.#emit('credentials', { expires_at: message.upload.expires_at });
        break;
      case 'ended':
        this.#endedSeen = true;
        // The server's count is the truth: segments made while this socket was down count too.
        this.#stats.ready = message.ready;
        this.#stats.failed = message.failed;
        this.#emit('ended', { reason: message.reason, ready: message.ready, failed: message.failed });
        this.#ended?.();
        break;
      case 'error':
        this.#stats.lastError = message.message;
        break;
      default:
        break;
    }
    void session;
    this.#status.update(this.#stats);
  }

  /** Runs the whole session; resolves with its summary. */
  async run(): Promise<CaptureResult> {
    const opts = this.#opts;
    // Before a session exists: a file that cannot be read, or a screen with no display to grab, fails
    // here, naming itself — no empty session is left behind.
    const plan = await planStreams(opts);
    const input = inputArgs(opts);
    const session = await createSession(opts.server, opts.mode, opts.settings);
    const chunkSeconds = opts.chunkSeconds ?? session.chunk_seconds ?? 2;
    this.#emit('session', {
      session_id: session.session_id,
      playlist_url: session.playlist_url,
      events_url: session.events_url,
      chunk_seconds: chunkSeconds,
    });
    if (!opts.json) {
      this.#io.stdout.write(`Playlist: ${session.playlist_url}\n`);
      this.#say(`Session ${session.session_id} (${opts.mode}), ${chunkSeconds}-second chunks`);
      this.#say(`Watch:    ${opts.server}/watch/${session.session_id}   or   ffplay ${session.playlist_url}`);
    }
    const onRetry = (index: number, attempt: number, error: string) => {
      this.#stats.lastError = `upload ${index} attempt ${attempt}: ${error}`;
      this.#status.update(this.#stats);
    };
    this.#uploader =
      session.upload.type === 's3'
        ? new S3ChunkUploader(session.upload, undefined, onRetry)
        : new HttpChunkUploader(session.upload, undefined, onRetry);
    this.#controlToken = session.control_token;
    this.#socket = new SessionSocket(
      session.events_url,
      session.control_token,
      (m) => this.#onMessage(session, m),
      (connected) => {
        this.#stats.socket = connected;
        this.#status.update(this.#stats);
      },
    );
    // The live path: the same encode, frame by frame, beside the chunks (best effort; the chunks are the record).
    let feed: LiveFeed | undefined;
    if (opts.live) {
      const publisher = new LivePublisher(liveSocketUrl(session.events_url, session.session_id), session.control_token);
      this.#live = publisher;
      feed = new LiveFeed(() => this.#chunker?.originMicros ?? 0, {
        config: (config) => publisher.configure(config),
        frame: (frame) => publisher.frame(frame),
        error: (error) => this.#say(`live stream stopped (the chunks go on): ${error.message}`),
      });
    }
    this.#chunker = new Chunker({
      ffmpeg: opts.ffmpeg,
      inputArgs: input,
      plan,
      chunkSeconds,
      ...(feed ? { live: (bytes: Uint8Array) => feed.push(bytes) } : {}),
    });
    let captureError: Error | undefined;
    try {
      if (!this.#stopped) {
        await this.#chunker.start();
        // Strictly in order: chunk k+1 is uploaded only after chunk k succeeded or failed for good.
        for await (const chunk of this.#chunker.chunks()) {
          this.#stats.cut++;
          this.#cutAt.set(chunk.index, chunk.cutAt);
          const outcome = await this.#uploader.upload(chunk.index, chunk.path);
          if (outcome.ok) {
            this.#stats.uploaded++;
            if (opts.fastPath)
              this.#socket.send({
                type: 'chunk_uploaded',
                index: chunk.index,
                key: chunkKey(session.session_id, chunk.index),
                bytes: chunk.bytes,
              });
            this.#emit('uploaded', { index: chunk.index, bytes: chunk.bytes, attempts: outcome.attempts });
          } else {
            this.#stats.uploadFailed++;
            this.#stats.lastError = `upload ${chunk.index}: ${outcome.error}`;
            this.#emit('upload_failed', { index: chunk.index, error: outcome.error });
          }
          this.#status.update(this.#stats);
        }
      }
    } catch (error) {
      captureError = error as Error;
      this.#stats.lastError = captureError.message;
      this.#say(`capture stopped: ${captureError.message}`);
    }
    // End the session, naming how many chunks there were, and wait for the playlist to close.
    await endSession(opts.server, session.session_id, this.#controlToken, this.#stats.cut);
    const closed = await this.#waitClosed(session.playlist_url);
    if (!this.#endedSeen) {
      // The socket missed the end: ask the server for its final count.
      const status = await sessionStatus(opts.server, session.session_id);
      if (status) {
        this.#stats.ready = status.ready;
        this.#stats.failed = status.failed;
      }
    }
    this.#status.update(this.#stats, true);
    this.#status.done();
    const result: CaptureResult = {
      sessionId: session.session_id,
      playlistUrl: session.playlist_url,
      chunks: this.#stats.cut,
      uploaded: this.#stats.uploaded,
      ready: this.#stats.ready,
      failed: this.#stats.failed,
      closed,
    };
    const live = this.#live ? { sent: this.#live.stats.sent, dropped: this.#live.stats.dropped, refused: this.#live.gaveUp } : null;
    this.#emit('summary', { ...result, live, error: captureError?.message ?? null });
    this.#say(
      `Done: ${result.chunks} chunks, ${result.uploaded} uploaded, ${result.ready} segments ready` +
        `${result.failed ? `, ${result.failed} failed` : ''}; playlist ${closed ? 'closed' : 'still settling'}: ${result.playlistUrl}`,
    );
    if (live) this.#say(`Live stream: ${live.sent} frames sent, ${live.dropped} dropped${live.refused ? ` (${live.refused})` : ''}`);
    await this.close();
    if (captureError && result.chunks === 0) throw captureError;
    return result;
  }

  async #waitClosed(playlistUrl: string): Promise<boolean> {
    const deadline = Date.now() + this.#opts.endTimeout * 1000;
    while (Date.now() < deadline) {
      if (this.#endedSeen) return true;
      // The socket may be down: the playlist tells as well.
      if (!this.#socket?.connected && (await playlistClosed(playlistUrl))) return true;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        this.#ended = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
    return this.#endedSeen || (await playlistClosed(playlistUrl));
  }

  /** Stops capturing; what was cut is still uploaded and the session ends normally. */
  stop(): void {
    this.#stopped = true;
    this.#chunker?.stop();
  }

  async close(): Promise<void> {
    this.#socket?.close();
    this.#live?.close();
    this.#uploader?.close?.();
    await this.#chunker?.close();
  }
}

/** The live socket's URL, beside the session socket's (`ws(s)://host/ws/sessions/{id}` → `…/ws/live/{id}`). */
export function liveSocketUrl(eventsUrl: string, sessionId: string): string {
  const url = new URL(eventsUrl);
  url.pathname = `/ws/live/${sessionId}`;
  url.search = '';
  return url.toString();
}
