/**
 * A session's playlist and its socket entries, with signed URLs. A playlist is rendered once per view
 * (a view is immutable: any change to the session makes a new one, so a cached text is never behind the
 * session) and base URL, reused for at most PLAYLIST_REUSE_MS so its signed URLs stay fresh, and
 * gzipped once on first demand.
 */
import { gzipSync } from 'node:zlib';
import { renderPlaylist, timeline, type SessionView, type TimelineEntry } from '../../actors/index.ts';
import { initFileName, segmentFileName } from '../../protocol/keys.ts';
import type { PlaylistEntry } from '../../protocol/messages.ts';
import type { SegmentUrls } from '../adapters/ports.ts';

/** How long a rendered playlist is served again for the same view (its signed URLs stay valid for their lifetime minus this). */
const PLAYLIST_REUSE_MS = 5000;
const MAX_RENDERS_PER_VIEW = 4;

/** A playlist's text, its gzip made on first demand. */
interface RenderedText {
  text: string;
  gzip?: Buffer;
}

/**
 * A playlist rendering, reused until `until`. Cached from the moment it starts: requests arriving while
 * its URLs are being signed (a thousand held reloads woken by one segment, say) share it.
 */
interface Rendering {
  baseUrl: string;
  ready: Promise<RenderedText>;
  until: number;
}

export class PlaylistCache {
  readonly #segmentUrls: SegmentUrls;
  /** Rendered playlists by view (dropped with the view: a weak map). */
  readonly #rendered = new WeakMap<SessionView, Rendering[]>();

  constructor(segmentUrls: SegmentUrls) {
    this.#segmentUrls = segmentUrls;
  }

  /**
   * The playlist text, with signed URLs based at `baseUrl`. Rendered once per view (a view is immutable:
   * any change to the session makes a new one, so a cached text is never behind the session) and base
   * URL, and reused for at most PLAYLIST_REUSE_MS so its signed URLs stay fresh.
   */
  async playlist(view: SessionView, baseUrl: string): Promise<string> {
    return (await this.#rendering(view, baseUrl)).text;
  }

  /** The same playlist gzipped (for clients that accept it: a fraction of the bytes), compressed once per rendering. */
  async playlistGzip(view: SessionView, baseUrl: string): Promise<Buffer> {
    const rendering = await this.#rendering(view, baseUrl);
    rendering.gzip ??= gzipSync(rendering.text);
    return rendering.gzip;
  }

  #rendering(view: SessionView, baseUrl: string): Promise<RenderedText> {
    const now = Date.now();
    const cached = this.#rendered.get(view)?.find((r) => r.baseUrl === baseUrl && r.until > now);
    if (cached) return cached.ready;
    // A few base URLs per view (hosts a player reaches the server by); the oldest goes first.
    const renders = (this.#rendered.get(view) ?? [])
      .filter((r) => r.baseUrl !== baseUrl && r.until > now)
      .slice(-(MAX_RENDERS_PER_VIEW - 1));
    const rendering: Rendering = { baseUrl, ready: this.#render(view, baseUrl), until: now + PLAYLIST_REUSE_MS };
    renders.push(rendering);
    this.#rendered.set(view, renders);
    // A rendering that failed (signing unavailable) is not kept: the next request tries again.
    rendering.ready.catch(() => {
      const list = this.#rendered.get(view);
      if (list?.includes(rendering))
        this.#rendered.set(
          view,
          list.filter((r) => r !== rendering),
        );
    });
    return rendering.ready;
  }

  async #render(view: SessionView, baseUrl: string): Promise<RenderedText> {
    const { context } = view;
    const entries = timeline(context.chunks, context.config.chunkSeconds);
    const urls = await this.#urls(context.sessionId, entries, baseUrl);
    const text = renderPlaylist(
      {
        chunks: context.chunks,
        closed: view.phase === 'ended',
        chunkSeconds: context.config.chunkSeconds,
        segmentUri: (index) => urls.get(segmentFileName(index)) ?? segmentFileName(index),
        initUri: (id) => urls.get(initFileName(id)) ?? '',
      },
      entries,
    );
    return { text };
  }

  /**
   * Listed entries `from`… as the session socket sends them, with signed URLs (relative to the server
   * when `baseUrl` is empty). At most `limit` of the newest when `limit` is given.
   */
  async entries(view: SessionView, from: number, baseUrl: string, limit = Infinity): Promise<PlaylistEntry[]> {
    const all = timeline(view.context.chunks, view.context.config.chunkSeconds);
    const picked = all.slice(Math.max(from, all.length - limit));
    const urls = await this.#urls(view.context.sessionId, picked, baseUrl);
    return picked.map((e) => toPlaylistEntry(e, urls));
  }

  /** Signed URLs of the entries' segments and init segments, by file name. */
  async #urls(sessionId: string, entries: TimelineEntry[], baseUrl: string): Promise<Map<string, string>> {
    const files = new Set<string>();
    for (const entry of entries) {
      // A gap has nothing to fetch: its URI is its bare file name (players do not load it), unsigned,
      // so that gaps cost no signature (one request must not buy thousands).
      if (!entry.gap) files.add(segmentFileName(entry.index));
      if (entry.init !== null) files.add(initFileName(entry.init));
    }
    const urls = new Map<string, string>();
    for (const file of files) urls.set(file, await this.#segmentUrls.url(sessionId, file, baseUrl));
    return urls;
  }
}

/** The wire form of a timeline entry; `urls` holds the signed URLs by file name. */
export function toPlaylistEntry(entry: TimelineEntry, urls: Map<string, string>): PlaylistEntry {
  return {
    index: entry.index,
    gap: entry.gap,
    uri: entry.gap ? null : (urls.get(segmentFileName(entry.index)) ?? null),
    start: entry.start,
    duration: entry.duration,
    captured_at: entry.capturedAt,
    discontinuity: entry.discontinuity,
    init: entry.init === null ? null : { id: entry.init, uri: urls.get(initFileName(entry.init)) ?? '', codecs: entry.codecs ?? '' },
  };
}
