/**
 * The dashboard (`/`): every session, live, from `/ws/events` — a snapshot when it connects, then each
 * change as it happens (no polling): state, mode, age, chunk counts, each chunk's capture → ready time
 * as a small timeline, links to the viewer and the playlist (with a copy button), an "end" action, and
 * the GPU pool's load each second. With `ADMIN_TOKEN` set it asks for the token first and shows
 * nothing until the server accepts it (kept for this tab only, in sessionStorage).
 */
import type { DashboardChunk, DashboardMessage, DashboardSession, LiveStatus, PoolStatus } from '../protocol/messages.ts';
import { $, age, copyText, duration, el, showState, socketBase } from './lib/dom.ts';
import { JsonSocket } from './lib/json-socket.ts';

const TOKEN_KEY = 'stereospot.admin';
const statusEl = $('status');
const rows = $('rows');
const sessions = new Map<string, DashboardSession>();
let token: string | null = sessionStorage.getItem(TOKEN_KEY);

/** For tests: what the page currently lists. */
(window as unknown as { stereospot: { sessions: () => string[] } }).stereospot = {
  sessions: () => [...sessions.keys()],
};

function authHeaders(): HeadersInit {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

/** Asks the server whether the token (or none) may list sessions: the socket cannot say why it is refused. */
async function allowed(): Promise<'yes' | 'no' | 'offline'> {
  try {
    const res = await fetch('/stream_sessions?limit=1', { headers: authHeaders() });
    return res.status === 401 ? 'no' : 'yes';
  } catch {
    return 'offline';
  }
}

function askForToken(message: string): void {
  showState(statusEl, 'locked', 'admin token needed');
  $('login').hidden = false;
  $('login-error').textContent = message;
  $('sessions').hidden = true;
  $('pool').hidden = true;
}

const TIMELINE = { width: 180, height: 22, bar: 3 };

/** Each chunk a bar: height = capture → ready latency (log-ish, capped at 10 s), colour = status. */
function timeline(chunks: DashboardChunk[]): SVGSVGElement {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('class', 'timeline');
  svg.setAttribute('width', String(TIMELINE.width));
  svg.setAttribute('height', String(TIMELINE.height));
  const slot = TIMELINE.width / 60;
  const latencies = chunks.map((c) => c.latency_ms).filter((v): v is number => v !== null);
  chunks.forEach((chunk, i) => {
    const rect = document.createElementNS(ns, 'rect');
    const ms = chunk.latency_ms;
    const h = ms === null ? 4 : Math.max(2, Math.min(1, Math.log10(1 + Math.max(0, ms) / 100) / 2) * TIMELINE.height);
    rect.setAttribute('x', String(i * slot));
    rect.setAttribute('y', String(TIMELINE.height - h));
    rect.setAttribute('width', String(Math.max(1, slot - 1)));
    rect.setAttribute('height', String(h));
    rect.setAttribute('class', chunk.status === 'ready' ? 'ready' : chunk.status === 'failed' ? 'failed' : 'pending');
    const title = document.createElementNS(ns, 'title');
    title.textContent = `chunk ${chunk.index}: ${chunk.status}${ms === null ? '' : `, ${ms} ms capture → ready`}`;
    rect.append(title);
    svg.append(rect);
  });
  if (latencies.length > 0) svg.dataset.lastMs = String(latencies[latencies.length - 1]);
  return svg;
}

/** The live path in a few words: "—" when nobody publishes or watches. */
function liveText(live: LiveStatus): string {
  if (!live.publishing && live.viewers === 0) return '—';
  const watching = `${live.viewers} watching`;
  return live.publishing ? `publishing · ${watching}` : watching;
}

function row(s: DashboardSession): HTMLTableRowElement {
  const id = s.session_id;
  const playlist = `${location.origin}/stream/${encodeURIComponent(id)}/playlist.m3u8`;
  const stateEl = el('span', { class: 'state' });
  showState(stateEl, s.state);
  const last = [...s.chunks].reverse().find((c) => c.latency_ms !== null);
  const copy = el('button', { type: 'button', title: playlist }, 'copy playlist URL');
  copy.addEventListener('click', () => {
    void copyText(playlist).then((ok) => (copy.textContent = ok ? 'copied' : 'copy refused — use the link'));
  });
  const end = el('button', { type: 'button', disabled: s.state !== 'live', class: 'end' }, 'end');
  end.addEventListener('click', () => void endSession(id, end));
  return el(
    'tr',
    { 'data-session': id },
    el('td', { class: 'num', title: id }, id.slice(0, 8)),
    el('td', {}, stateEl),
    el('td', {}, s.mode),
    el('td', { class: 'live', title: 'the frame-by-frame live path: publishing, and viewers watching it' }, liveText(s.live)),
    el('td', { class: 'num age', 'data-created': s.created_at }, age(s.created_at)),
    el('td', { class: 'num counts' }, `${s.uploaded} / ${s.ready} / ${s.failed}`),
    el(
      'td',
      {},
      el('span', { class: 'row' }, timeline(s.chunks), el('span', { class: 'num dim' }, last ? duration(last.latency_ms!) : '')),
    ),
    el(
      'td',
      {},
      el(
        'span',
        { class: 'row' },
        el('a', { href: `/watch/${encodeURIComponent(id)}` }, 'watch'),
        el('a', { href: playlist }, 'playlist'),
        copy,
      ),
    ),
    el('td', {}, end),
  );
}

async function endSession(id: string, button: HTMLButtonElement): Promise<void> {
  button.disabled = true;
  button.textContent = 'ending…';
  try {
    const res = await fetch(`/stream_sessions/${encodeURIComponent(id)}/end`, { method: 'POST', headers: authHeaders() });
    if (!res.ok) throw new Error(((await res.json()) as { message?: string }).message ?? res.statusText);
  } catch (error) {
    button.disabled = false;
    button.textContent = 'end';
    showState(statusEl, 'error', `could not end ${id.slice(0, 8)}: ${String((error as Error).message ?? error)}`);
  }
}

function render(): void {
  const ordered = [...sessions.values()].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at));
  rows.replaceChildren(...ordered.map(row));
  $('empty').hidden = ordered.length > 0;
}

