/**
 * One chunk through the pipeline, in-process: libav decode → depth model → stereo warp → x264 →
 * one CMAF segment (plus the init segment it needs). No ffmpeg process is started per chunk.
 *
 * Depth continuity does not depend on the order chunks finish in: the normalisation state a chunk
 * starts from is computed from the last frames of the *previous chunk's input* (`task.previous`),
 * never from whatever conversion happened to finish last. So chunks can be converted in parallel and
 * the depth still flows across every border.
 */
import type { Frame, Packet } from 'node-av/lib';
import { ChunkReader } from './chunk-reader.ts';
import { CmafWriter } from './cmaf-writer.ts';
import { chunkKey, type DepthCarry } from './depth-carry.ts';
import type { DepthPace } from './depth-pace.ts';
import { DEPTH_EMA, emaWeight, isSceneCut, lumaThumbnail, thumbnail, thumbnailDistance } from './depth-range.ts';
import { advance, drawn, observe } from './depth-step.ts';
import { carryBetween, lumaOf } from './depth-stabiliser.ts';
import { type FrameScaler, pictureSize } from './frame-scaler.ts';
import type { DepthModel } from './model.ts';
import type { SegmentOutput } from './segment-output.ts';
import type { SilentAudio } from './silent-audio.ts';
import { disparityMap, yuv420pSize } from './stereo.ts';
import { StereoFrame } from './stereo-frame.ts';
import { scaledSize } from '../protocol/layout.ts';
import { ChunkCancelledError, ChunkInputError, type ChunkResult, type ChunkTask, type DepthState, type DisparityProbe } from './types.ts';

/** Pictures waiting for a batch of estimates at most (a batch of 4 at every 8th frame). */
const MAX_QUEUED = 32;
/** The most frames a chunk may have (30 s at 240 fps): bounds the hold of a last picture. */
const MAX_FRAMES = 7200;
/** libav's "no timestamp". */
const AV_NOPTS = -9223372036854775808n;

export interface ConvertOptions {
  model: DepthModel;
  /** Largest disparity as a fraction of each eye's width, when the task does not say. */
  strength: number;
  /** Frames at the end of the previous chunk that warm up the depth range (0 = none). */
  warmupFrames: number;
  /** The worker's scaler (it keeps its swscale contexts between chunks). */
  scaler: FrameScaler;
  /** The worker's output segments leave libav through (see segment-output.ts). */
  output: SegmentOutput;
  /** A private folder chunks reach libav through (see `ChunkReader.open`); none: from memory. */
  scratchDir?: string;
  /** The worker's silence for chunks without sound (every segment then has the same tracks); none: no track. */
  silence?: SilentAudio;
  /**
   * Depth estimates per second of video (0 or ≥ the video's rate: every frame), or 'auto': as often as
   * keeps realtime (depth-pace.ts). Between two estimates a frame's depth is interpolated from them, so
   * a heavy network keeps up with the video.
   */
  depthFps?: number | 'auto';
  /** The worker's cost measurements, for `depthFps: 'auto'`. */
  pace?: DepthPace;
  /** Motion-compensated temporal filtering of depth (depth-stabiliser.ts). Default on. */
  stabilise?: boolean;
  /** Occlusion-aware warping (stereo.ts occlusionRows). Default on. */
  occlusion?: boolean;
  /** States carried between chunks (depth-carry.ts): a chunk whose predecessor's is here skips the warm-up. */
  carry?: DepthCarry;
  /** Estimates per network run (a GPU gains from several; default 1). */
  batch?: number;
}

/**
 * Warm-up estimates are at least this many frames apart: the EMA's memory spans them, at a third of the
 * cost. (A warm-up is the fallback: usually the state is carried from the previous chunk's conversion.)
 */
const WARMUP_SPACING = 3;

/**
 * Which of the previous chunk's frames (by index, oldest first) a warm-up runs the network on, and the
 * EMA weight of each: frames among the last `window`, `interval`-aligned (frames that chunk ran the
 * network on), its newest estimate always among them, at least WARMUP_SPACING frames apart.
 */
