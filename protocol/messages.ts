/**
 * Every message, event and error that crosses a process boundary, in one place.
 * Shared by the server, the capture client, the player page and the tests.
 * Wire names are snake_case (the original system's contract); types are the documentation.
 */
import type { StereoMode } from './keys.ts';

export type { StereoMode } from './keys.ts';

// ─── HTTP ────────────────────────────────────────────────────────────────────

/** Body of `POST /stream_sessions`. Every field is optional. */
export interface CreateSessionRequest {
  mode?: StereoMode;
  /** Largest disparity as a fraction of each eye's width, 0…0.1 (default: the server's `STEREO_STRENGTH`). */
  stereo_strength?: number;
  /** The depth on the screen plane, 0 (farthest: everything comes out) … 1 (nearest: everything goes in). */
  convergence?: number;
}

/** A session's stereo settings: chosen at creation, changeable live over the session socket. */
export interface StereoSettingsWire {
  stereo_strength: number;
  convergence: number;
}

/** Optional body of `POST /stream_sessions/{id}/end`. */
export interface EndSessionRequest {
  /** How many chunks the client produced (indices 0..chunks-1); lets the server wait for each. */
  chunks?: number;
}

/**
 * Where and how the capture client uploads its chunks. The first six fields are the original
 * contract (STS credentials); in the local profile they are filled with the HTTP upload's values.
 */
export interface UploadTargetBase {
  access_key_id: string;
  secret_access_key: string;
  session_token: string;
  bucket: string;
  region: string;
  /** ISO-8601 time after which the credentials or token stop working. */
  expires_at: string;
  /** Every chunk key starts with this: `stream_input/{session_id}/`. */
  key_prefix: string;
}

/** Local profile: `PUT {url_template with {file} replaced}` with `Authorization: Bearer {token}`. */
export interface HttpUploadTarget extends UploadTargetBase {
  type: 'http';
  /** e.g. `http://host:8000/upload/{session_id}/{file}` with the session id filled in. */
  url_template: string;
  token: string;
  /** The largest chunk the server accepts, in bytes. */
  max_bytes: number;
}

/** AWS profile: S3 `PutObject` with the STS credentials. */
export interface S3UploadTarget extends UploadTargetBase {
  type: 's3';
  /** Set when S3 is not the default AWS endpoint (emulators, S3-compatible stores). */
  endpoint?: string;
  force_path_style?: boolean;
}

export type UploadTarget = HttpUploadTarget | S3UploadTarget;

/** Response of `POST /stream_sessions`. */
export interface CreateSessionResponse {
  session_id: string;
  mode: StereoMode;
  playlist_url: string;
  /**
   * The same playlist under a name VR players read the stereo layout from (`…/playlist_SBS_LR.m3u8`,
   * `…_TB.m3u8`; protocol/layout.ts); the plain one for anaglyphs.
   */
  vr_playlist_url: string;
  events_url: string;
  /** Authorises `chunk_uploaded` on the session socket; keep it private to the capture client. */
  control_token: string;
  chunk_seconds: number;
  settings: StereoSettingsWire;
  upload: UploadTarget;
}

export type SessionState = 'live' | 'ending' | 'ended';
export type EndReason = 'requested' | 'idle';

/** Lifecycle of one chunk: uploaded → queued → processing → ready | failed (with retries). */
export type ChunkStatus = 'uploaded' | 'queued' | 'processing' | 'ready' | 'failed';

export interface ChunkInfo {
  index: number;
  status: ChunkStatus;
  attempts: number;
  /** Why the chunk failed (last error), when it did. */
  error?: string;
  /** Measured duration of the segment, seconds (ready only). */
  duration?: number;
}

/** Response of `GET /stream_sessions/{id}` and an element of `GET /stream_sessions`. */
export interface SessionStatus {
  session_id: string;
  mode: StereoMode;
  state: SessionState;
  created_at: string;
  ended_at: string | null;
  end_reason: EndReason | null;
  playlist_url: string;
  /** As in the create response: the playlist named for VR players. */
  vr_playlist_url: string;
  /** Segments listed in the playlist (ready or gap), a prefix of the chunk indices. */
  listed: number;
  ready: number;
  failed: number;
  pending: number;
  /**
   * One page of its chunks, by index: the newest 200 unless `?chunks_from=N&chunks_limit=M` (≤ 1000)
   * asks for others; a list's entries carry the newest 20.
   */
  chunks: ChunkInfo[];
  /** How many chunks the session has in all. */
  chunks_total: number;
  /** `chunks_from` for the next page, or null when this page reaches the newest chunk. */
  chunks_next: number | null;
  settings: StereoSettingsWire;
  live: LiveStatus;
}

