/**
 * The first index and node count of one shard: shard s of a fleet of `total` nodes, `perShard`
 * each, runs indexes s*perShard onwards; the last shard runs the remainder, shards past the end none.
 */
export function shardRange(shard: number, perShard: number, total: number): { first: number; count: number } {
  const first = shard * perShard;
  return { first, count: Math.max(0, Math.min(perShard, total - first)) };
}
