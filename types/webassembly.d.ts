// The part of the WebAssembly JavaScript API the server uses (gpu-pool/warp-simd.ts): lib.dom declares it
// all, and the server's code compiles without the DOM's types.
declare namespace WebAssembly {
  // biome-ignore lint/suspicious/noEmptyInterface: an interface, to merge with esbuild's own declaration of it
  interface Module {}
  var Module: { new (bytes: ArrayBufferView | ArrayBuffer): Module };
  interface Instance {
    readonly exports: Record<string, unknown>;
  }
  var Instance: { new (module: Module, imports?: Record<string, Record<string, unknown>>): Instance };
  interface Memory {
    readonly buffer: ArrayBuffer;
    grow(pages: number): number;
  }
  function validate(bytes: ArrayBufferView | ArrayBuffer): boolean;
}