export function warmUpPlan(frameCount: number, interval: number, window: number): { positions: number[]; weight: number } {
  if (frameCount <= 0 || window <= 0) return { positions: [], weight: 1 };
  const step = interval * Math.ceil(WARMUP_SPACING / interval);
  const positions: number[] = [];
  for (let p = Math.floor((frameCount - 1) / interval) * interval; p >= frameCount - window && p >= 0; p -= step) positions.unshift(p);
  return { positions, weight: emaWeight(step / interval) };
}

/** Every how many frames the network runs, for a video at `fps` and a wanted depth rate. */
export function depthInterval(fps: number, depthFps: number | 'auto' | undefined): number {
  if (depthFps === 'auto' || !depthFps || depthFps <= 0 || !Number.isFinite(fps) || fps <= depthFps) return 1;
  return Math.max(1, Math.round(fps / depthFps));
}

function timestampOf(frame: Frame): bigint {
  const pts = frame.bestEffortTimestamp;
  return pts === AV_NOPTS ? frame.pts : pts;
}

/**
 * The depth state at the end of the previous chunk: its last frames (by `warmUpPlan`) through the
 * network and the EMA, starting from the first of them. Null when there is nothing usable.
 */
async function warmUp(
  previous: Uint8Array,
  size: { width: number; height: number },
  options: ConvertOptions,
  intervalAt: (fps: number) => number,
): Promise<{ state: DepthState; runs: number } | null> {
  let reader: ChunkReader;
  try {
    reader = ChunkReader.open(previous, { scratchDir: options.scratchDir, glance: true });
  } catch {
    return null; // a broken previous chunk is a gap: this chunk starts afresh
  }
  try {
    // Every frame must be decoded (they depend on each other); only the last few are kept, small, in
    // a ring of buffers reused as it turns (frame i in slot i mod window). When the container says how
    // many frames there are, those before the last `window` are not even scaled.
    const window = options.warmupFrames;
    const ring: Uint8Array[] = [];
    const held: number[] = [];
    const from = reader.facts.frameCount - window;
    let count = 0;
    for (const frame of reader.frames()) {
      const index = count++;
      if (index < from) continue;
      const slot = index % window;
      ring[slot] ??= new Uint8Array(pictureSize(size.width, size.height, 'rgb24'));
      options.scaler.scale(frame, size.width, size.height, 'rgb24', ring[slot]);
      held[slot] = index;
    }
    // At the depth rate the previous chunk itself ran at (DEPTH_FPS).
    const plan = warmUpPlan(count, intervalAt(reader.facts.fps), window);
    let state: DepthState | null = null;
    // (A container that miscounted leaves a position unscaled: it is passed over.)
    const positions = plan.positions.filter((p) => held[p % window] === p);
    for (const p of positions) {
      const rgb = ring[p % window]!;
      const estimate = await options.model.estimate(rgb, size.width, size.height);
      state = advance(
        state,
        observe(estimate.depth, estimate.width, estimate.height, rgb, size.width, size.height),
        plan.weight,
        options.stabilise !== false,
      );
    }
    return state ? { state, runs: positions.length } : null;
  } catch {
    return null;
  } finally {
    reader.close();
  }
}

/** Throws when the task's cancel flag is raised (checked between frames, where no native call runs). */
function stopIfCancelled(flag: Int32Array | null): void {
  if (flag && Atomics.load(flag, 0) !== 0) throw new ChunkCancelledError();
}

