/**
 * Small libav helpers the segment writer and the silent track share (one home, so neither imports the
 * other): a failed libav call as an error naming what failed, and a track copied as it is.
 */
import { FFmpegError, Rational, type FormatContext, type Stream } from 'node-av/lib';

/** Throws when a libav call returned an error code, naming `what` and libav's reason. */
export function check(code: number, what: string): void {
  if (code < 0) throw new Error(`${what} (${new FFmpegError(code).message})`);
}

/**
 * Adds a track to `format` (before its header) copying `source` as it is, except its measured bit rate:
 * that differs per chunk and would make every init segment unique.
 */
export function copyTrack(format: FormatContext, source: Stream): Stream {
  const track = format.newStream(null);
  check(source.codecpar.copy(track.codecpar), 'the audio stream could not be copied');
  track.codecpar.codecTag = 0;
  track.codecpar.bitRate = 0n;
  track.timeBase = new Rational(source.timeBase.num, source.timeBase.den);
  return track;
}
