export { NotOwnerError, SessionService, type SessionListener, type SessionServiceOptions } from './service.ts';
export type { ChunkProcessor } from '../adapters/ports.ts';
export type { ListCursor } from './list-page.ts';
export { PlaylistCache, toPlaylistEntry } from './playlist-cache.ts';
