/**
 * Where a command runs — the one place that decides. A session's actor runs on exactly one node (the
 * holder of its lease); a command for it is done here when that is this node, and otherwise sent to
 * the owner over the bus, which does it the same way (`execute`) and answers. A new session goes to
 * the least-loaded node (presence), here when that node does not take it.
 *
 * NotOwnerError when the owner is unknown or does not answer: requests are answered 503 (retry), queue
 * events go back to the queue for the owner to receive.
 */
import type { SessionRegistry, SessionView, StereoSettings } from '../../actors/index.ts';
import type { StereoMode } from '../../protocol/keys.ts';
import type { ClusterBus, CommandReply, SessionCommand, SessionLeases } from '../adapters/ports.ts';
import type { Presence } from '../cluster/presence.ts';
import { errorMessage, type Logger } from '../log.ts';
import type { RemoteViews } from './remote-views.ts';

/** How long a command sent to another node waits for its answer. */
const COMMAND_TIMEOUT_MS = 3000;

/**
 * Another node holds the session's lease and runs its actor: this node may show its stored state but
 * cannot act on it. Queue events are left for redelivery; requests are answered 503 (retry).
 */
export class NotOwnerError extends Error {
  override name = 'NotOwnerError';
}

/** A command for an existing session. */
export type SessionOrder = Exclude<SessionCommand, { type: 'create' }>;

export interface CommandsOptions {
  nodeId: string;
  bus: ClusterBus;
  registry: SessionRegistry;
  remote: RemoteViews;
  leases: SessionLeases;
  presence: Presence;
  log: Logger;
  /** Aborted when the service closes: no new sessions are taken. */
  closing: AbortSignal;
  /** Creates a session that runs on this node. */
  createHere(mode: StereoMode, settings: StereoSettings): Promise<SessionView>;
  /** A session's view, loaded from the store when needed. */
  find(sessionId: string): Promise<SessionView | undefined>;
}

export class Commands {
  readonly #opts: CommandsOptions;

  constructor(options: CommandsOptions) {
    this.#opts = options;
    options.bus.onCommand((command) => this.#execute(command));
  }

  /** Does `order` where the session runs: here, or on its owner (NotOwnerError when it cannot be). */
  run(order: SessionOrder): Promise<CommandReply> {
    return this.#opts.registry.has(order.sessionId) ? this.#execute(order) : this.#forward(order);
  }

  /** Creates a session on the least-loaded node (here on a tie, or when that node does not take it). */
  async create(mode: StereoMode, settings: StereoSettings): Promise<SessionView> {
    const { presence, nodeId, bus, log } = this.#opts;
    const target = presence.place();
    if (target !== nodeId) {
      const reply = await bus.request(target, { type: 'create', mode, settings }, COMMAND_TIMEOUT_MS).catch((error: unknown) => {
        log.warn('the least-loaded node did not take a new session: it runs here', { node_id: target, error: errorMessage(error) });
        return null;
      });
      const view = reply?.ok && reply.sessionId ? await this.#opts.find(reply.sessionId) : undefined;
      if (view) return view;
      presence.forget(target);
    }
    return this.#opts.createHere(mode, settings);
  }

  /** The node running the session: known from its bus messages, else from the lease itself (its messages may not have come yet). */
  async owner(sessionId: string): Promise<string | undefined> {
    const { remote, leases, registry, nodeId } = this.#opts;
    if (registry.has(sessionId)) return nodeId;
    return remote.owner(sessionId) ?? (await leases.holder(sessionId)) ?? undefined;
  }

  /** To the owner. */
  async #forward(order: SessionOrder): Promise<CommandReply> {
    const { nodeId, bus } = this.#opts;
    const owner = await this.owner(order.sessionId);
    if (!owner || owner === nodeId) throw new NotOwnerError(`another node runs session ${order.sessionId}`);
    const reply = await bus.request(owner, order, COMMAND_TIMEOUT_MS).catch(() => null);
    if (!reply?.ok)
      throw new NotOwnerError(
        `the node running session ${order.sessionId} did not take the command${reply?.error ? `: ${reply.error}` : ''}`,
      );
    return reply;
  }

  /** A command done here: from this node's own requests or forwarded by another; only while this node runs the session. */
  async #execute(command: SessionCommand): Promise<CommandReply> {
    const { registry, log } = this.#opts;
    if (command.type === 'create') {
      if (this.#opts.closing.aborted) return { ok: false, error: 'shutting down' };
      const view = await this.#opts.createHere(command.mode, command.settings);
      return { ok: true, sessionId: view.context.sessionId };
    }
    const { sessionId } = command;
    if (!registry.has(sessionId)) return { ok: false, error: 'not running here' };
    switch (command.type) {
      case 'chunk':
        registry.send(sessionId, { type: 'CHUNK_UPLOADED', index: command.index, bytes: command.bytes, source: command.source ?? 'queue' });
        return { ok: true };
      case 'end':
        registry.send(sessionId, { type: 'END', expectedChunks: command.expectedChunks });
        return { ok: true };
      case 'settings':
        log.info('stereo settings changed', {
          session_id: sessionId,
          ...command.settings,
          ...(command.mode ? { mode: command.mode } : {}),
        });
        registry.send(sessionId, { type: 'SET_SETTINGS', settings: command.settings, ...(command.mode ? { mode: command.mode } : {}) });
        return { ok: true };
      case 'rotate': {
        registry.send(sessionId, { type: 'ROTATE_CONTROL' });
        const generation = registry.view(sessionId)?.context.controlGeneration;
        if (generation === undefined) return { ok: false, error: 'not running here' };
        log.info('control token rotated', { session_id: sessionId, generation });
        return { ok: true, generation };
      }
    }
  }
}
