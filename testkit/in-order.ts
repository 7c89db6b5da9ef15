/**
 * Converting a session's chunks as a live session does when they convert faster than they come: one
 * after another, each with its predecessor (the depth state carries across every border).
 */
import type { ChunkResult, ChunkTask, GpuPool } from '../gpu-pool/index.ts';

export async function convertInOrder(
  pool: Pick<GpuPool, 'run'>,
  chunks: Uint8Array[],
  task: Omit<ChunkTask, 'chunk' | 'previous'>,
): Promise<ChunkResult[]> {
  const results: ChunkResult[] = [];
  for (let i = 0; i < chunks.length; i++) {
    results.push(await pool.run({ ...task, chunk: Buffer.from(chunks[i]!), previous: i > 0 ? Buffer.from(chunks[i - 1]!) : null }));
  }
  return results;
}