function renderPool(pool: PoolStatus): void {
  $('pool').hidden = false;
  $('pool-threads').textContent = String(pool.threads);
  $('pool-util').textContent = `${Math.round(pool.utilization * 100)} %`;
  $('pool-bar').style.width = `${Math.round(pool.utilization * 100)}%`;
  $('pool-queue').textContent = String(pool.queue_size);
  $('pool-done').textContent = String(pool.completed);
}

function onMessage(message: DashboardMessage): void {
  if (message.type === 'sessions') {
    sessions.clear();
    for (const s of message.sessions) sessions.set(s.session_id, s);
    renderPool(message.pool);
    render();
  } else if (message.type === 'session') {
    const { type: _type, ...session } = message;
    sessions.set(session.session_id, session);
    const existing = rows.querySelector(`tr[data-session="${CSS.escape(session.session_id)}"]`);
    if (existing) existing.replaceWith(row(session));
    else render();
    $('empty').hidden = true;
  } else if (message.type === 'pool') {
    renderPool(message.pool);
  }
}

async function connect(): Promise<void> {
  const access = await allowed();
  if (access === 'offline') {
    showState(statusEl, 'offline', 'the server does not answer — retrying');
    setTimeout(() => void connect(), 2000);
    return;
  }
  if (access === 'no') {
    askForToken(token ? 'that token was refused' : '');
    return;
  }
  $('login').hidden = true;
  $('sessions').hidden = false;
  new JsonSocket<DashboardMessage>(
    `${socketBase()}/ws/events?format=json`,
    {
      message: onMessage,
      state: (state, detail) => {
        if (state === 'open') showState(statusEl, 'live', 'updates as they happen');
        else if (state === 'offline') showState(statusEl, 'offline', `connection lost — retry ${detail.attempt ?? 1}`);
        else if (state === 'connecting') showState(statusEl, 'connecting');
      },
    },
    { token },
  );
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault();
  token = ($('token') as HTMLInputElement).value.trim() || null;
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  void connect();
});

// Ages move on their own; nothing is fetched for it.
setInterval(() => {
  for (const cell of document.querySelectorAll<HTMLElement>('td.age')) cell.textContent = age(cell.dataset.created!);
}, 1000);

void connect();
