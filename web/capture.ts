/**
 * The browser capture page (`/capture`): stream a screen, a window, a tab or a camera with nothing
 * installed. The stream is recorded in back-to-back pieces (recorder.ts), each made into a chunk by
 * ffmpeg.wasm (chunk-maker.ts), uploaded with the session's grant (upload.ts) and announced on the
 * session socket, which also brings fresh upload rights and each chunk's fate. Beside the chunks, where
 * the browser has WebCodecs, each frame goes out as it is encoded on the live path (capture/live-encoder.ts,
 * capture/live-socket.ts) for viewers a fraction of a second behind. Every step shows its state; a
 * problem says what to do. Stopping (or the source ending) ends the session cleanly: the
 * server is told how many chunks there were and closes the playlist once each has settled.
 */
import type { CreateSessionResponse, ErrorBody, ServerMessage } from '../protocol/messages.ts';
import { chunkKey } from '../protocol/keys.ts';
import { ChunkMaker } from './capture/chunk-maker.ts';
import { PieceRecorder, type RecordedPiece } from './capture/recorder.ts';
import { openSource, SourceError, type Source, type SourceKind } from './capture/sources.ts';
import { ChunkUploader } from './capture/upload.ts';
import { canPublishLive, LiveEncoder } from './capture/live-encoder.ts';
import { LiveSocket, type LiveSocketStats } from './capture/live-socket.ts';
import { $, copyText, el, showState, socketBase } from './lib/dom.ts';
import { JsonSocket } from './lib/json-socket.ts';
import { SettingsPanel } from './lib/settings-panel.ts';

/** Chunks made but not yet uploaded before the page warns that it cannot keep up. */
const BACKLOG_WARNING = 6;

interface CaptureStats {
  state: string;
  sessionId: string | null;
  chunks: Array<{ index: number; state: string; how?: string; makeMs?: number; bytes?: number; error?: string }>;
  problem: string | null;
  mimeType: string | null;
  /** The live stream (frame by frame), when this browser publishes one: its socket's counts, frames the encoder dropped. */
  live: (LiveSocketStats & { encoderDropped: number }) | null;
}

const statusEl = $('status');
const stats: CaptureStats = { state: 'idle', sessionId: null, chunks: [], problem: null, mimeType: null, live: null };
(window as unknown as { stereospot: CaptureStats }).stereospot = stats;

function show(state: string, detail = ''): void {
  stats.state = state;
  showState(statusEl, state, detail);
}

function problem(text: string | null, action = ''): void {
  stats.problem = text;
  $('problem').hidden = text === null;
  $('problem-text').textContent = text ?? '';
  $('problem-action').textContent = action;
}

function chunkRow(index: number, state: string, detail = ''): void {
  let entry = stats.chunks.find((c) => c.index === index);
  if (!entry) stats.chunks.push((entry = { index, state }));
  entry.state = state;
  if (state === 'failed') entry.error = detail;
  const id = `chunk-${index}`;
  const row = el(
    'tr',
    { id },
    el('td', { class: 'num' }, `#${index}`),
    el('td', { class: 'state', 'data-state': state === 'failed' ? 'error' : state === 'ready' ? 'live' : 'waiting' }, state),
    el('td', { class: 'dim' }, detail),
  );
  const existing = document.getElementById(id);
  if (existing) existing.replaceWith(row);
  else $('chunk-rows').prepend(row);
  const count = (s: string) => stats.chunks.filter((c) => c.state === s).length;
  $('uploaded').textContent = String(stats.chunks.filter((c) => c.bytes !== undefined).length);
  $('ready').textContent = String(count('ready'));
  $('failed').textContent = String(count('failed'));
}

/** One capture run: source → pieces → chunks → uploads, and the session around it. */
class CaptureRun {
  readonly #session: CreateSessionResponse;
  readonly #source: Source;
  readonly #maker: ChunkMaker;
  readonly #uploader: ChunkUploader;
  readonly #socket: JsonSocket<ServerMessage>;
  /** The newest control token the server sent (a stream may outlive the first). */
  #controlToken: string;
  readonly #panel: SettingsPanel;
  readonly #recorder: PieceRecorder;
  /** Pieces waiting for their turn (they may arrive out of order). */
  readonly #pieces = new Map<number, RecordedPiece>();
  #nextPiece = 0;
  #nextChunk = 0;
  #origin: number | null = null;
  #work: Promise<void> = Promise.resolve();
  #backlog = 0;
  #stopping = false;
  readonly #live: { socket: LiveSocket; encoder: LiveEncoder; timer: ReturnType<typeof setInterval> } | null = null;

