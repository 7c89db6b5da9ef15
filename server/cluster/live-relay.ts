/**
 * The live path across nodes (the LiveRelay port, adapters/ports.ts): a session's live path runs on the
 * node running its actor (its owner), and a socket that reached another node — a publisher or a viewer
 * behind a load balancer — is relayed to it over the cluster's wire rather than redirected: the nodes
 * reach each other through Redis already, a browser or capture client may not reach a given node at all,
 * and one relayed copy per node serves all of that node's viewers.
 * - To the owner, on its inbox channel: a publisher's configuration, its media frames, its leaving;
 *   and each watching node's lease (renewed, with its viewer count and a keyframe request when a viewer joined).
 * - From the owner, on the session's channel: the converted stream's messages and media, heard only by
 *   the nodes that follow it (while they have viewers or a publisher there).
 * Media travel as the live wire's own bytes (protocol/live.ts) in base64; everything is parsed on
 * arrival with the live wire's parsers, so another node can put nothing into a socket that a client
 * could not have sent.
 */
import type { LiveInbound, LiveOutbound, LiveRelay } from '../adapters/ports.ts';
import { type LiveControlMessage, LIVE_END_REASONS, parseLiveConfig, parseLiveFrame } from '../../protocol/live.ts';
import { errorMessage, type Logger } from '../log.ts';
import { NODE_ID, type Parsed } from './messages.ts';
import type { ClusterTransport } from './transport.ts';

const SESSION_ID = /^[A-Za-z0-9_-]{1,64}$/;
const inbox = (nodeId: string) => `stereospot:live:node:${nodeId}`;
const sessionChannel = (sessionId: string) => `stereospot:live:session:${sessionId}`;
/** A node's viewers of one session (bounded: far more than a node holds sockets). */
const MAX_VIEWERS = 1_000_000;

const refuse = (problem: string): { ok: false; problem: string } => ({ ok: false, problem });
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;

/** Live media as the wire has them (checked whole by the live wire's parser). */
function mediaOf(value: unknown): Parsed<Uint8Array> {
  if (typeof value !== 'string') return refuse('data must be base64 text');
  const bytes = new Uint8Array(Buffer.from(value, 'base64'));
  const check = parseLiveFrame(bytes);
  return check.ok ? { ok: true, value: bytes } : refuse(`data: ${check.message}`);
}

/** What a node sends a session's owner. */
export function parseLiveInbound(value: unknown): Parsed<LiveInbound> {
  if (!isObject(value)) return refuse('message must be an object');
  const { kind, sessionId, from } = value;
  if (typeof sessionId !== 'string' || !SESSION_ID.test(sessionId)) return refuse('sessionId is not a session id');
  if (typeof from !== 'string' || !NODE_ID.test(from)) return refuse('from must be a node id');
  switch (kind) {
    case 'publish': {
      const check = parseLiveConfig(value.config);
      return check.ok ? { ok: true, value: { kind, sessionId, from, config: check.config } } : refuse(`config: ${check.message}`);
    }
    case 'media': {
      const data = mediaOf(value.data);
      return data.ok ? { ok: true, value: { kind, sessionId, from, data: data.value } } : data;
    }
    case 'unpublish':
      return { ok: true, value: { kind, sessionId, from } };
    case 'watch': {
      const { viewers, keyframe } = value;
      if (!isCount(viewers, MAX_VIEWERS)) return refuse('watch: viewers must be a count');
      if (typeof keyframe !== 'boolean') return refuse('watch: keyframe must be a boolean');
      return { ok: true, value: { kind, sessionId, from, viewers, keyframe } };
    }
    default:
      return refuse('kind must be publish, media, unpublish or watch');
  }
}

/** A viewer's text message as the owner relays it, rebuilt field by field. */
function parseControl(value: unknown): Parsed<LiveControlMessage> {
  if (!isObject(value)) return refuse('message must be an object');
  switch (value.type) {
    case 'live_config': {
      const check = parseLiveConfig(value);
      return check.ok ? { ok: true, value: check.config } : refuse(check.message);
    }
    case 'live_end': {
      const reason = LIVE_END_REASONS.find((r) => r === value.reason);
      return reason ? { ok: true, value: { type: 'live_end', reason } } : refuse('live_end: reason is not one');
    }
    case 'live_stats': {
      const { received, dropped } = value;
      if (!isCount(received, Number.MAX_SAFE_INTEGER) || !isCount(dropped, Number.MAX_SAFE_INTEGER))
        return refuse('live_stats: received and dropped must be counts');
      return { ok: true, value: { type: 'live_stats', received, dropped, viewer_dropped: 0 } };
    }
    default:
      return refuse('type must be live_config, live_end or live_stats');
  }
}

/** What the owner sends the nodes following a session. */
export function parseLiveOutbound(value: unknown): Parsed<LiveOutbound> {
  if (!isObject(value)) return refuse('message must be an object');
  const { kind, sessionId } = value;
  if (typeof sessionId !== 'string' || !SESSION_ID.test(sessionId)) return refuse('sessionId is not a session id');
  if (kind === 'media') {
    const data = mediaOf(value.data);
    return data.ok ? { ok: true, value: { kind, sessionId, data: data.value } } : data;
  }
  if (kind !== 'control') return refuse('kind must be media or control');
  const message = parseControl(value.message);
  return message.ok ? { ok: true, value: { kind, sessionId, message: message.value } } : message;
}

/** On the wire: media as base64 text (the transports carry JSON). */
function wire(message: LiveInbound | LiveOutbound): unknown {
  return 'data' in message ? { ...message, data: Buffer.from(message.data).toString('base64') } : message;
}

export class LiveRelayChannels implements LiveRelay {
  readonly #transport: ClusterTransport;
  readonly #nodeId: string;
  readonly #log: Logger;
  readonly #handlers: Array<(message: LiveInbound) => void> = [];

  constructor(transport: ClusterTransport, nodeId: string, log: Logger) {
    this.#transport = transport;
    this.#nodeId = nodeId;
    this.#log = log;
  }

  /** Starts taking what other nodes send this one's live paths. */
  start(): Promise<void> {
    return this.#transport.listen(inbox(this.#nodeId), parseLiveInbound, (message) => {
      for (const handler of this.#handlers) handler(message);
    });
  }

  get nodeId(): string {
    return this.#nodeId;
  }

  toOwner(owner: string, message: LiveInbound): Promise<boolean> {
    return this.#send(inbox(owner), message);
  }

  onInbound(handler: (message: LiveInbound) => void): void {
    this.#handlers.push(handler);
  }

  toFollowers(message: LiveOutbound): Promise<boolean> {
    return this.#send(sessionChannel(message.sessionId), message);
  }

  async follow(sessionId: string, handler: (message: LiveOutbound) => void): Promise<() => Promise<void>> {
    const channel = sessionChannel(sessionId);
    await this.#transport.listen(channel, parseLiveOutbound, (message) => {
      if (message.sessionId === sessionId) handler(message);
    });
    return () => this.#transport.unlisten(channel);
  }

  /** Best effort, as the live path is: false when nobody listens or the wire failed (logged). */
  async #send(channel: string, message: LiveInbound | LiveOutbound): Promise<boolean> {
    try {
      return (await this.#transport.send(channel, wire(message))) > 0;
    } catch (error) {
      this.#log.warn('live relay send failed', { channel, error: errorMessage(error) });
      return false;
    }
  }
}
