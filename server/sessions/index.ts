export { NotOwnerError, SessionService, type SessionServiceOptions } from './service.ts';
export type { SessionListener } from './events.ts';
export type { ChunkProcessor } from '../adapters/ports.ts';
export type { ListCursor } from './list-page.ts';
