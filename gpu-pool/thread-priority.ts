/**
 * Lowers the calling thread's CPU priority (Linux: its own nice value; a thread is a task with an id of
 * its own, `/proc/thread-self`). The durable conversions run at a lower priority than everything else:
 * they have seconds of slack (a pool converts several times faster than real time), while the live
 * path, the HTTP server and the sockets have milliseconds. Elsewhere, or when refused, nothing changes.
 */
import { readlinkSync } from 'node:fs';
import os from 'node:os';

/** Adds `increment` to this thread's nice value; returns whether it took. */
export function lowerThreadPriority(increment: number): boolean {
  if (process.platform !== 'linux' || increment <= 0) return false;
  try {
    const tid = Number(readlinkSync('/proc/thread-self').split('/').pop());
    if (!Number.isInteger(tid) || tid <= 0) return false;
    os.setPriority(tid, Math.min(19, os.getPriority(tid) + increment));
    return true;
  } catch {
    return false;
  }
}