  constructor(session: CreateSessionResponse, source: Source, maker: ChunkMaker) {
    this.#session = session;
    this.#source = source;
    this.#maker = maker;
    this.#uploader = new ChunkUploader(session.upload);
    const control = `${session.events_url}?format=json`;
    this.#controlToken = session.control_token;
    this.#socket = new JsonSocket<ServerMessage>(
      control,
      {
        message: (m) => this.#onMessage(m),
        state: (state, detail) => {
          if (state === 'offline')
            problem(
              'the connection to the server was lost',
              `retrying (attempt ${detail.attempt ?? 1}); chunks are kept and sent when it is back`,
            );
          else if (state === 'open' && stats.problem?.startsWith('the connection')) problem(null);
        },
      },
      { token: session.control_token },
    );
    this.#panel = new SettingsPanel(session.session_id, session.control_token);
    this.#panel.update(session.settings, session.mode);
    $('settings-slot').replaceChildren(this.#panel.element);
    this.#recorder = new PieceRecorder(source.stream, session.chunk_seconds, {
      piece: (piece) => this.#onPiece(piece),
      error: (error) => problem(error.message, 'press stop and start again'),
    });
    stats.mimeType = this.#recorder.mimeType;
    if (($('live') as HTMLInputElement).checked && canPublishLive()) this.#live = this.#publishLive();
    else $('live-state').textContent = canPublishLive() ? 'live path off' : 'no live path: this browser has no WebCodecs';
    // The user ends the share from the browser's own bar: stop cleanly.
    for (const track of source.stream.getVideoTracks()) track.addEventListener('ended', () => void this.stop());
  }

  /** The live stream beside the chunks: best effort, it never holds them up. */
  #publishLive(): { socket: LiveSocket; encoder: LiveEncoder; timer: ReturnType<typeof setInterval> } {
    const url = `${socketBase()}/ws/live/${encodeURIComponent(this.#session.session_id)}`;
    let encoder: LiveEncoder | null = null;
    const socket = new LiveSocket(url, this.#controlToken, () => encoder?.requestKeyframe());
    encoder = new LiveEncoder(this.#source.stream, {
      config: (config) => socket.configure(config),
      frame: (frame) => socket.frame(frame),
      error: (error) => {
        $('live-state').textContent = `live path stopped: ${error.message} (the chunks go on)`;
        encoder?.close();
      },
    });
    return { socket, encoder, timer: setInterval(() => this.#showLive(), 1000) };
  }

  #showLive(): void {
    if (!this.#live) return;
    const { socket, encoder } = this.#live;
    stats.live = { ...socket.stats, encoderDropped: encoder.dropped };
    const { state, sent, dropped, reason } = socket.stats;
    $('live-state').textContent =
      state === 'gave up' ? `live path off: ${reason}` : `live path ${state} · ${sent} frames sent, ${dropped + encoder.dropped} dropped`;
  }

  start(): void {
    this.#recorder.start();
    show('live', `recording ${this.#recorder.mimeType}`);
  }

  async stop(): Promise<void> {
    if (this.#stopping) return;
    this.#stopping = true;
    ($('stop') as HTMLButtonElement).disabled = true;
    show('ending', 'sending the last chunks');
    await this.#recorder.stop();
    if (this.#live) {
      this.#showLive();
      clearInterval(this.#live.timer);
      this.#live.encoder.close();
      this.#live.socket.close();
    }
    this.#source.stop();
    // Every delivered piece is queued by now; wait for the last upload.
    await new Promise((r) => setTimeout(r, 50));
    await this.#work;
    const res = await fetch(`/stream_sessions/${encodeURIComponent(this.#session.session_id)}/end`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${this.#controlToken}` },
      body: JSON.stringify({ chunks: this.#nextChunk }),
    }).catch(() => null);
    if (!res?.ok) problem('the server did not take the end of the session', 'it ends by itself after its idle time');
    show('ending', `${this.#nextChunk} chunks sent; waiting for the last conversions`);
  }

  #onPiece(piece: RecordedPiece): void {
    this.#pieces.set(piece.index, piece);
    // In recording order: chunk indices follow the pieces that had something in them.
    for (let next = this.#pieces.get(this.#nextPiece); next; next = this.#pieces.get(this.#nextPiece)) {
      this.#pieces.delete(this.#nextPiece++);
      if (next.bytes.byteLength === 0) continue;
      this.#origin ??= next.startedAt;
      const index = this.#nextChunk++;
      $('chunk-index').textContent = String(index);
      chunkRow(index, 'recorded', `${(next.bytes.byteLength / 1024).toFixed(0)} KB`);
      this.#backlog++;
      if (this.#backlog > BACKLOG_WARNING)
        problem(`this browser is ${this.#backlog} chunks behind`, 'pick a smaller window or close other tabs; nothing is dropped');
      const origin = this.#origin;
      this.#work = this.#work.then(() => this.#send(index, next, origin));
    }
  }

  async #send(index: number, piece: RecordedPiece, origin: number): Promise<void> {
    try {
      const made = await this.#maker.make(piece, origin, stillFrame);
      const entry = stats.chunks.find((c) => c.index === index)!;
      entry.how = made.how;
      entry.makeMs = made.ms;
      chunkRow(index, 'uploading', `${made.how} ${made.ms.toFixed(0)} ms`);
      const key = await this.#uploader.upload(index, made.bytes, (attempt, error) =>
        chunkRow(index, 'uploading', `retry ${attempt}: ${error.message}`),
      );
      entry.bytes = made.bytes.byteLength;
      chunkRow(index, 'uploaded', `${made.how} ${made.ms.toFixed(0)} ms · ${(made.bytes.byteLength / 1024).toFixed(0)} KB`);
      // The fast path: the server converts at once instead of waiting for the storage event.
      this.#socket.send({ type: 'chunk_uploaded', index, key, bytes: made.bytes.byteLength });
      if (key !== chunkKey(this.#session.session_id, index)) throw new Error(`unexpected key ${key}`);
    } catch (error) {
      chunkRow(index, 'failed', (error as Error).message);
      problem(`chunk ${index} was not sent: ${(error as Error).message}`, 'the stream goes on; that moment becomes a gap');
    } finally {
      this.#backlog--;
      if (this.#backlog <= BACKLOG_WARNING && stats.problem?.includes('chunks behind')) problem(null);
    }
  }

  #onMessage(message: ServerMessage): void {
    if (message.type === 'credentials') {
      this.#uploader.refresh(message.upload);
      if (message.control_token) {
        this.#controlToken = message.control_token;
        this.#socket.setToken(message.control_token);
        this.#live?.socket.setToken(message.control_token);
      }
    } else if (message.type === 'chunk') {
      const state = message.chunk.status;
      if (state === 'ready' || state === 'failed' || state === 'processing') {
        chunkRow(
          message.chunk.index,
          state,
          message.chunk.error ?? (state === 'ready' ? `segment ${message.chunk.duration?.toFixed(2) ?? ''} s` : ''),
        );
      }
    } else if (message.type === 'ended') {
      show('ended', `${message.ready} segments ready, ${message.failed} failed`);
      $('start').removeAttribute('disabled');
      this.#socket.close();
      this.#panel.close();
    } else if (message.type === 'settings') this.#panel.update(message, message.mode);
  }
}

/** The picture the preview shows now, as a PNG (held over a piece that recorded no frame). */
async function stillFrame(): Promise<Uint8Array | null> {
  const preview = $<HTMLVideoElement>('preview');
  if (preview.videoWidth === 0) return null;
  const canvas = document.createElement('canvas');
  canvas.width = preview.videoWidth;
  canvas.height = preview.videoHeight;
  canvas.getContext('2d')!.drawImage(preview, 0, 0);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/png'));
  return blob ? new Uint8Array(await blob.arrayBuffer()) : null;
}

let run: CaptureRun | null = null;
const maker = new ChunkMaker();

async function createSession(mode: string): Promise<CreateSessionResponse> {
  const res = await fetch('/stream_sessions', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ mode }),
  });
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as ErrorBody | null;
    throw new Error(body ? body.message : `HTTP ${res.status}`);
  }
  return (await res.json()) as CreateSessionResponse;
}

