/*
 * When a node renews its client certificate, as client-go's certificate manager decides
 * (util/certificate/certificate_manager.go): at a jittered 70-90 % of the certificate's validity
 * (`jitteryDuration`: wait.Jitter(total, 0.2) - 0.3 total), so nodes that joined together do not
 * all renew together; at once when the certificate does not name the node. A failed renewal is
 * retried after 2 s doubling with 10 % jitter for 5 steps, then every 32 s.
 */

/** What the deadline is computed from. */
export interface CertValidity {
  /** Epoch ms. */
  readonly notBefore: number;
  readonly notAfter: number;
}

/**
 * The rotation deadline (epoch ms): notBefore + total x (0.7 + 0.2 x random), `random` in [0, 1).
 * Undefined validity (no certificate yet) or a certificate that does not satisfy the node's
 * template (`satisfies` false) gives `now`: request at once.
 */
export function rotationDeadline(
  cert: CertValidity | undefined,
  satisfies: boolean,
  now: number,
  random: number,
): number {
  if (!cert || !satisfies) return now;
  const total = cert.notAfter - cert.notBefore;
  // In whole units, as Go's durations: Jitter(total, 0.2) - 0.3 total.
  return cert.notBefore + total + Math.floor(total * 0.2 * random) - Math.floor(total * 0.3);
}

/**
 * Delay before retry `attempt` (1-based) of a failed renewal: 2, 4, 8, 16, 32 s with up to 10 %
 * more (wait.ExponentialBackoff with Duration 2 s, Factor 2, Jitter 0.1, Steps 5), then every
 * 32 s (wait.PollInfinite).
 */
export function renewalRetryMs(attempt: number, random: number): number {
  if (attempt > 5) return 32_000;
  const base = 2_000 * 2 ** (attempt - 1);
  return Math.floor(base * (1 + 0.1 * random));
}

/** Whether a certificate is still usable at `now` (the kubelet's store drops expired ones). */
export function stillValid(cert: CertValidity | undefined, now: number): boolean {
  return cert !== undefined && now < cert.notAfter;
}
