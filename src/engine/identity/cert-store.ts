import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { X509Certificate, createPrivateKey } from "node:crypto";
import type { CertValidity } from "./rotation.ts";

/*
 * The nodes' certificates and keys on disk, only where --cert-dir names a directory (as the
 * kubelet's --cert-dir): `kubelet-client-<node>.pem`, certificate then key, as the kubelet's
 * kubelet-client-current.pem holds both; files 0600 in a 0700 directory. Without --cert-dir
 * nothing is written: keys live in memory only.
 */

/** A node's stored credential. */
export interface StoredCredential extends CertValidity {
  readonly certificatePem: string;
  readonly keyPem: string;
  readonly commonName: string;
}

/** The file of node `node`'s credential in `dir`. */
export function credentialFile(dir: string, node: string): string {
  return join(dir, `kubelet-client-${node}.pem`);
}

/** Writes a node's certificate and key (0600), replacing the old file at once (rename). */
export async function storeCredential(
  dir: string,
  node: string,
  certificatePem: string,
  keyPem: string,
): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const file = credentialFile(dir, node);
  const tmp = `${file}.tmp`;
  await writeFile(tmp, certificatePem.trimEnd() + "\n" + keyPem, { mode: 0o600 });
  await chmod(tmp, 0o600);
  await rename(tmp, file);
}

/**
 * Reads a node's stored credential; undefined when there is none or it cannot be used (unreadable,
 * not a certificate and a key that fit, a common name not the node's): the node then asks anew,
 * as the kubelet does when its kubeconfig's certificate is not valid.
 */
export async function loadCredential(dir: string, node: string): Promise<StoredCredential | undefined> {
  let text: string;
  try {
    text = await readFile(credentialFile(dir, node), "utf8");
  } catch {
    return undefined;
  }
  const cert = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/.exec(text)?.[0];
  const key = /-----BEGIN (EC |)PRIVATE KEY-----[\s\S]+?-----END (EC |)PRIVATE KEY-----\n?/.exec(text)?.[0];
  if (!cert || !key) return undefined;
  try {
    const x = new X509Certificate(cert);
    if (!x.checkPrivateKey(createPrivateKey(key))) return undefined;
    const commonName = /(?:^|\n)CN=([^\n]*)/.exec(x.subject)?.[1] ?? "";
    return {
      certificatePem: cert,
      keyPem: key,
      commonName,
      notBefore: Date.parse(x.validFrom),
      notAfter: Date.parse(x.validTo),
    };
  } catch {
    return undefined;
  }
}
