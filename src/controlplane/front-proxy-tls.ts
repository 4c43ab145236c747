import { join } from "node:path";
import {
  createCertAuthority,
  issueCert,
  certPairExists as exists,
  type CertAuthority,
  type CertPair,
} from "../host/pki.ts";

/**
 * The API aggregation layer's certificates, as kubeadm makes them: a front-proxy CA of its own
 * (so no certificate of the cluster CA can pose as the aggregator and assert any user in
 * X-Remote-User headers) and the client certificate `front-proxy-client` the API server presents
 * when it proxies a request to an extension API server (metrics-server).
 */
export interface FrontProxyTlsFiles {
  readonly ca: CertAuthority;
  readonly client: CertPair;
}

/** The common name the API server's proxy client certificate has and extension servers accept. */
export const FRONT_PROXY_CLIENT_NAME = "front-proxy-client";

/** Paths of the front-proxy certificates in `pkiDir` (whether or not they exist yet). */
export function frontProxyTlsFiles(pkiDir: string): FrontProxyTlsFiles {
  const dir = join(pkiDir, "front-proxy");
  return {
    ca: { certFile: join(dir, "ca.crt"), keyFile: join(dir, "ca.key") },
    client: {
      certFile: join(pkiDir, `${FRONT_PROXY_CLIENT_NAME}.crt`),
      keyFile: join(pkiDir, `${FRONT_PROXY_CLIENT_NAME}.key`),
    },
  };
}

/** True when every front-proxy certificate is there (a cluster made before them lacks them). */
export async function hasFrontProxyTls(pkiDir: string): Promise<boolean> {
  const f = frontProxyTlsFiles(pkiDir);
  return (await exists(f.ca)) && (await exists(f.client));
}

/**
 * Creates whichever front-proxy certificates are missing (all for a new cluster, or for one made
 * by a version without the aggregation layer) and returns the names of those it created. A new CA
 * re-issues the client certificate, since the old one would not chain to it.
 */
export async function ensureFrontProxyTls(pkiDir: string, clusterName: string): Promise<string[]> {
  const files = frontProxyTlsFiles(pkiDir);
  const created: string[] = [];
  const newCa = !(await exists(files.ca));
  if (newCa) {
    await createCertAuthority(join(pkiDir, "front-proxy"), `kubemark-cluster-${clusterName}-front-proxy-ca`);
    created.push("front-proxy/ca");
  }
  if (newCa || !(await exists(files.client))) {
    await issueCert(pkiDir, files.ca, {
      name: FRONT_PROXY_CLIENT_NAME,
      commonName: FRONT_PROXY_CLIENT_NAME,
      usage: "client",
    });
    created.push(FRONT_PROXY_CLIENT_NAME);
  }
  return created;
}
