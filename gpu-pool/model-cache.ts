/**
 * Where fetched depth networks live: one folder (MODELS_DIR, default `$XDG_CACHE_HOME/stereospot/models`
 * or `~/.cache/stereospot/models`) holding `{name}.onnx` with its spec sidecar `{name}.json` and, in
 * `checksums.json`, the sha256 each was verified against. `npm run models -- fetch` fills it; the server
 * only ever reads it (`DEPTH_MODEL=<name>`). Nothing here downloads anything.
 */
import os from 'node:os';
import path from 'node:path';

/** A model's name in the cache: what `DEPTH_MODEL` and `fetch --name` take. */
export const MODEL_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/;

/** The cache folder for an environment (MODELS_DIR, else the user's cache folder). */
export function modelsDir(env: Record<string, string | undefined>): string {
  if (env.MODELS_DIR) return path.resolve(env.MODELS_DIR);
  const base = env.XDG_CACHE_HOME ? path.resolve(env.XDG_CACHE_HOME) : path.join(os.homedir(), '.cache');
  return path.join(base, 'stereospot', 'models');
}

/** The ONNX file of the cached model `name` (which must match MODEL_NAME). */
export function cachedModelPath(dir: string, name: string): string {
  if (!MODEL_NAME.test(name)) throw new TypeError(`model name ${JSON.stringify(name)} must match ${MODEL_NAME}`);
  return path.join(dir, `${name}.onnx`);
}
