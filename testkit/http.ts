/** Small HTTP helpers over fetch for tests. */
import type { CreateSessionResponse } from '../protocol/messages.ts';

export async function postJson(url: string, body: unknown): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

export async function createSession(base: string, mode = 'sbs'): Promise<CreateSessionResponse> {
  const r = await postJson(`${base}/stream_sessions`, { mode });
  if (r.status !== 200) throw new Error(`create failed: ${r.status} ${r.text}`);
  return r.json as CreateSessionResponse;
}

export async function putChunk(session: CreateSessionResponse, index: number, body: Uint8Array, token?: string | null) {
  if (session.upload.type !== 'http') throw new Error('expected an http upload target');
  const url = session.upload.url_template.replace('{file}', `chunk_${String(index).padStart(5, '0')}.mp4`);
  const headers: Record<string, string> = { 'Content-Type': 'video/mp4' };
  const bearer = token === undefined ? session.upload.token : token;
  if (bearer !== null) headers.Authorization = `Bearer ${bearer}`;
  const res = await fetch(url, { method: 'PUT', headers, body });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : undefined };
}

export async function getText(url: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(url);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** The segment URIs listed in a playlist, with gap entries as `GAP`. */
export function playlistEntries(text: string): string[] {
  const lines = text.split('\n');
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line === '#EXT-X-GAP') {
      out.push('GAP');
      i += 2; // skip its EXTINF and URI
    } else if (line && !line.startsWith('#')) out.push(line);
  }
  return out;
}
