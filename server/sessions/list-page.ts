/**
 * Paging the session list: newest first, ties by id, from a cursor — over the sessions running here
 * and the stored ones, without sorting them all.
 */
import type { SessionRecord, SessionView } from '../../actors/index.ts';

/** Where a page of the session list starts: sessions strictly older than this one (ties by id). */
export interface ListCursor {
  createdAt: number;
  sessionId: string;
}

/** The list's order: newest first, ties by id (descending), so a cursor never skips or repeats one. */
export function newestFirst(a: SessionView, b: SessionView): number {
  return (
    b.context.createdAt - a.context.createdAt ||
    (b.context.sessionId < a.context.sessionId ? -1 : b.context.sessionId > a.context.sessionId ? 1 : 0)
  );
}

/**
 * The newest `limit` of many views, kept sorted as they are offered: one comparison for most (older
 * than the page's oldest once it is full), so a page of 100 out of 10 000 sessions sorts 100, not 10 000.
 */
export class NewestPage {
  readonly views: SessionView[] = [];
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  offer(view: SessionView): void {
    const { views, limit } = this;
    if (limit <= 0 || (views.length === limit && newestFirst(view, views[limit - 1]!) >= 0)) return;
    let lo = 0;
    let hi = views.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (newestFirst(views[mid]!, view) <= 0) lo = mid + 1;
      else hi = mid;
    }
    views.splice(lo, 0, view);
    if (views.length > limit) views.pop();
  }
}

/**
 * One page of the session list: the views running here plus the stored records of the others (`stored`
 * oldest first, as stores list them), newest first, at most `limit`, older than `before`.
 */
export function listPage(
  running: readonly SessionView[],
  stored: readonly SessionRecord[],
  toView: (record: SessionRecord) => SessionView,
  limit: number,
  before?: ListCursor,
): SessionView[] {
  const fits = (createdAt: number, sessionId: string) =>
    !before || createdAt < before.createdAt || (createdAt === before.createdAt && sessionId < before.sessionId);
  const page = new NewestPage(limit);
  const here = new Set<string>();
  for (const view of running) {
    here.add(view.context.sessionId);
    if (fits(view.context.createdAt, view.context.sessionId)) page.offer(view);
  }
  // Only the store's newest `limit` sessions not running here can make the cut.
  for (let i = stored.length - 1, taken = 0; i >= 0 && taken < limit; i--) {
    const record = stored[i]!;
    if (here.has(record.sessionId) || !fits(record.createdAt, record.sessionId)) continue;
    page.offer(toView(record));
    taken++;
  }
  return page.views;
}
