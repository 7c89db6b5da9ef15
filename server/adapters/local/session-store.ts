/** The local profile's session store: one JSON file per session, written atomically. */
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import path from 'node:path';
import { isValidId } from '../../../protocol/keys.ts';
import { SESSION_RECORD_VERSION, type SessionRecord } from '../../../actors/types.ts';
import { LeaseLostError, SessionExistsError, type SessionStore } from '../ports.ts';
import { isNotFound, writeFileAtomic } from './fs-atomic.ts';
import type { MemoryLeases } from './leases.ts';

export class FsSessionStore implements SessionStore {
  readonly #dir: string;
  readonly #leases: MemoryLeases | null;

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
  }

  async save(record: SessionRecord, fence?: number): Promise<void> {
    if (fence !== undefined && this.#leases && !this.#leases.isCurrent(record.sessionId, fence)) {
      throw new LeaseLostError(`session ${record.sessionId}: lease ${fence} is no longer the newest; the record was not written`);
    }
    await writeFileAtomic(this.#file(record.sessionId), JSON.stringify(record));
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
    let names: string[];
    try {
      names = await readdir(this.#dir);
    } catch (error) {
      if (isNotFound(error)) return [];
      throw error;
    }
    const records: SessionRecord[] = [];
    for (const name of names) {
      const m = /^([A-Za-z0-9_-]{1,64})\.json$/.exec(name);
      if (!m) continue;
      const record = await this.get(m[1]!).catch(() => undefined);
      if (record) records.push(record);
    }
    return records.sort((a, b) => a.createdAt - b.createdAt);
  }

  async close(): Promise<void> {}
}
