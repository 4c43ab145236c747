/** Back-off delays shared by the engine's loops. */

/**
 * Delay before a failed background step (a registration, a pod status write, a deletion) is tried
 * again: 2 to 5 s, spread by `random` (in [0, 1)) so thousands of nodes that failed together do not
 * retry together. Per-request retries with exponential back-off are `client/retry.ts`'s job; this is
 * the slower loop around them, like the kubelet's sync loops retrying on their next pass.
 */
export function requeueDelayMs(random: () => number): number {
  return 2_000 + random() * 3_000;
}
