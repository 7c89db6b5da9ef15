/**
 * Assembles gpu-pool/warp.wat into gpu-pool/warp.wasm (`npm run build:wasm`). The binary is committed,
 * so the server needs no assembler; gpu-pool/test/warp-simd.test.ts assembles the text again and fails
 * when the two differ (an edit to the text without a rebuild).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

export const WARP_WAT = new URL('../warp.wat', import.meta.url);
export const WARP_WASM = new URL('../warp.wasm', import.meta.url);

/** The binary of warp.wat (SIMD enabled, no debug names: the same bytes on every machine). */
export async function assembleWarp(): Promise<Uint8Array> {
  const tools = await wabt();
  const module = tools.parseWat('warp.wat', await readFile(WARP_WAT, 'utf8'), { simd: true });
  try {
    module.resolveNames();
    module.validate();
    return module.toBinary({ canonicalize_lebs: true, write_debug_names: false }).buffer;
  } finally {
    module.destroy();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const binary = await assembleWarp();
  await writeFile(WARP_WASM, binary);
  console.log(`${fileURLToPath(WARP_WASM)}: ${binary.byteLength} bytes`);
}
