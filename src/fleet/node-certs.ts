/**
 * `verify` under `--identity node`: which of the fleet's nodes have no client certificate, or one
 * that expires soon. Read without secrets: the certificates kube-controller-manager issued in the
 * fleet's CSRs (public, but removed by its CSR cleaner an hour after issue), and for a local fleet
 * the certificate part of each node's `--cert-dir` file (the key in it is not read).
 */
import { X509Certificate } from "node:crypto";
import { readFile, readdir } from "node:fs/promises";
import { join } from "node:path";
import { KUBELET_CLIENT_SIGNER } from "../engine/identity/node-csr.ts";
import type { FleetCsr } from "./bootstrap.ts";

/** Certificates expiring within this are reported (the engine renews at 70-90 % of the validity). */
export const EXPIRY_WARNING_MS = 24 * 3600_000;

/** What `verify` reports about the nodes' certificates. */
export interface CertificateReport {
  /** Whether every node's certificate could be looked for (a local fleet's `--cert-dir`). */
  readonly complete: boolean;
  /** Nodes without any certificate found (only when `complete`). */
  readonly missing: string[];
  /** Nodes whose newest certificate expires within {@link EXPIRY_WARNING_MS}, with its notAfter. */
  readonly expiring: { readonly node: string; readonly notAfter: string }[];
}

/** The node a kubelet client certificate is for (`CN=system:node:<name>`), and its notAfter in ms. */
export function nodeCertificate(pem: string): { node: string; notAfter: number } | undefined {
  const block = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(pem)?.[0];
  if (!block) return undefined;
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(block);
  } catch {
    return undefined;
  }
  const cn = /(?:^|\n)CN=system:node:([^\n]+)/.exec(cert.subject)?.[1];
  return cn ? { node: cn, notAfter: Date.parse(cert.validTo) } : undefined;
}

/** The newest notAfter per node of the issued kubelet client certificates among `csrs`. */
export function issuedCertificates(csrs: readonly FleetCsr[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const c of csrs) {
    if (c.spec.signerName !== KUBELET_CLIENT_SIGNER || !c.status?.certificate) continue;
    const found = nodeCertificate(Buffer.from(c.status.certificate, "base64").toString());
    if (found) keepNewest(out, found.node, found.notAfter);
  }
  return out;
}

/** The newest notAfter per node of the certificates in a local fleet's `--cert-dir` (empty when none). */
export async function storedCertificates(dir: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const files = await readdir(dir).catch(() => [] as string[]);
  for (const f of files) {
    if (!/^kubelet-client-.+\.pem$/.test(f)) continue;
    const found = nodeCertificate(await readFile(join(dir, f), "utf8").catch(() => ""));
    if (found) keepNewest(out, found.node, found.notAfter);
  }
  return out;
}

function keepNewest(m: Map<string, number>, node: string, notAfter: number): void {
  if (!(notAfter <= (m.get(node) ?? -Infinity))) m.set(node, notAfter);
}

/**
 * Judges the certificates of `nodes` at `now`: missing (none found, reported only when every
 * node's could be looked for: `complete`) and expiring within {@link EXPIRY_WARNING_MS}.
 */
export function judgeCertificates(
  nodes: readonly string[],
  found: ReadonlyMap<string, number>,
  now: number,
  complete: boolean,
): CertificateReport {
  const missing: string[] = [];
  const expiring: { node: string; notAfter: string }[] = [];
  for (const n of nodes) {
    const notAfter = found.get(n);
    if (notAfter === undefined) {
      if (complete) missing.push(n);
    } else if (notAfter - now < EXPIRY_WARNING_MS) {
      expiring.push({ node: n, notAfter: new Date(notAfter).toISOString() });
    }
  }
  return { complete, missing, expiring };
}

/** Verify's problem lines for a certificate report (at most three names each). */
export function certificateProblems(r: CertificateReport): string[] {
  const names = (l: readonly string[]): string => `${l.slice(0, 3).join(", ")}${l.length > 3 ? ", ..." : ""}`;
  const out: string[] = [];
  if (r.missing.length > 0)
    out.push(`${r.missing.length} nodes without a client certificate (${names(r.missing)})`);
  if (r.expiring.length > 0)
    out.push(
      `${r.expiring.length} nodes' client certificates expire within a day (${names(r.expiring.map((e) => `${e.node} at ${e.notAfter}`))})`,
    );
  return out;
}
