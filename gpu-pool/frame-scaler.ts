/**
 * Scales and converts pictures with swscale into buffers the caller owns: one swscale context per
 * (source size and format, destination size and format), kept for the next chunk of the same stream.
 *
 * Not node-av's `Scaler`: its `toBufferSync` keeps native memory behind every call and
 * `Frame.fromVideoBuffer` behind every frame (gpu-pool/README "node-av notes"); here nothing is
 * allocated per picture — each conversion scales into a picture of its own, kept with its context, and
 * the lines are copied out into the caller's array.
 */
import { AV_PIX_FMT_RGB24, AV_PIX_FMT_YUV420P, SWS_BILINEAR, type AVPixelFormat } from 'node-av/constants';
import { Frame, SoftwareScaleContext } from 'node-av/lib';

export type PictureFormat = 'rgb24' | 'yuv420p';

/** Contexts kept at most: a worker serves a few streams at a few sizes; the oldest goes first. */
const MAX_CONTEXTS = 16;

const PIX_FMT: Record<PictureFormat, AVPixelFormat> = { rgb24: AV_PIX_FMT_RGB24, yuv420p: AV_PIX_FMT_YUV420P };

/** Bytes of a tightly packed picture. */
export function pictureSize(width: number, height: number, format: PictureFormat): number {
  return format === 'rgb24' ? width * height * 3 : width * height + 2 * ((width + 1) >> 1) * ((height + 1) >> 1);
}

/** Rows of each plane of a picture: [width in bytes, rows] per plane. */
function planeShapes(width: number, height: number, format: PictureFormat): Array<[number, number]> {
  if (format === 'rgb24') return [[width * 3, height]];
  const chroma: [number, number] = [(width + 1) >> 1, (height + 1) >> 1];
  return [[width, height], chroma, chroma];
}

/**
 * A picture in libav's own memory (lines aligned and padded: swscale's vector code writes past the end
 * of a line, so it never writes into a caller's packed array directly), with views of its planes.
 */
class NativePicture {
  readonly frame = new Frame();
  readonly planes: Buffer[];
  readonly strides: number[];
  readonly shapes: Array<[number, number]>;

  constructor(width: number, height: number, format: PictureFormat) {
    this.frame.alloc();
    this.frame.width = width;
    this.frame.height = height;
    this.frame.format = PIX_FMT[format];
    const ret = this.frame.allocBuffer();
    if (ret < 0) {
      this.frame.free();
      throw new Error(`cannot allocate a ${width}x${height} ${format} picture: libav error ${ret}`);
    }
    this.shapes = planeShapes(width, height, format);
    this.planes = this.frame.data!.slice(0, this.shapes.length);
    this.strides = this.frame.linesize.slice(0, this.shapes.length);
  }

  /** Copies a packed picture in. */
  load(packed: Uint8Array): void {
    this.#copy(packed, 'in');
  }

  /** Copies the picture out, packed. */
  store(packed: Uint8Array): void {
    this.#copy(packed, 'out');
  }

  /** Plane by plane: in one piece where the lines have no padding, else line by line. */
  #copy(packed: Uint8Array, direction: 'in' | 'out'): void {
    let at = 0;
    this.shapes.forEach(([bytes, rows], p) => {
      const plane = this.planes[p]!;
      const stride = this.strides[p]!;
      const lines = stride === bytes ? 1 : rows;
      const length = stride === bytes ? bytes * rows : bytes;
      for (let y = 0; y < lines; y++, at += length) {
        if (direction === 'in') plane.set(packed.subarray(at, at + length), y * stride);
        else packed.set(plane.subarray(y * stride, y * stride + length), at);
      }
    });
  }

  free(): void {
    this.frame.free();
  }
}

/** One conversion: its swscale context, where it writes, and (converting packed input) where it reads. */
interface Conversion {
  context: SoftwareScaleContext;
  target: NativePicture;
  source: NativePicture | null;
}

export class FrameScaler {
  readonly #conversions = new Map<string, Conversion>();
  #closed = false;

  /**
   * `frame` (a decoded picture, any size and pixel format) at `width`×`height` in `format`, written
   * into `out` (exactly `pictureSize(width, height, format)` bytes), which is returned.
   */
  scale(frame: Frame, width: number, height: number, format: PictureFormat, out: Uint8Array): Uint8Array {
    checkSize(out, width, height, format, 'the output');
    const conversion = this.#conversion(frame.width, frame.height, frame.format as AVPixelFormat, null, width, height, format);
    return this.#run(conversion, frame, out);
  }

  /** A packed rgb24 picture converted to packed yuv420p (same size) into `out`, which is returned. */
  rgbToYuv(rgb: Uint8Array, width: number, height: number, out: Uint8Array): Uint8Array {
    checkSize(rgb, width, height, 'rgb24', 'the input');
    checkSize(out, width, height, 'yuv420p', 'the output');
    const conversion = this.#conversion(width, height, AV_PIX_FMT_RGB24, 'rgb24', width, height, 'yuv420p');
    conversion.source!.load(rgb);
    return this.#run(conversion, conversion.source!.frame, out);
  }

  /** Frees every context and picture. Safe twice; the scaler is unusable afterwards. */
  close(): void {
    this.#closed = true;
    for (const conversion of this.#conversions.values()) release(conversion);
    this.#conversions.clear();
  }

  #run(conversion: Conversion, source: Frame, out: Uint8Array): Uint8Array {
    const ret = conversion.context.scaleFrameSync(conversion.target.frame, source);
    if (ret < 0) throw new Error(`swscale failed: libav error ${ret}`);
    conversion.target.store(out);
    return out;
  }

  #conversion(
    sw: number,
    sh: number,
    sf: AVPixelFormat,
    packed: PictureFormat | null,
    dw: number,
    dh: number,
    format: PictureFormat,
  ): Conversion {
    if (this.#closed) throw new Error('the frame scaler is closed');
    const key = `${sw}x${sh}/${sf}>${dw}x${dh}/${format}`;
    let conversion = this.#conversions.get(key);
    if (conversion) {
      // Most recently used last: the map's order is the eviction order.
      this.#conversions.delete(key);
      this.#conversions.set(key, conversion);
      return conversion;
    }
    const context = new SoftwareScaleContext();
    context.getContext(sw, sh, sf, dw, dh, PIX_FMT[format], SWS_BILINEAR);
    const ret = context.initContext();
    if (ret < 0) {
      context.freeContext();
      throw new Error(`swscale cannot convert ${sw}x${sh} (pixel format ${sf}) to ${dw}x${dh} ${format}: libav error ${ret}`);
    }
    conversion = { context, target: new NativePicture(dw, dh, format), source: packed ? new NativePicture(sw, sh, packed) : null };
    this.#conversions.set(key, conversion);
    if (this.#conversions.size > MAX_CONTEXTS) {
      const [oldestKey, oldest] = this.#conversions.entries().next().value!;
      release(oldest);
      this.#conversions.delete(oldestKey);
    }
    return conversion;
  }
}

function release(conversion: Conversion): void {
  conversion.context.freeContext();
  conversion.target.free();
  conversion.source?.free();
}

function checkSize(bytes: Uint8Array, width: number, height: number, format: PictureFormat, what: string): void {
  const size = pictureSize(width, height, format);
  if (bytes.byteLength !== size) throw new RangeError(`${format} ${width}x${height} is ${size} bytes, ${what} has ${bytes.byteLength}`);
}
