/**
 * For the control-plane benchmarks: gives a session ready segments `from`…`count - 1` through the local
 * profile's upload API, converted by the fake pool (instantly), and waits until all `count` are ready.
 */
import { chunkFileName } from '../protocol/keys.ts';
import type { CreateSessionResponse, SessionStatus } from '../protocol/messages.ts';
import { fakeChunk } from '../testkit/fake-pool.ts';

/** Uploads the fake pool's chunk `index` (the server starts converting it). */
export async function uploadFakeChunk(session: CreateSessionResponse, index: number): Promise<void> {
  const upload = session.upload;
  if (upload.type !== 'http') throw new Error("expected the local profile's upload target");
  const put = await fetch(upload.url_template.replace('{file}', chunkFileName(index)), {
    method: 'PUT',
    headers: { 'Content-Type': 'video/mp4', Authorization: `Bearer ${upload.token}` },
    body: fakeChunk(index),
  });
  if (!put.ok) throw new Error(`upload ${index}: ${put.status} ${await put.text()}`);
}

export async function giveSegments(serverUrl: string, session: CreateSessionResponse, count: number, from = 0): Promise<void> {
  for (let i = from; i < count; i++) await uploadFakeChunk(session, i);
  for (;;) {
    const status = (await (await fetch(`${serverUrl}/stream_sessions/${session.session_id}`)).json()) as SessionStatus;
    if (status.ready === count) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}
