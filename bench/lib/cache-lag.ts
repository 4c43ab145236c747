import { quantile } from "../../src/kernel/quantile.ts";

/**
 * How far the API server's Node watch cache ran behind, from its `apiserver_watch_cache_resource_version`
 * sampled against the freshest of its caches (a lower bound of etcd's revision: the Lease cache
 * takes hundreds of writes a second and keeps close to it). A sample's lag is the revisions the
 * Node cache lacks, and in seconds those revisions over the rate at which the freshest cache took
 * revisions since the sample before (an estimate: scrapes under load come seconds apart).
 */

/** One sample: when (ms), the Node cache's resourceVersion, the freshest cache's. */
export interface CacheRevisionSample {
  at: number;
  nodes: number;
  freshest: number;
}

/** The Node cache's lag over the samples (time order): [seconds since the first, revisions, seconds], p50 and max seconds. */
export function nodeCacheLag(samples: readonly CacheRevisionSample[]): {
  samples: [number, number, number][];
  p50Seconds: number;
  maxSeconds: number;
} {
  const rows: [number, number, number][] = [];
  const t0 = samples[0]?.at ?? 0;
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i]!;
    const behind = Math.max(0, s.freshest - s.nodes);
    const prev = samples[i - 1];
    const rate = prev && s.at > prev.at ? (s.freshest - prev.freshest) / ((s.at - prev.at) / 1000) : 0;
    const seconds = behind > 0 && rate > 0 ? Math.round((behind / rate) * 10) / 10 : 0;
    rows.push([Math.round((s.at - t0) / 100) / 10, behind, seconds]);
  }
  const lags = rows.map((r) => r[2]);
  return { samples: rows, p50Seconds: quantile(lags, 0.5) ?? 0, maxSeconds: quantile(lags, 1) ?? 0 };
}
