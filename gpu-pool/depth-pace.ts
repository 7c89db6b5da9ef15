/**
 * The automatic depth rate (`DEPTH_FPS=auto`): how often the network runs so a chunk converts in at most
 * half its own duration — realtime with room to spare, whatever the network costs on this machine.
 * Each worker measures what an estimate costs and what everything else costs per frame (decoding,
 * the warp, encoding), per picture size, and picks the smallest interval between estimates that fits:
 *
 *   frame cost + estimate cost / interval ≤ (1 / fps) × BUDGET
 *
 * The frames between estimates take depth interpolated between the two nearest (convert.ts). At most
 * MAX_HOLD_SECONDS pass between estimates however heavy the network: past that the picture would outrun
 * its depth, and a slower conversion is the better trade.
 */

/** A chunk converts in at most this share of its duration. */
export const AUTO_BUDGET = 0.5;
/** The longest the network's estimates may be apart (s): at least two estimates per second. */
export const MAX_HOLD_SECONDS = 0.5;
/** EMA weight of a new measurement. */
const WEIGHT = 0.3;
/** Picture sizes remembered per worker. */
const SIZES = 16;

interface Costs {
  /** Milliseconds per estimate (input preparation and the network). */
  estimate: number | null;
  /** Milliseconds per frame for everything else. */
  frame: number | null;
}

export class DepthPace {
  readonly #costs = new Map<string, Costs>();

  /** Whether an estimate at this size has been measured (else the chunk's first estimate measures it). */
  known(size: string): boolean {
    return this.#costs.get(size)?.estimate != null;
  }

  /** Every how many frames the network should run, for a video at `fps` whose depth input is `size`. */
  interval(size: string, fps: number): number {
    const most = Math.max(1, Math.floor(fps * MAX_HOLD_SECONDS));
    const costs = this.#costs.get(size);
    if (!costs?.estimate || !Number.isFinite(fps) || fps <= 0) return 1;
    const spare = (1000 * AUTO_BUDGET) / fps - (costs.frame ?? 0);
    if (spare <= 0) return most;
    return Math.min(most, Math.max(1, Math.ceil(costs.estimate / spare)));
  }

  recordEstimate(size: string, ms: number): void {
    const costs = this.#entry(size);
    costs.estimate = costs.estimate === null ? ms : costs.estimate + WEIGHT * (ms - costs.estimate);
  }

  /** A chunk's cost other than its estimates: `ms` over `frames` frames. */
  recordFrames(size: string, ms: number, frames: number): void {
    if (frames <= 0) return;
    const costs = this.#entry(size);
    const perFrame = ms / frames;
    costs.frame = costs.frame === null ? perFrame : costs.frame + WEIGHT * (perFrame - costs.frame);
  }

  #entry(size: string): Costs {
    let costs = this.#costs.get(size);
    if (!costs) {
      costs = { estimate: null, frame: null };
      if (this.#costs.size >= SIZES) this.#costs.delete(this.#costs.keys().next().value!);
      this.#costs.set(size, costs);
    }
    return costs;
  }
}
