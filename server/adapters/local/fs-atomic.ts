/** Atomic file writes: write a temporary sibling, fsync, rename over the target. */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `data` (whole, or pieces as they come) to `file` atomically: nothing appears under its name
 * until every byte is written and synced; a failure — the pieces' iteration throwing included — leaves
 * no file behind and is rethrown.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string | AsyncIterable<Uint8Array>): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${randomBytes(6).toString('hex')}`;
  const handle = await open(tmp, 'w', 0o600);
  try {
    if (typeof data === 'string' || data instanceof Uint8Array) await handle.writeFile(data);
    else for await (const piece of data) await handle.write(piece);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(tmp, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(tmp, file);
  } catch (error) {
    await rm(tmp, { force: true });
    throw error;
  }
}

export function isNotFound(error: unknown): boolean {
  return (error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT';
}
