/**
 * Missed heartbeats as the benchmarks count them: a node's Lease whose last renewal is older than
 * the lease duration (a Lease never renewed counts as missed too: its node never sent one).
 */
import type { KubeClient } from "../../src/client/kube-client.ts";
import { NODE_LEASES_PATH, leaseAgeSeconds, type LeaseTimes } from "../../src/kernel/k8s.ts";

/** A node Lease as listed. */
export interface NamedLease extends LeaseTimes {
  readonly metadata: { readonly name: string };
}

/** Names of the Leases that start with `prefix` and were not renewed within `durationMs` of `nowMs`. */
export function staleLeaseNames(
  leases: readonly NamedLease[],
  prefix: string,
  durationMs: number,
  nowMs: number,
): string[] {
  return leases
    .filter((l) => l.metadata.name.startsWith(prefix))
    .filter((l) => {
      if (l.spec?.renewTime === undefined) return true;
      const age = leaseAgeSeconds(l, nowMs);
      return age !== undefined && age * 1000 > durationMs;
    })
    .map((l) => l.metadata.name);
}

/** {@link staleLeaseNames} of the cluster's node Leases now. */
export async function listStaleLeases(
  client: KubeClient,
  prefix: string,
  durationMs: number,
): Promise<string[]> {
  const list = await client.get<{ items: NamedLease[] }>(NODE_LEASES_PATH);
  return staleLeaseNames(list.items, prefix, durationMs, Date.now());
}
