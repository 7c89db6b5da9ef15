/** WebSocket frame encoding: MessagePack (binary) by default, JSON text with `?format=json`. */
import { pack, unpack } from 'msgpackr';

export type WireFormat = 'msgpack' | 'json';

export function encode(format: WireFormat, message: unknown): { data: Uint8Array | string; binary: boolean } {
  return format === 'json' ? { data: JSON.stringify(message), binary: false } : { data: pack(message), binary: true };
}

/** Decodes a frame whichever way it came (binary = MessagePack, text = JSON); throws on garbage. */
export function decode(message: ArrayBuffer, isBinary: boolean): unknown {
  const bytes = Buffer.from(message);
  return isBinary ? unpack(bytes) : JSON.parse(bytes.toString('utf8'));
}
