/**
 * Which cluster a local fleet's engine processes were started for. A server URL does not say:
 * `up` gives 127.0.0.1:6443 to whichever cluster starts while it is free, so a new cluster can
 * answer at the address of one that is gone. Its kube-system namespace UID and its CA tell them
 * apart, and a process started with the old CA fails every request with a TLS error.
 */
import { X509Certificate } from "node:crypto";
import { isNotFound } from "../client/api-error.ts";
import type { KubeClient } from "../client/kube-client.ts";
import { KubeApiError } from "../client/api-error.ts";

/** What identifies a cluster; a field is absent when it could not be read. */
export interface ClusterIdentity {
  /** `metadata.uid` of the kube-system namespace: new with every cluster (every etcd). */
  readonly kubeSystemUid?: string | undefined;
  /** SHA-256 fingerprint of the CA the engine trusts (the first certificate of the bundle). */
  readonly caFingerprint?: string | undefined;
}

/** SHA-256 fingerprint of the first certificate of a PEM bundle, or undefined when there is none. */
export function caFingerprint(pem: Buffer | string | undefined): string | undefined {
  if (pem === undefined || pem.length === 0) return undefined;
  try {
    return new X509Certificate(pem).fingerprint256;
  } catch {
    return undefined;
  }
}

/** Reads the identity of the cluster `client` talks to, with the CA its kubeconfig trusts. */
export async function readClusterIdentity(
  client: KubeClient,
  ca: Buffer | string | undefined,
): Promise<ClusterIdentity> {
  let kubeSystemUid: string | undefined;
  try {
    const ns = await client.get<{ metadata?: { uid?: string } }>("/api/v1/namespaces/kube-system");
    kubeSystemUid = ns.metadata?.uid;
  } catch (err) {
    // An identity that may not read namespaces still gets the CA comparison.
    if (!(err instanceof KubeApiError && (err.status === 403 || isNotFound(err)))) throw err;
  }
  return { kubeSystemUid, caFingerprint: caFingerprint(ca) };
}

function short(v: string): string {
  return v.length > 17 ? `${v.slice(0, 17)}...` : v;
}

/**
 * How `current` differs from the cluster a fleet was `recorded` for, in words, or undefined when
 * it is the same cluster (or nothing comparable is known).
 */
export function clusterChange(
  recorded: ClusterIdentity | undefined,
  current: ClusterIdentity,
): string | undefined {
  if (!recorded) return undefined;
  const a = recorded.kubeSystemUid;
  const b = current.kubeSystemUid;
  if (a && b && a !== b) return `its kube-system namespace UID was ${short(a)}, now ${short(b)}`;
  const x = recorded.caFingerprint;
  const y = current.caFingerprint;
  if (x && y && x !== y) return `its CA was ${short(x)}, now ${short(y)}`;
  return undefined;
}
