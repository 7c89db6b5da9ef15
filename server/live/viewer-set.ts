/**
 * A live path's viewers on this node and what each can take: a viewer starts at a keyframe and, when
 * its socket backs up, skips frames until the next one (counted as its own drops). Used by the owner's
 * live path (live-stream.ts) and by a relayed one (relayed-stream.ts) alike.
 */
import type { LiveControlMessage } from '../../protocol/live.ts';

/** Where a viewer's messages go (ws/live-sockets.ts gives a socket's; live-stream.ts has one for other nodes). */
export interface LiveViewer {
  sendText(message: LiveControlMessage): void;
  /** False when the viewer's socket is backed up and the frame was not sent. */
  sendBinary(bytes: Uint8Array): boolean;
}

interface ViewerState {
  /** Waiting for a keyframe: from joining, or after a frame was lost to backpressure. */
  needKey: boolean;
  dropped: number;
}

export class ViewerSet {
  readonly #viewers = new Map<LiveViewer, ViewerState>();

  get size(): number {
    return this.#viewers.size;
  }

  has(viewer: LiveViewer): boolean {
    return this.#viewers.has(viewer);
  }

  /** A viewer joins: it gets video from the next keyframe. */
  add(viewer: LiveViewer): void {
    this.#viewers.set(viewer, { needKey: true, dropped: 0 });
  }

  delete(viewer: LiveViewer): boolean {
    return this.#viewers.delete(viewer);
  }

  clear(): void {
    this.#viewers.clear();
  }

  /** The same message to every viewer. */
  sendText(message: LiveControlMessage): void {
    for (const viewer of this.#viewers.keys()) viewer.sendText(message);
  }

  /** The live path's drop counts to each viewer, with its own. */
  sendStats(received: number, dropped: number): void {
    for (const [viewer, state] of this.#viewers) viewer.sendText({ type: 'live_stats', received, dropped, viewer_dropped: state.dropped });
  }

  /** A media frame (live wire bytes) to every viewer that can take it. */
  broadcast(bytes: Uint8Array, video: boolean, key: boolean): void {
    for (const [viewer, state] of this.#viewers) {
      if (video && state.needKey) {
        if (!key) continue;
        state.needKey = false;
      }
      if (!viewer.sendBinary(bytes)) {
        state.dropped++;
        if (video) state.needKey = true;
      }
    }
  }
}
