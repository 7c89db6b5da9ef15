/**
 * What a live socket (ws/live-sockets.ts) sees of a session's live path, wherever it runs: the owner's
 * own (live-stream.ts) or, on any other node, one relayed to it (relayed-stream.ts).
 */
import type { LiveConfigMessage, LiveEndReason, LiveFrame } from '../../protocol/live.ts';
import type { LiveViewer } from './viewer-set.ts';

export interface LivePath {
  /** Whether a publisher publishes (as far as this node knows). */
  readonly publishing: boolean;
  /** Viewers watching (on every node, for the owner's). */
  readonly viewers: number;
  /** Viewers whose sockets are on this node. */
  readonly viewersHere: number;
  /**
   * Publisher `source` (its socket, or the node relaying it) (re)starts its stream with this
   * configuration; it replaces any other publisher. False when viewers wait and no converter is free.
   */
  configure(config: LiveConfigMessage, source: unknown): boolean;
  /** One frame from the publisher (after its configuration); `bytes` as it came on the wire. */
  frame(frame: LiveFrame, bytes: Uint8Array): void;
  /** Publisher `source` left; a publisher that was replaced changes nothing by leaving. */
  unpublished(source: unknown): void;
  addViewer(viewer: LiveViewer): void;
  removeViewer(viewer: LiveViewer): void;
  /** Now and then (LiveStreams' timer): drop counts to viewers, leases renewed or expired. */
  tick(): void;
  /** The session ended, or the server shuts down: viewers hear `live_end`. */
  close(reason?: LiveEndReason): Promise<void>;
}