/**
 * The session's frame-by-frame live path (`/ws/live/{id}`, protocol/live.ts): whether a capture client
 * publishes to it and how many viewers watch it right now.
 */
export interface LiveStatus {
  publishing: boolean;
  viewers: number;
}

export interface SessionListResponse {
  /** Newest first. */
  sessions: SessionStatus[];
  /** Pass as `?before=` for the next page; null on the last page. */
  next: string | null;
}

/** Every 4xx/5xx body. `field` names the offending input when there is one. */
export interface ErrorBody {
  error: string;
  message: string;
  field?: string;
}

// ─── WebSocket: /ws/sessions/{id} ────────────────────────────────────────────

export interface SnapshotMessage {
  type: 'snapshot';
  session: SessionStatus;
  /** The newest listed entries (at most 16): enough for a viewer to start at the live edge. */
  entries: PlaylistEntry[];
}

export interface ChunkMessage {
  type: 'chunk';
  session_id: string;
  chunk: ChunkInfo;
}

export interface StageTimings {
  decode_ms: number;
  depth_ms: number;
  stereo_ms: number;
  encode_ms: number;
  total_ms: number;
}

export interface SegmentMessage {
  type: 'segment';
  session_id: string;
  index: number;
  duration: number;
  bytes: number;
  timings: StageTimings;
}

/** One playlist entry as a viewer needs it: what the playlist lists, with the facts an MSE player uses. */
export interface PlaylistEntry {
  index: number;
  /** Failed for good: nothing to play for `duration` seconds (`#EXT-X-GAP`). */
  gap: boolean;
  /** Signed URL of the CMAF media segment (relative to the server in the local profile); null for a gap. */
  uri: string | null;
  /** Media time of the first frame on the capture's own timeline (s). */
  start: number;
  duration: number;
  /** Wall-clock ms when the first frame was captured (`#EXT-X-PROGRAM-DATE-TIME`); null for a gap. */
  captured_at: number | null;
  /** The capture's timeline (or the format) breaks here (`#EXT-X-DISCONTINUITY`). */
  discontinuity: boolean;
  /** The init segment this entry needs (`#EXT-X-MAP`); null for a gap. */
  init: { id: string; uri: string; codecs: string } | null;
}

export interface PlaylistMessage {
  type: 'playlist';
  session_id: string;
  /** Number of entries now in the playlist. */
  listed: number;
  ended: boolean;
  /** The entries listed since the previous `playlist` message, in order (sent the moment they are listed). */
  entries: PlaylistEntry[];
}

export interface CredentialsMessage {
  type: 'credentials';
  session_id: string;
  upload: UploadTarget;
  /** A fresh control token (the current one expires in a day; keep the newest). */
  control_token?: string;
}

export interface EndedMessage {
  type: 'ended';
  session_id: string;
  reason: EndReason;
  ready: number;
  failed: number;
}

/** The session's stereo settings changed (sent to every subscriber of the session). */
export interface SettingsMessage extends StereoSettingsWire {
  type: 'settings';
  session_id: string;
  /** The stereo output format (protocol/layout.ts), changeable live too. */
  mode: StereoMode;
}

export interface ErrorMessage {
  type: 'error';
  code: string;
  message: string;
}

export interface PongMessage {
  type: 'pong';
  t?: number;
}

export type ServerMessage =
  | SnapshotMessage
  | ChunkMessage
  | SegmentMessage
  | PlaylistMessage
  | CredentialsMessage
  | EndedMessage
  | SettingsMessage
  | ErrorMessage
  | PongMessage;

/** The capture client's announcement that a chunk is fully uploaded (the fast path). */
export interface ChunkUploadedMessage {
  type: 'chunk_uploaded';
  index: number;
  key: string;
  bytes: number;
}

export interface PingMessage {
  type: 'ping';
  t?: number;
}

/** Changes the session's stereo settings (control token required); later chunks use them. */
export interface SetSettingsMessage extends Partial<StereoSettingsWire> {
  type: 'set_settings';
  /** A new output format from the next chunk on (a new init segment: players see a discontinuity). */
  mode?: StereoMode;
}

export type ClientMessage = ChunkUploadedMessage | PingMessage | SetSettingsMessage;

