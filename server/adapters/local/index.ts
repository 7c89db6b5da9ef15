/** Builds the local profile: files under DATA_DIR, HTTP uploads, an in-process queue. */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../config.ts';
import type { Logger } from '../../log.ts';
import { TokenSigner } from '../../tokens.ts';
import type { Adapters } from '../ports.ts';
import { isNotFound, writeFileAtomic } from './fs-atomic.ts';
import { LocalUploadGrants } from './grants.ts';
import { FsObjectStore } from './object-store.ts';
import { LocalChunkQueue } from './queue.ts';
import { LocalSegmentUrls } from './segment-urls.ts';
import { MemoryLeases } from './leases.ts';
import { FsSessionStore } from './session-store.ts';
import { LocalRetention } from './retention.ts';

export interface LocalAdapters extends Adapters {
  objects: FsObjectStore;
  queue: LocalChunkQueue;
  signer: TokenSigner;
}

/** The signing secret: SIGNING_SECRET, else one kept in DATA_DIR so tokens survive a restart. */
async function loadSecret(config: Config): Promise<string> {
  if (config.signingSecret) return config.signingSecret;
  const file = path.join(config.dataDir, 'signing-secret');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const secret = randomBytes(32).toString('hex');
  await writeFileAtomic(file, secret);
  return secret;
}

export async function createLocalAdapters(config: Config, log: Logger): Promise<LocalAdapters> {
  const signer = new TokenSigner(await loadSecret(config));
  const objects = new FsObjectStore(path.join(config.dataDir, 'objects'));
  const queue = new LocalChunkQueue({ maxLength: 10_000, maxReceives: 5, redeliverDelayMs: 500 }, log.child({ component: 'queue' }));
  const unsubscribe = objects.onCreated((event) => queue.push(event));
  const leases = new MemoryLeases();
  const sessions = new FsSessionStore(path.join(config.dataDir, 'sessions'), leases);
  const retention = new LocalRetention(config.dataRetainSeconds, objects, sessions, log.child({ component: 'retention' }));
  return {
    objects,
    queue,
    sessions,
    leases,
    signer,
    grants: new LocalUploadGrants(signer, config.uploadTokenSeconds, config.maxChunkBytes),
    segmentUrls: new LocalSegmentUrls(signer, config.segmentUrlSeconds),
    counters: () => ({ sessionsRemoved: retention.removed }),
    async close() {
      await retention.close();
      unsubscribe();
      await queue.close();
      await sessions.close();
      await objects.close();
    },
  };
}
