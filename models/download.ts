/**
 * One resumable, verified download: bytes go to `{file}.part`; a later call continues where the part
 * ends (an HTTP Range request; a server that ignores it is read from the start again); the finished
 * file's sha256 is checked against the expected one, when there is one, before it is renamed into
 * place — a file with the wrong checksum never appears under its name. Progress is reported as bytes
 * arrive. Only HTTP(S) URLs; nothing else is fetched.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';

export interface DownloadProgress {
  /** Bytes of the file on disk so far (a resumed part counts). */
  received: number;
  /** The whole file's size, when the server says. */
  total: number | null;
  /** Bytes this call found already on disk and did not fetch again. */
  resumedFrom: number;
}

export interface DownloadOptions {
  /** The expected sha256 (hex); when absent the computed one is returned for the caller to record. */
  sha256?: string;
  onProgress?: (progress: DownloadProgress) => void;
  signal?: AbortSignal;
}

export class DownloadError extends Error {
  override name = 'DownloadError';
}

/** sha256 (hex) of a file on disk. */
export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const piece of createReadStream(file)) hash.update(piece as Buffer);
  return hash.digest('hex');
}

/** Downloads `url` to `file`; resolves with its size and sha256 once it is in place and verified. */
export async function download(url: string, file: string, options: DownloadOptions = {}): Promise<{ bytes: number; sha256: string }> {
  const parsed = new URL(url);
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:')
    throw new DownloadError(`only http(s) URLs are fetched, not ${parsed.protocol}`);
  const expected = options.sha256?.toLowerCase();
  if (expected !== undefined && !/^[0-9a-f]{64}$/.test(expected)) throw new DownloadError('sha256 must be 64 hexadecimal digits');
  await mkdir(path.dirname(file), { recursive: true });
  const part = `${file}.part`;
  const have = await stat(part).then(
    (s) => s.size,
    () => 0,
  );
  let response: Response;
  try {
    response = await fetch(url, {
      headers: have > 0 ? { Range: `bytes=${have}-` } : {},
      redirect: 'follow',
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    throw new DownloadError(`cannot reach ${parsed.origin}: ${(error as Error).message}`);
  }
  // 416: the part is already whole (or longer than the file): check what is there.
  let resumedFrom = 0;
  if (response.status === 416 && have > 0) {
    await response.body?.cancel();
    resumedFrom = have;
  } else if (response.status === 206 && have > 0) {
    resumedFrom = have;
  } else if (response.status !== 200) {
    await response.body?.cancel();
    throw new DownloadError(`${url} answered ${response.status} ${response.statusText}`);
  }
  const length = Number(response.headers.get('content-length'));
  const total = response.status === 416 ? have : Number.isFinite(length) && length > 0 ? resumedFrom + length : null;
  if (response.status !== 416 && response.body) {
    // Resuming appends; a server that sent the whole file again starts the part afresh.
    const handle = await open(part, resumedFrom > 0 ? 'a' : 'w', 0o644);
    let received = resumedFrom;
    try {
      for await (const piece of response.body as unknown as AsyncIterable<Uint8Array>) {
        await handle.write(piece);
        received += piece.byteLength;
        options.onProgress?.({ received, total, resumedFrom });
      }
    } catch (error) {
      throw new DownloadError(
        `the download stopped at ${received} of ${total ?? '?'} bytes (${(error as Error).message}); run the same command again to resume`,
      );
    } finally {
      await handle.close();
    }
    if (total !== null && received < total) {
      throw new DownloadError(`the download stopped at ${received} of ${total} bytes; run the same command again to resume`);
    }
  }
  const sha256 = await fileSha256(part);
  if (expected !== undefined && sha256 !== expected) {
    await rm(part, { force: true });
    throw new DownloadError(`checksum mismatch for ${url}: expected sha256 ${expected}, got ${sha256}; the download was discarded`);
  }
  await rename(part, file);
  return { bytes: (await stat(file)).size, sha256 };
}
