/**
 * The local profile's object store: one file per object under `{root}/`, written atomically.
 * Emits an object-created event after each write, like S3's notifications.
 */
import { readFile, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { ObjectCreatedEvent, ObjectInfo, ObjectStore } from '../ports.ts';
import { isNotFound, writeFileAtomic } from './fs-atomic.ts';

const KEY = /^[A-Za-z0-9_-][A-Za-z0-9_.-]*(\/[A-Za-z0-9_-][A-Za-z0-9_.-]*)*$/;

/** Throws TypeError for keys that could escape the root or are not ours to spell. */
export function assertSafeKey(key: string): void {
  if (!KEY.test(key) || key.split('/').some((part) => part === '..' || part === '.') || key.length > 512) {
    throw new TypeError(`unsafe object key: ${JSON.stringify(key)}`);
  }
}

export class FsObjectStore implements ObjectStore {
  readonly #root: string;
  readonly #listeners = new Set<(event: ObjectCreatedEvent) => void>();
  /** Writes in progress: close() lets them finish, so nothing is left half-written. */
  readonly #writing = new Set<Promise<void>>();

  constructor(root: string) {
    this.#root = root;
  }

  /** Subscribes to object-created events; returns the unsubscribe function. */
  onCreated(listener: (event: ObjectCreatedEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #path(key: string): string {
    assertSafeKey(key);
    return path.join(this.#root, ...key.split('/'));
  }

  async put(key: string, body: Uint8Array, _contentType: string): Promise<void> {
    const write = writeFileAtomic(this.#path(key), body);
    this.#writing.add(write);
    try {
      await write;
    } finally {
      this.#writing.delete(write);
    }
    const event = { key, size: body.byteLength };
    for (const listener of this.#listeners) listener(event);
  }

  async putStream(key: string, body: AsyncIterable<Uint8Array>, _contentType: string): Promise<number> {
    let size = 0;
    const write = writeFileAtomic(
      this.#path(key),
      (async function* count() {
        for await (const piece of body) {
          size += piece.byteLength;
          yield piece;
        }
      })(),
    );
    this.#writing.add(write);
    try {
      await write;
    } finally {
      this.#writing.delete(write);
    }
    const event = { key, size };
    for (const listener of this.#listeners) listener(event);
    return size;
  }

  /** Deletes the folder of objects under `prefix` (e.g. `stream_input/{id}/`), whatever it holds. */
  async removeFolder(prefix: string): Promise<void> {
    if (!prefix.endsWith('/')) throw new TypeError(`a folder prefix ends with '/': ${JSON.stringify(prefix)}`);
    await rm(this.#path(prefix.slice(0, -1)), { recursive: true, force: true });
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(this.#path(key));
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    try {
      const s = await stat(this.#path(key));
      return s.isFile() ? { key, size: s.size } : undefined;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    // Prefixes we use end at a folder boundary (`stream_input/{id}/`); list that folder's files.
    const slash = prefix.lastIndexOf('/');
    const dirKey = slash >= 0 ? prefix.slice(0, slash) : '';
    const dir = dirKey ? this.#path(dirKey) : this.#root;
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const out: ObjectInfo[] = [];
    for (const name of names.sort()) {
      if (name.includes('.tmp-')) continue; // an atomic write in progress
      const key = dirKey ? `${dirKey}/${name}` : name;
      if (!key.startsWith(prefix)) continue;
      const info = await this.head(key);
      if (info) out.push(info);
    }
    return out;
  }

  async close(): Promise<void> {
    this.#listeners.clear();
    await Promise.allSettled([...this.#writing]);
  }
}