export async function convertChunk(task: ChunkTask, options: ConvertOptions): Promise<ChunkResult> {
  const t0 = performance.now();
  const cancel = task.cancel ? new Int32Array(task.cancel) : null;
  // A task cancelled while it waited in the queue ends before it opens anything.
  stopIfCancelled(cancel);
  const timings = { decode: 0, depth: 0, stereo: 0, encode: 0, total: 0 };
  const reader = ChunkReader.open(task.chunk, { scratchDir: options.scratchDir });
  let writer: CmafWriter | undefined;
  try {
    const facts = reader.facts;
    const { width, height } = scaledSize(facts, task.outputHeight);
    const modelSize = options.model.inputSize(width, height);
    // Depth every `interval` frames: fixed by DEPTH_FPS, or (auto) from what this worker has measured
    // at this size — 0 until the chunk's first estimate has measured it.
    const auto = options.depthFps === 'auto' && options.pace ? options.pace : null;
    const sizeKey = `${width}x${height}/${modelSize.width}x${modelSize.height}`;
    const intervalAt = (fps: number) => (auto ? auto.interval(sizeKey, fps) : depthInterval(fps, options.depthFps));
    let interval = auto && !auto.known(sizeKey) ? 0 : intervalAt(facts.fps);
    let state: DepthState | null = null;
    let warmUpRuns = 0;
    let depthCarried = false;
    if (task.previous && options.warmupFrames > 0) {
      const t = performance.now();
      state = options.carry?.lookup(chunkKey(task.previous)) ?? null;
      depthCarried = state !== null;
      if (!state) {
        const warm = await warmUp(task.previous, modelSize, options, intervalAt);
        state = warm?.state ?? null;
        warmUpRuns = warm?.runs ?? 0;
      }
      timings.depth += performance.now() - t;
    }
    const warmedUp = state !== null;
    const stereo = new StereoFrame(task.mode, width, height, options.scaler, options.occlusion !== false);
    const eye = stereo.eye;
    const yuvEye = stereo.eyeFormat === 'yuv420p';
    const strength = task.strength ?? options.strength;
    const convergence = task.convergence ?? 0;
    writer = new CmafWriter({
      ...stereo.frame,
      framePacking: stereo.layout.framePacking,
      timeBase: facts.timeBase,
      output: options.output,
      audio: reader.audioStream,
      silence: options.silence,
    });
    // Picture buffers are reused: a held frame's network-size picture (only its luma is kept) from frame
    // to frame; eye pictures and estimate inputs from a pool of spares, back in it once drawn.
    const small = new Uint8Array(pictureSize(modelSize.width, modelSize.height, 'rgb24'));
    const eyeBytes = pictureSize(eye.width, eye.height, stereo.eyeFormat);
    // The writer copies each picture in, so one output buffer serves every frame and, at the end,
    // still holds the last picture.
    const out = new Uint8Array(yuv420pSize(stereo.frame.width, stereo.frame.height));
    let frames = 0;
    let first: bigint | null = null;
    let last = 0n;
    // Where the chunk's sound ends, in the video's time base (0n: no sound).
    let audioEnd = 0n;
    const audioTb = reader.audioStream?.timeBase;
    const writeAudio = (packet: Packet) => {
      if (audioTb && packet.pts !== AV_NOPTS) {
        const end =
          ((packet.pts + packet.duration) * BigInt(audioTb.num) * BigInt(facts.timeBase.den)) /
          (BigInt(audioTb.den) * BigInt(facts.timeBase.num));
        if (end > audioEnd) audioEnd = end;
      }
      writer!.writeAudio(packet);
      packet.free();
    };
    // The frames between estimates wait (their eye pictures kept) until the next estimate, then take
    // depth interpolated between the two. At most `interval` pictures are held.
    // Each held frame and estimate carries a thumbnail of its picture: across a scene cut between two
    // estimates nothing is blended — each frame takes the estimate of its own side of the cut.
    // Each held frame also keeps its luma at the network's input size: its depth is carried to it along
    // the picture's motion (depth-stabiliser.ts carryBetween), not just blended in place.
    const held: Array<{ eye: Uint8Array; pts: bigint; thumb: number[]; luma: Uint8Array }> = [];
    const spare: Uint8Array[] = [];
    type Estimate = { depth: Float32Array; width: number; height: number; state: DepthState; thumb: number[]; luma: Uint8Array };
    const anchored = (e: Estimate) => ({
      map: e.depth,
      width: e.width,
      height: e.height,
      luma: e.luma,
      lumaWidth: modelSize.width,
      lumaHeight: modelSize.height,
    });
    const eyeThumb = (picture: Uint8Array) =>
      yuvEye ? lumaThumbnail(picture, eye.width, eye.height) : thumbnail(picture, eye.width, eye.height);
    let before: Estimate | null = null;
    let depthRuns = 0;
    let probe: DisparityProbe | undefined;
    const render = (picture: Uint8Array, pts: bigint, depth: Float32Array, dw: number, dh: number, range: DepthState) => {
      let t1 = performance.now();
      if (task.probe) {
        probe ??= { width: dw, height: dh, frames: [] };
        probe.frames.push(disparityMap({ depth, depthWidth: dw, depthHeight: dh, state: range, convergence }, eye.width, strength));
      }
      stereo.render(picture, { depth, depthWidth: dw, depthHeight: dh, state: range, convergence }, strength, out);
      timings.stereo += performance.now() - t1;
      t1 = performance.now();
      writer!.writeFrame(out, pts);
      for (const packet of reader.audioPackets.splice(0)) writeAudio(packet);
      frames++;
      timings.encode += performance.now() - t1;
    };
    /**
     * Writes the held frames with depth between `before` and `after` (or `before` alone at the end);
     * across a cut, each frame takes the estimate whose picture it resembles.
     */
    const flushHeld = (after: Estimate | null) => {
      const from = before!;
      const count = held.length;
      const cut = after !== null && isSceneCut(from.thumb, after.thumb);
      held.forEach((frame, i) => {
        if (after && cut) {
          const side = thumbnailDistance(frame.thumb, from.thumb) <= thumbnailDistance(frame.thumb, after.thumb) ? from : after;
          render(frame.eye, frame.pts, side.depth, side.width, side.height, side.state);
        } else if (after && after.width === from.width && after.height === from.height) {
          const f = (i + 1) / (count + 1);
          render(frame.eye, frame.pts, carryBetween(anchored(from), anchored(after), f, frame.luma), from.width, from.height, after.state);
        } else {
          render(frame.eye, frame.pts, carryBetween(anchored(from), null, 0, frame.luma), from.width, from.height, from.state);
        }
        spare.push(frame.eye);
      });
      held.length = 0;
    };
    // Frames on their way to the network: with a batch above 1, estimate frames (their pictures and
    // network inputs in buffers of their own) and the held frames between them wait until `batch`
    // estimates can run at once, then go on in order exactly as one at a time would.
    const batch = Math.max(1, options.batch ?? 1);
    type Queued = { eye: Uint8Array; pts: bigint; small: Uint8Array } | { eye: Uint8Array; pts: bigint; thumb: number[]; luma: Uint8Array };
    const queue: Queued[] = [];
    const spareSmall: Uint8Array[] = [];
    let queuedEstimates = 0;
    const drain = async () => {
      const inputs = queue.flatMap((q) => ('small' in q ? [q.small] : []));
      let t1 = performance.now();
      const estimates = inputs.length > 0 ? await options.model.estimateBatch(inputs, modelSize.width, modelSize.height) : [];
      depthRuns += inputs.length;
      if (auto && inputs.length > 0) {
        for (let k = 0; k < inputs.length; k++) auto.recordEstimate(sizeKey, (performance.now() - t1) / inputs.length);
        if (interval === 0) interval = auto.interval(sizeKey, facts.fps);
      }
      timings.depth += performance.now() - t1;
      let k = 0;
      for (const q of queue) {
        if (!('small' in q)) {
          held.push(q);
          continue;
        }
        t1 = performance.now();
        const estimate = estimates[k++]!;
        const seen = observe(estimate.depth, estimate.width, estimate.height, q.small, modelSize.width, modelSize.height);
        state = advance(state, seen, DEPTH_EMA, options.stabilise !== false);
        timings.depth += performance.now() - t1;
        // Kept for the frames held until the next estimate (the observation and the filter own their maps).
        const current: Estimate = { ...drawn(state, seen), thumb: interval > 1 ? eyeThumb(q.eye) : [], luma: seen.luma };
        if (before) flushHeld(current);
        render(q.eye, q.pts, current.depth, current.width, current.height, current.state);
        before = current;
        spare.push(q.eye);
        spareSmall.push(q.small);
      }
      queue.length = 0;
      queuedEstimates = 0;
    };
    let index = 0;
    let t = performance.now();
    for (const frame of reader.frames()) {
      stopIfCancelled(cancel);
      const pts = timestampOf(frame);
      first ??= pts;
      last = pts;
      const estimateNow = interval === 0 || index % interval === 0;
      index++;
      // The network's input (on the frames it runs on; on the others, for their luma) and the eye's
      // picture, each in a buffer of its own until the frame is drawn.
      const input = estimateNow ? (spareSmall.pop() ?? new Uint8Array(small.length)) : small;
      options.scaler.scale(frame, modelSize.width, modelSize.height, 'rgb24', input);
      const picture = spare.pop() ?? new Uint8Array(eyeBytes);
      options.scaler.scale(frame, eye.width, eye.height, stereo.eyeFormat, picture);
      // (The frame is the reader's, borrowed until the next: everything needed is copied out above.)
      timings.decode += performance.now() - t;
      if (estimateNow) {
        queue.push({ eye: picture, pts, small: input });
        queuedEstimates++;
      } else {
        queue.push({ eye: picture, pts, thumb: eyeThumb(picture), luma: lumaOf(small, modelSize.width, modelSize.height) });
      }
      // Run as soon as a batch is full (at once with a batch of 1; the first frame alone while the
      // automatic rate has yet to measure the network), and before the queue holds MAX_QUEUED pictures.
      if (queuedEstimates >= batch || interval === 0 || queue.length >= MAX_QUEUED) await drain();
      t = performance.now();
    }
    if (queue.length > 0) await drain();
    if (held.length > 0 && before) flushHeld(null);
    if (frames === 0 || first === null) throw new ChunkInputError('not a decodable video: no frames');
    // The state this chunk ends in is where its successor starts, wherever that is converted.
    if (options.carry && options.warmupFrames > 0 && state) options.carry.record(chunkKey(task.chunk), state);
    for (const packet of reader.audioPackets.splice(0)) writeAudio(packet);
    // A source that sent few frames while its sound went on (a static screen: browsers send frames
    // only when something changes) holds its last picture until the sound ends, so the segment is as
    // long as the chunk and the next one follows without a hole. (Repeated frames cost x264 almost nothing.)
    // Only a real freeze (the sound runs on ≥ 0.25 s past the last frame): the usual few milliseconds of
    // skew between a capture's sound and picture must not lengthen a segment into the next one's time.
    const step = BigInt(Math.max(1, Math.round(facts.timeBase.den / (facts.timeBase.num * facts.fps))));
    const freeze = BigInt(Math.round((0.25 * facts.timeBase.den) / facts.timeBase.num));
    const frozen = audioEnd - (last + step) >= freeze;
    const heldFrom = performance.now();
    while (frozen && last + 2n * step <= audioEnd && frames < MAX_FRAMES) {
      last += step;
      writer.writeFrame(out, last);
      frames++;
    }
    const tb = facts.timeBase.num / facts.timeBase.den;
    const start = Number(first) * tb;
    const duration = Number(last - first) * tb + 1 / facts.fps;
    writer.writeSilence(start, start + duration);
    timings.encode += performance.now() - heldFrom;
    t = performance.now();
    const segment = writer.finish();
    timings.encode += performance.now() - t;
    timings.total = performance.now() - t0;
    auto?.recordFrames(sizeKey, timings.decode + timings.stereo + timings.encode, frames);
    return {
      init: segment.init,
      media: segment.media,
      codecs: segment.codecs,
      start,
      duration,
      origin: facts.origin,
      frames,
      fps: facts.fps,
      ...stereo.frame,
      hasAudio: facts.hasAudio,
      warmedUp,
      depthCarried,
      depthRuns,
      depthInterval: Math.max(1, interval),
      warmUpRuns,
      timings,
      ...(probe ? { disparity: probe } : {}),
    };
  } finally {
    writer?.close();
    reader.close();
  }
}