// ─── WebSocket: /ws/events (dashboard) ───────────────────────────────────────

/** One chunk as the dashboard draws it. */
export interface DashboardChunk {
  index: number;
  status: ChunkStatus;
  /**
   * Ready only: ms from the end of the chunk's capture (its origin + end time) to its segment being
   * stored; from its upload when the chunk carries no capture time. Null otherwise.
   */
  latency_ms: number | null;
}

/** A session as the dashboard shows it. */
export interface DashboardSession {
  session_id: string;
  state: SessionState;
  mode: StereoMode;
  created_at: string;
  ended_at: string | null;
  /** Segments listed in the playlist. */
  listed: number;
  /** Chunks known to the server (uploaded, in any state). */
  uploaded: number;
  ready: number;
  failed: number;
  pending: number;
  settings: StereoSettingsWire;
  live: LiveStatus;
  /** The newest chunks (at most 60), oldest first. */
  chunks: DashboardChunk[];
}

/** The GPU pool's load. */
export interface PoolStatus {
  threads: number;
  /** Tasks waiting for a worker. */
  queue_size: number;
  /** Share of the workers' time spent converting since the start, 0…1. */
  utilization: number;
  completed: number;
}

/** Sent once when the dashboard connects: the newest sessions and the pool. */
export interface SessionsSnapshotMessage {
  type: 'sessions';
  sessions: DashboardSession[];
  pool: PoolStatus;
}

/** A session changed (created, a chunk moved, the playlist grew, it ended). */
export interface SessionEventMessage extends DashboardSession {
  type: 'session';
}

/** The pool's load, pushed every second while a dashboard is connected. */
export interface PoolMessage {
  type: 'pool';
  pool: PoolStatus;
}

export type DashboardMessage = SessionsSnapshotMessage | SessionEventMessage | PoolMessage;

// ─── Close codes ─────────────────────────────────────────────────────────────

/** Close codes the server uses on its sockets (4000–4999 are application-defined). */
export const CloseCode = {
  /** The server is shutting down. */
  GoingAway: 1001,
  /** A frame could not be decoded or is not a known message. */
  BadMessage: 4400,
  /** The control token is missing or wrong for a control message. */
  Unauthorized: 4401,
  /** The session does not exist (or no longer exists). */
  SessionNotFound: 4404,
  /** The subscriber read too slowly and its send buffer hit the limit. */
  SlowConsumer: 4408,
  /** The session ended; nothing more will be sent. */
  SessionEnded: 4000,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

// ─── Socket authentication ───────────────────────────────────────────────────

/**
 * The subprotocol every StereoSpot socket speaks. A client that carries a token offers it beside this
 * one (browsers cannot set headers on a WebSocket, and a token in the URL ends up in proxy logs); the
 * server answers with this protocol alone, never echoing the token.
 */
export const SOCKET_PROTOCOL = 'stereospot';
/** Prefix of the offered subprotocol that carries a token: `bearer.{base64url of the token}`. */
export const TOKEN_PROTOCOL_PREFIX = 'bearer.';

/** Base64url of a string's UTF-8 bytes, the same in Node and browsers. */
function base64url(text: string): string {
  let binary = '';
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The subprotocols a client offers: ours, and its token when it has one (control or admin token). */
export function socketProtocols(token?: string | null): string[] {
  return token ? [SOCKET_PROTOCOL, `${TOKEN_PROTOCOL_PREFIX}${base64url(token)}`] : [SOCKET_PROTOCOL];
}

/**
 * The token carried in a `Sec-WebSocket-Protocol` header's offered list, or null when none is
 * (or when the one offered is not base64url).
 */
export function tokenFromProtocols(header: string | undefined): string | null {
  if (!header) return null;
  for (const offered of header.split(',')) {
    const value = offered.trim();
    if (!value.startsWith(TOKEN_PROTOCOL_PREFIX)) continue;
    const encoded = value.slice(TOKEN_PROTOCOL_PREFIX.length);
    if (encoded === '' || encoded.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(encoded)) return null;
    const binary = atob(encoded.replace(/-/g, '+').replace(/_/g, '/'));
    return new TextDecoder().decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  }
  return null;
}

/** Whether an offered-subprotocols header includes ours (the server then answers with it). */
export function offersSocketProtocol(header: string | undefined): boolean {
  return header?.split(',').some((p) => p.trim() === SOCKET_PROTOCOL) ?? false;
}
