/**
 * Runtime checks of what nodes send each other over the bus (after its seal verified): a session
 * change with the owner's record, a command, a reply, a presence value. A sealed message comes from a
 * node with the shared key, but it is still checked whole — a node of another version, or a bug, must
 * not put a session out of its ranges on every node. Each parser returns the typed value (commands,
 * replies and presence rebuilt field by field, so nothing unchecked rides along) or the first problem.
 *
 * These are node-to-node messages (their record is the actors' SessionRecord), so they live here rather
 * than in protocol/, which holds what clients see.
 */
import type { SessionChange } from '../../actors/changes.ts';
import { changesProblem, recordProblem, settingsProblem } from '../../actors/index.ts';
import type { SessionRecord } from '../../actors/types.ts';
import { MAX_CHUNK_INDEX, STEREO_MODES } from '../../protocol/keys.ts';
import type { CommandReply, NodeLoad, SessionChangeMessage, SessionCommand } from '../adapters/ports.ts';

/** What a node id may be (NODE_ID, or the host name and pid). */
export const NODE_ID = /^[A-Za-z0-9_.-]{1,100}$/;
const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;

/** A checked value, or the first problem found. */
export type Parsed<T> = { ok: true; value: T } | { ok: false; problem: string };

const refuse = (problem: string): { ok: false; problem: string } => ({ ok: false, problem });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number =>
  typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
const isSessionId = (v: unknown): v is string => typeof v === 'string' && SESSION_ID.test(v);
const isNodeId = (v: unknown): v is string => typeof v === 'string' && NODE_ID.test(v);

/** The settings present in an object that settingsProblem passed. */
function settingsIn(value: unknown): { strength?: number; convergence?: number } {
  if (!isObject(value)) return {};
  const { strength, convergence } = value;
  return { ...(typeof strength === 'number' ? { strength } : {}), ...(typeof convergence === 'number' ? { convergence } : {}) };
}

/** A session change as its owner publishes it (the record and changes checked whole by the actors' rules). */
export function parseChangeMessage(value: unknown): Parsed<SessionChangeMessage> {
  if (!isObject(value)) return refuse('message must be an object');
  const { from, sessionId, token, seq, record, changes } = value;
  if (!isNodeId(from)) return refuse('from must be a node id');
  if (!isSessionId(sessionId)) return refuse('sessionId must match ^[A-Za-z0-9_-]{1,64}$');
  if (!isCount(token) || !isCount(seq)) return refuse('token and seq must be non-negative integers');
  const recordWrong = recordProblem(record);
  if (recordWrong) return refuse(recordWrong);
  const checkedRecord = record as SessionRecord; // recordProblem found nothing: it is one
  if (checkedRecord.sessionId !== sessionId) return refuse('the record is of another session');
  const changesWrong = changesProblem(changes);
  if (changesWrong) return refuse(changesWrong);
  return { ok: true, value: { from, sessionId, token, seq, record: checkedRecord, changes: changes as SessionChange[] } };
}

