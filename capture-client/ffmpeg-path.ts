/**
 * Which ffmpeg the capture client runs: --ffmpeg, else FFMPEG_PATH, else `ffmpeg` on PATH, else the
 * static binary shipped in the `@ffmpeg-installer/ffmpeg` npm package (so a machine with only Node works).
 */
import { accessSync, chmodSync, constants, existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

export function defaultFfmpeg(env: NodeJS.ProcessEnv): string {
  if (env.FFMPEG_PATH) return env.FFMPEG_PATH;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    if (dir && executable(path.join(dir, 'ffmpeg'))) return path.join(dir, 'ffmpeg');
  }
  try {
    const file = (createRequire(import.meta.url)('@ffmpeg-installer/ffmpeg') as { path: string }).path;
    if (existsSync(file)) {
      // npm 11 does not run the package's postinstall `chmod +x`.
      if (!executable(file)) chmodSync(file, 0o755);
      return file;
    }
  } catch {
    // not installed
  }
  return 'ffmpeg'; // let the spawn fail with a clear message
}
