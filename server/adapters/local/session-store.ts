/**
 * The local profile's session store: one JSON file per session, written atomically. This process is
 * the folder's only writer (the local profile runs one node), so after the first `list()` reads the
 * folder, every record is also kept in memory and kept current by create/save: listing 10 000 sessions
 * is a sort, not 10 000 file reads.
 */
import { readFile, readdir, rm, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { isValidId } from '../../../protocol/keys.ts';
import { SESSION_RECORD_VERSION, type SessionRecord } from '../../../actors/types.ts';
import { LeaseLostError, SessionExistsError, type SessionStore } from '../ports.ts';
import { isNotFound, writeFileAtomic } from './fs-atomic.ts';
import type { MemoryLeases } from './leases.ts';

export class FsSessionStore implements SessionStore {
  readonly #dir: string;
  readonly #leases: MemoryLeases | null;
  /** Every record, once the folder has been read (by the first list()). */
  #index: Map<string, SessionRecord> | null = null;
  #indexing: Promise<Map<string, SessionRecord>> | null = null;
  /** The index's ids, oldest first (creation order changes only when a session is created). */
  #order: string[] | null = null;
  /** Written while the folder is being read: newer than what the reading may have found. */
  readonly #writtenWhileIndexing = new Map<string, SessionRecord>();

  /** `leases`: fenced saves are refused once their token is no longer the session's newest. */
  constructor(dir: string, leases: MemoryLeases | null = null) {
    this.#dir = dir;
    this.#leases = leases;
  }

  #file(sessionId: string): string {
    if (!isValidId(sessionId)) throw new TypeError(`invalid session id: ${JSON.stringify(sessionId)}`);
    return path.join(this.#dir, `${sessionId}.json`);
  }

  async create(record: SessionRecord): Promise<void> {
    await mkdir(this.#dir, { recursive: true });
    try {
      // `wx` fails when the file exists: the conditional create.
      await writeFile(this.#file(record.sessionId), JSON.stringify(record), { flag: 'wx', mode: 0o600 });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw new SessionExistsError(`session ${record.sessionId} exists`);
      throw error;
    }
    this.#remember(record);
  }

  async save(record: SessionRecord, fence?: number): Promise<void> {
    if (fence !== undefined && this.#leases && !this.#leases.isCurrent(record.sessionId, fence)) {
      throw new LeaseLostError(`session ${record.sessionId}: lease ${fence} is no longer the newest; the record was not written`);
    }
    await writeFileAtomic(this.#file(record.sessionId), JSON.stringify(record));
    this.#remember(record);
  }

  async get(sessionId: string): Promise<SessionRecord | undefined> {
    let text: string;
    try {
      text = await readFile(this.#file(sessionId), 'utf8');
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
    const record = JSON.parse(text) as SessionRecord;
    if (record.version !== SESSION_RECORD_VERSION) {
      throw new Error(`session ${sessionId}: unsupported record version ${String(record.version)}`);
    }
    return record;
  }

  async list(): Promise<SessionRecord[]> {
    const index = this.#index ?? (await (this.#indexing ??= this.#readAll()));
    this.#order ??= [...index.values()].sort((a, b) => a.createdAt - b.createdAt).map((r) => r.sessionId);
    return this.#order.map((id) => index.get(id)!);
  }

  /** Deletes a session's record (retention.ts, once it ended long enough ago); absent is fine. */
  async remove(sessionId: string): Promise<void> {
    await rm(this.#file(sessionId), { force: true });
    if (this.#index?.delete(sessionId)) this.#order = null;
    this.#writtenWhileIndexing.delete(sessionId);
  }

  #remember(record: SessionRecord): void {
    if (this.#index) {
      if (!this.#index.has(record.sessionId)) this.#order = null;
      this.#index.set(record.sessionId, record);
    } else if (this.#indexing) this.#writtenWhileIndexing.set(record.sessionId, record);
  }

  /** Reads the whole folder once (a few files at a time), then keeps the index current. */
  async #readAll(): Promise<Map<string, SessionRecord>> {
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (error) {
      if (!isNotFound(error)) {
        this.#indexing = null;
        throw error;
      }
      names = [];
    }
    const index = new Map<string, SessionRecord>();
    const ids = names.map((name) => /^([A-Za-z0-9_-]{1,64})\.json$/.exec(name)?.[1]).filter((id): id is string => id !== undefined);
    for (let i = 0; i < ids.length; i += 64) {
      const batch = await Promise.all(ids.slice(i, i + 64).map((id) => this.get(id).catch(() => undefined)));
      for (const record of batch) if (record && !index.has(record.sessionId)) index.set(record.sessionId, record);
    }
    for (const [id, record] of this.#writtenWhileIndexing) index.set(id, record);
    this.#writtenWhileIndexing.clear();
    this.#index = index;
    return index;
  }

  async close(): Promise<void> {}
}
