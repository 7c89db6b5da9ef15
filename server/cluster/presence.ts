/**
 * Which nodes are alive and how loaded, for placing new sessions: every node announces its load on the
 * bus each second (an announcement expires after three, so a dead node drops out by itself) and keeps
 * the table of everyone's. A new session goes to the node with the fewest open sessions per worker
 * thread — this one on a tie, which saves a hop. Between two readings of the table, each placement
 * counts against its node at once, so a burst of creations spreads instead of piling on one node.
 */
import type { ClusterBus, NodeLoad } from '../adapters/ports.ts';
import { errorMessage, type Logger } from '../log.ts';

export interface PresenceOptions {
  bus: ClusterBus;
  nodeId: string;
  /** This node's load now. */
  load(): Omit<NodeLoad, 'nodeId'>;
  log: Logger;
  /** How often the node announces itself and reads the table (ms); announcements live three times that. */
  intervalMs?: number;
}

/** The least-loaded node: fewest open sessions per worker, then `self`, then by name (stable). */
export function leastLoaded(nodes: readonly NodeLoad[], self: string): string {
  const rank = (n: NodeLoad) => [n.sessions / Math.max(1, n.workers), n.nodeId === self ? 0 : 1] as const;
  let best: NodeLoad | undefined;
  for (const node of nodes) {
    if (!best) {
      best = node;
      continue;
    }
    const [score, notSelf] = rank(node);
    const [bestScore, bestNotSelf] = rank(best);
    if (score < bestScore || (score === bestScore && (notSelf < bestNotSelf || (notSelf === bestNotSelf && node.nodeId < best.nodeId))))
      best = node;
  }
  return best?.nodeId ?? self;
}

export class Presence {
  readonly #opts: PresenceOptions;
  readonly #intervalMs: number;
  readonly #timer: NodeJS.Timeout;
  /** Everyone else, as last read (plus the placements made since). */
  #others = new Map<string, NodeLoad>();
  #ticking = false;
  #closed = false;

  constructor(options: PresenceOptions) {
    this.#opts = options;
    this.#intervalMs = options.intervalMs ?? 1000;
    this.#timer = setInterval(() => void this.tick(), this.#intervalMs);
    this.#timer.unref();
  }

  /** Every node known alive, this one with its load of this moment. */
  nodes(): NodeLoad[] {
    return [{ nodeId: this.#opts.nodeId, ...this.#opts.load() }, ...this.#others.values()];
  }

  /** The node a new session should run on; that node's count goes up by one until the next reading. */
  place(): string {
    const chosen = leastLoaded(this.nodes(), this.#opts.nodeId);
    const other = this.#others.get(chosen);
    if (other) other.sessions++;
    return chosen;
  }

  /** A node did not take a session it was given (gone, overloaded): out of the table until it announces again. */
  forget(nodeId: string): void {
    this.#others.delete(nodeId);
  }

  /** Announces this node and reads everyone's load. Runs every interval; callable to do it now. */
  async tick(): Promise<void> {
    if (this.#ticking || this.#closed) return;
    this.#ticking = true;
    try {
      await this.#opts.bus.announce({ nodeId: this.#opts.nodeId, ...this.#opts.load() }, this.#intervalMs * 3);
      const nodes = await this.#opts.bus.nodes();
      this.#others = new Map(nodes.filter((n) => n.nodeId !== this.#opts.nodeId).map((n) => [n.nodeId, n]));
    } catch (error) {
      // Redis unreachable: keep placing with what we knew (at worst, sessions stay here).
      this.#opts.log.warn('presence update failed', { error: errorMessage(error) });
    } finally {
      this.#ticking = false;
    }
  }

  close(): void {
    this.#closed = true;
    clearInterval(this.#timer);
  }
}
