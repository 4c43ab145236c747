import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { selfSignedServingCert } from "../host/pki.ts";

/** A TLS server certificate and its key, PEM. */
export interface ServingCertificate {
  readonly cert: string;
  readonly key: string;
}

/**
 * Makes a self-signed serving certificate (EC P-256, one year) for `commonName` with `ip` as its
 * IP SAN, with the `openssl` CLI in a temporary directory that is removed afterwards. A kubelet
 * without a serving certificate does the same; the API server does not verify kubelets' certificates
 * unless it is given `--kubelet-certificate-authority`.
 */
export async function selfSignedCertificate(commonName: string, ip: string): Promise<ServingCertificate> {
  const dir = await mkdtemp(join(tmpdir(), "hollow-kubelet-"));
  try {
    const pair = await selfSignedServingCert(dir, {
      name: "kubelet",
      commonName,
      altNames: [`IP:${ip}`],
      purpose: "the kubelet endpoint's certificate (or run without --kubelet-port)",
    });
    return { cert: await readFile(pair.certFile, "utf8"), key: await readFile(pair.keyFile, "utf8") };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
