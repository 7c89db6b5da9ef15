/**
 * Reads a V8 heap snapshot (`.heapsnapshot`, as `--heapsnapshot-signal` writes it after a full GC) into
 * what a leak hunt compares between two snapshots: live bytes and object counts per kind — objects and
 * closures by constructor name, everything else by V8's node type ("(string)", "(array)", "(code)"…).
 */
import { readFile } from 'node:fs/promises';

export interface HeapSummary {
  totalBytes: number;
  nodes: number;
  /** Per kind: bytes and count. */
  kinds: Map<string, { bytes: number; count: number }>;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export async function summarizeHeap(file: string): Promise<HeapSummary> {
  const snapshot = JSON.parse(await readFile(file, 'utf8')) as Snapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const kinds = new Map<string, { bytes: number; count: number }>();
  let totalBytes = 0;
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += stride) {
    const type = types[nodes[i + typeAt]!]!;
    const size = nodes[i + sizeAt]!;
    totalBytes += size;
    const kind =
      type === 'object' || type === 'closure' ? `${strings[nodes[i + nameAt]!]}${type === 'closure' ? ' (closure)' : ''}` : `(${type})`;
    const entry = kinds.get(kind);
    if (entry) {
      entry.bytes += size;
      entry.count++;
    } else {
      kinds.set(kind, { bytes: size, count: 1 });
    }
  }
  return { totalBytes, nodes: nodes.length / stride, kinds };
}

/** The kinds that grew most from `before` to `after` (bytes), with their counts. */
export function heapGrowth(before: HeapSummary, after: HeapSummary, top = 10): Array<{ kind: string; bytes: number; count: number }> {
  const rows: Array<{ kind: string; bytes: number; count: number }> = [];
  for (const [kind, b] of after.kinds) {
    const a = before.kinds.get(kind) ?? { bytes: 0, count: 0 };
    rows.push({ kind, bytes: b.bytes - a.bytes, count: b.count - a.count });
  }
  return rows.sort((x, y) => y.bytes - x.bytes).slice(0, top);
}
