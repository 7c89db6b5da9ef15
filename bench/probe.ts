/** What the benchmarks wait on and read from a server under test: a condition with a deadline, and /metrics. */

/** Polls `check` until it holds (a throw counts as "not yet"); throws naming `what` after `ms`. */
export async function until(check: () => Promise<boolean> | boolean, what: string, ms: number, everyMs = 100): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (
      await Promise.resolve()
        .then(check)
        .catch(() => false)
    )
      return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A server's /metrics as name → value (a labelled family: the sum of its samples). */
export async function readMetrics(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([a-z_]+)(\{[^}]*\})? ([0-9.e+-]+|NaN|Nan)$/.exec(line);
    if (m) values.set(m[1]!, (m[2] ? (values.get(m[1]!) ?? 0) : 0) + Number(m[3]));
  }
  return values;
}