/** A command a node sends another. */
export function parseCommand(value: unknown): Parsed<SessionCommand> {
  if (!isObject(value)) return refuse('command must be an object');
  const { type, sessionId } = value;
  if (type === 'create') {
    const mode = STEREO_MODES.find((m) => m === value.mode);
    if (!mode) return refuse(`create: mode must be one of ${STEREO_MODES.join(', ')}`);
    const wrong = settingsProblem(value.settings, 'create.settings');
    if (wrong) return refuse(wrong);
    const { strength = 0, convergence = 0 } = settingsIn(value.settings);
    return { ok: true, value: { type, mode, settings: { strength, convergence } } };
  }
  if (type !== 'chunk' && type !== 'end' && type !== 'settings' && type !== 'rotate')
    return refuse('command type must be create, chunk, end, settings or rotate');
  if (!isSessionId(sessionId)) return refuse(`${type}: sessionId is not a session id`);
  switch (type) {
    case 'chunk': {
      const { index, bytes, source } = value;
      if (!isCount(index, MAX_CHUNK_INDEX)) return refuse(`chunk: index must be an integer from 0 to ${MAX_CHUNK_INDEX}`);
      if (!isCount(bytes)) return refuse('chunk: bytes must be a non-negative integer');
      if (source !== undefined && source !== 'socket' && source !== 'queue') return refuse('chunk: source must be socket or queue');
      return { ok: true, value: { type, sessionId, index, bytes, ...(source ? { source } : {}) } };
    }
    case 'end': {
      // The owner's actor bounds the count by what it has seen; here only the type and the index range.
      const { expectedChunks } = value;
      if (expectedChunks !== null && !isCount(expectedChunks, MAX_CHUNK_INDEX + 1))
        return refuse('end: expectedChunks must be null or a chunk count');
      return { ok: true, value: { type, sessionId, expectedChunks } };
    }
    case 'settings': {
      const wrong = settingsProblem(value.settings, 'settings.settings', true);
      if (wrong) return refuse(wrong);
      const mode = STEREO_MODES.find((m) => m === value.mode);
      if (value.mode !== undefined && !mode) return refuse(`settings: mode must be one of ${STEREO_MODES.join(', ')}`);
      return { ok: true, value: { type, sessionId, settings: settingsIn(value.settings), ...(mode ? { mode } : {}) } };
    }
    case 'rotate':
      return { ok: true, value: { type, sessionId } };
  }
}

/** The owner's answer to a command. */
export function parseReply(value: unknown): Parsed<CommandReply> {
  if (!isObject(value) || typeof value.ok !== 'boolean') return refuse('reply must be an object with ok');
  const { ok, error, sessionId, generation } = value;
  if (error !== undefined && (typeof error !== 'string' || error.length > 1000)) return refuse('reply.error must be a short string');
  if (sessionId !== undefined && !isSessionId(sessionId)) return refuse('reply.sessionId is not a session id');
  if (generation !== undefined && !isCount(generation, 1_000_000)) return refuse('reply.generation must be a count');
  return {
    ok: true,
    value: {
      ok,
      ...(error !== undefined ? { error } : {}),
      ...(sessionId !== undefined ? { sessionId } : {}),
      ...(generation !== undefined ? { generation } : {}),
    },
  };
}

/** A node's presence value, stored under its own key (`nodeId` must be the key's). */
export function parseNodeLoad(value: unknown, keyNodeId: string): Parsed<NodeLoad> {
  if (!isObject(value)) return refuse('presence must be an object');
  const { nodeId, workers, sessions } = value;
  if (nodeId !== keyNodeId || !isNodeId(nodeId)) return refuse('presence names another node than its key');
  if (!isCount(workers, 1024) || !isCount(sessions, 10_000_000)) return refuse('presence: workers and sessions must be counts');
  return { ok: true, value: { nodeId, workers, sessions } };
}

/** A node-to-node message: a command from a node, or the reply to one of ours. */
export type NodeMessage =
  | { kind: 'command'; id: string; from: string; command: SessionCommand }
  | { kind: 'reply'; id: string; reply: CommandReply };

export function parseNodeMessage(value: unknown): Parsed<NodeMessage> {
  if (!isObject(value)) return refuse('message must be an object');
  const { kind, id, from } = value;
  if (typeof id !== 'string' || id.length > 200) return refuse('id must be a string of at most 200 characters');
  if (kind === 'reply') {
    const reply = parseReply(value.reply);
    return reply.ok ? { ok: true, value: { kind, id, reply: reply.value } } : reply;
  }
  if (kind !== 'command') return refuse('kind must be command or reply');
  if (!isNodeId(from)) return refuse('from must be a node id');
  const command = parseCommand(value.command);
  return command.ok ? { ok: true, value: { kind, id, from, command: command.value } } : command;
}