function showLinks(session: CreateSessionResponse): void {
  const watch = `${location.origin}/watch/${encodeURIComponent(session.session_id)}`;
  const copy = el('button', { type: 'button' }, 'copy playlist URL');
  copy.addEventListener(
    'click',
    () => void copyText(session.playlist_url).then((ok) => (copy.textContent = ok ? 'copied' : 'copy refused')),
  );
  $('links').replaceChildren(
    el('a', { href: watch, target: '_blank', id: 'watch-link' }, 'watch'),
    el(
      'a',
      {
        href: `${watch}#control=${encodeURIComponent(session.control_token)}`,
        target: '_blank',
        title: 'the viewer with the depth controls (keep it private)',
      },
      'watch + depth controls',
    ),
    el('a', { href: session.playlist_url }, 'HLS playlist'),
    copy,
  );
}

$('setup').addEventListener('submit', (event) => {
  event.preventDefault();
  void (async () => {
    problem(null);
    $('start').setAttribute('disabled', '');
    let source: Source | null = null;
    try {
      show('starting', 'asking for the source');
      source = await openSource(($('source') as HTMLSelectElement).value as SourceKind);
      ($('preview') as HTMLVideoElement).srcObject = source.stream;
      show('starting', 'loading ffmpeg.wasm');
      await maker.load();
      $('engine').textContent = 'ffmpeg.wasm loaded from this server';
      const session = await createSession(($('mode') as HTMLSelectElement).value);
      stats.sessionId = session.session_id;
      showLinks(session);
      run = new CaptureRun(session, source, maker);
      run.start();
      const hold = source.hold?.bind(source);
      $('hold-label').hidden = hold === undefined;
      if (hold) $('hold').onchange = () => hold(($('hold') as HTMLInputElement).checked);
      $('stop').removeAttribute('disabled');
    } catch (error) {
      source?.stop();
      $('start').removeAttribute('disabled');
      if (error instanceof SourceError) {
        show(error.message.includes('denied') ? 'denied' : 'error', error.message);
        problem(error.message, error.action);
      } else {
        show('error', (error as Error).message);
        problem((error as Error).message, 'check that the server is running, then press start again');
      }
    }
  })();
});

$('stop').addEventListener('click', () => void run?.stop());
window.addEventListener('beforeunload', (event) => {
  if (stats.state === 'live') event.preventDefault(); // leaving would cut the stream short
});
