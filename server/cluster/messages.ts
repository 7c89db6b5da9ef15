/**
 * Runtime checks of what nodes send each other over the bus (after its seal verified): a session
 * change with the owner's record, a command, a reply, a presence value. A sealed message comes from a
 * node with the shared key, but it is still checked whole — a node of another version, or a bug, must
 * not put a session out of its ranges on every node. Each returns the first problem, or null.
 *
 * These are node-to-node messages (their record is the actors' SessionRecord), so they live here rather
 * than in protocol/, which holds what clients see.
 */
import { changesProblem, recordProblem, settingsProblem } from '../../actors/index.ts';

/** What a node id may be (NODE_ID, or the host name and pid). */
export const NODE_ID = /^[A-Za-z0-9_.-]{1,100}$/;
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_CHUNK_INDEX = 99_999;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
const isSessionId = (v: unknown): v is string => typeof v === 'string' && SESSION_ID.test(v);

/** A session change as its owner publishes it. */
export function changeMessageProblem(value: unknown): string | null {
  if (!isObject(value)) return 'message must be an object';
  if (typeof value.from !== 'string' || !NODE_ID.test(value.from)) return 'from must be a node id';
  if (!isSessionId(value.sessionId)) return 'sessionId must match ^[A-Za-z0-9_-]{1,64}$';
  if (!isCount(value.token) || !isCount(value.seq)) return 'token and seq must be non-negative integers';
  const record = recordProblem(value.record);
  if (record) return record;
  if ((value.record as { sessionId: string }).sessionId !== value.sessionId) return 'the record is of another session';
  return changesProblem(value.changes);
}

/** A command a node sends another. */
export function commandProblem(value: unknown): string | null {
  if (!isObject(value)) return 'command must be an object';
  switch (value.type) {
    case 'create':
      if (value.mode !== 'sbs' && value.mode !== 'anaglyph') return 'create: mode must be sbs or anaglyph';
      return settingsProblem(value.settings, 'create.settings');
    case 'chunk':
      if (!isSessionId(value.sessionId)) return 'chunk: sessionId is not a session id';
      if (!isCount(value.index, MAX_CHUNK_INDEX)) return `chunk: index must be an integer from 0 to ${MAX_CHUNK_INDEX}`;
      return isCount(value.bytes) ? null : 'chunk: bytes must be a non-negative integer';
    case 'end':
      if (!isSessionId(value.sessionId)) return 'end: sessionId is not a session id';
      // The owner's actor bounds the count by what it has seen; here only the type and the index range.
      return value.expectedChunks === null || isCount(value.expectedChunks, MAX_CHUNK_INDEX + 1)
        ? null
        : 'end: expectedChunks must be null or a chunk count';
    case 'settings':
      if (!isSessionId(value.sessionId)) return 'settings: sessionId is not a session id';
      return settingsProblem(value.settings, 'settings.settings', true);
    case 'rotate':
      return isSessionId(value.sessionId) ? null : 'rotate: sessionId is not a session id';
    default:
      return 'command type must be create, chunk, end, settings or rotate';
  }
}

/** The owner's answer to a command. */
export function replyProblem(value: unknown): string | null {
  if (!isObject(value) || typeof value.ok !== 'boolean') return 'reply must be an object with ok';
  if (value.error !== undefined && (typeof value.error !== 'string' || value.error.length > 1000))
    return 'reply.error must be a short string';
  if (value.sessionId !== undefined && !isSessionId(value.sessionId)) return 'reply.sessionId is not a session id';
  if (value.generation !== undefined && !isCount(value.generation, 1_000_000)) return 'reply.generation must be a count';
  return null;
}

/** A node's presence value, stored under its own key (`nodeId` must be the key's). */
export function nodeLoadProblem(value: unknown, keyNodeId: string): string | null {
  if (!isObject(value)) return 'presence must be an object';
  if (value.nodeId !== keyNodeId || !NODE_ID.test(keyNodeId)) return 'presence names another node than its key';
  if (!isCount(value.workers, 1024) || !isCount(value.sessions, 10_000_000)) return 'presence: workers and sessions must be counts';
  return null;
}
