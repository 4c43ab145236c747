import { X509Certificate } from "node:crypto";
import { KubemarkError } from "../../kernel/errors.ts";
import { KUBELET_CLIENT_SIGNER } from "./node-csr.ts";

/*
 * Pure decisions of the CSR wait (client-go util/certificate/csr WaitForCertificate): what a
 * CertificateSigningRequest as the server has it says, whether an existing one is ours, and what
 * to tell the user when nothing comes.
 */

/** A CertificateSigningRequest as read from the server (the fields the wait looks at). */
export interface CsrRead {
  readonly metadata: { readonly name: string; readonly uid?: string; readonly resourceVersion?: string };
  readonly spec?: { readonly request?: string; readonly signerName?: string; readonly username?: string };
  readonly status?: {
    readonly certificate?: string;
    readonly conditions?: readonly { type: string; reason?: string; message?: string }[];
  };
}

/** Where a CSR stands. */
export type CsrOutcome =
  | { readonly kind: "pending" }
  | { readonly kind: "approved" }
  | { readonly kind: "issued"; readonly certificatePem: string }
  | { readonly kind: "denied" | "failed"; readonly reason: string; readonly message: string };

/**
 * The CSR's state, in the order the kubelet's wait reads it: a Denied or Failed condition ends the
 * wait with an error; Approved with a certificate ends it with the certificate; Approved without
 * one waits for the signer.
 */
export function csrOutcome(csr: CsrRead): CsrOutcome {
  let approved = false;
  for (const c of csr.status?.conditions ?? []) {
    if (c.type === "Denied" || c.type === "Failed") {
      return {
        kind: c.type === "Denied" ? "denied" : "failed",
        reason: c.reason ?? "",
        message: c.message ?? "",
      };
    }
    if (c.type === "Approved") approved = true;
  }
  if (!approved) return { kind: "pending" };
  const cert = csr.status?.certificate;
  if (cert) return { kind: "issued", certificatePem: Buffer.from(cert, "base64").toString("utf8") };
  return { kind: "approved" };
}

/** The error for a CSR that was denied or failed: it names the CSR and what the controller said. */
export function refusedError(
  node: string,
  csrName: string,
  outcome: { kind: "denied" | "failed"; reason: string; message: string },
): KubemarkError {
  const said = [outcome.reason, outcome.message].filter((s) => s !== "").join(": ") || "no reason given";
  return new KubemarkError(
    "FORBIDDEN",
    `node ${node}: CertificateSigningRequest ${csrName} was ${outcome.kind === "denied" ? "denied" : "failed to be signed"} (${said})`,
    {
      hint:
        outcome.kind === "denied"
          ? `see 'kubectl get csr ${csrName} -o yaml'; whoever denied it (an admin or a policy controller) must let nodes' client certificates through`
          : `see 'kubectl get csr ${csrName} -o yaml' and kube-controller-manager's log (its csrsigning controller and --cluster-signing-cert-file/--cluster-signing-key-file)`,
    },
  );
}

/**
 * The error for a CSR nothing came of within the deadline: never approved means no approver
 * (kube-controller-manager's csrapproving controller off, or the requester not allowed
 * `certificatesigningrequests/nodeclient`); approved but never issued means no signer.
 */
export function notIssuedError(
  node: string,
  csrName: string,
  last: CsrOutcome["kind"],
  waitedMs: number,
): KubemarkError {
  const secs = Math.round(waitedMs / 1000);
  if (last === "approved") {
    return new KubemarkError(
      "TIMEOUT",
      `node ${node}: CertificateSigningRequest ${csrName} was approved but no certificate was issued within ${secs}s: kube-controller-manager runs no csrsigning controller for ${KUBELET_CLIENT_SIGNER}`,
      {
        hint: "run kube-controller-manager with the csrsigning controller (--controllers=*) and --cluster-signing-cert-file/--cluster-signing-key-file set to the cluster CA",
      },
    );
  }
  return new KubemarkError(
    "TIMEOUT",
    `node ${node}: CertificateSigningRequest ${csrName} was not approved within ${secs}s: kube-controller-manager runs no csrapproving controller, or the bootstrap identity lacks the nodeclient ClusterRoleBinding`,
    {
      hint:
        "bind the bootstrap identity (group system:bootstrappers, or its ServiceAccount) to ClusterRole system:certificates.k8s.io:certificatesigningrequests:nodeclient, and run kube-controller-manager with --controllers=* (csrapproving); or approve it: 'kubectl certificate approve " +
        csrName +
        "'",
    },
  );
}

/**
 * Whether an existing CSR of our name is ours to wait for (client-go ensureCompatible): same
 * signer, and its request carries our public key (so the certificate it gets fits our key).
 */
export function isCompatible(csr: CsrRead, publicKeyDer: Buffer): boolean {
  if (csr.spec?.signerName && csr.spec.signerName !== KUBELET_CLIENT_SIGNER) return false;
  const request = csr.spec?.request;
  if (!request) return false;
  try {
    const pem = Buffer.from(request, "base64").toString("utf8");
    const body = pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, "");
    return requestPublicKey(Buffer.from(body, "base64"))?.equals(publicKeyDer) ?? false;
  } catch {
    return false;
  }
}

/**
 * The SubjectPublicKeyInfo inside a DER PKCS#10 request: the third element of its
 * CertificationRequestInfo (version, subject, subjectPKInfo). A small DER walk, enough to compare.
 */
function requestPublicKey(der: Buffer): Buffer | undefined {
  const read = (buf: Buffer, at: number): { start: number; end: number; next: number } => {
    let len = buf[at + 1]!;
    let start = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + buf[at + 2 + i]!;
      start += n;
    }
    return { start, end: start + len, next: start + len };
  };
  const outer = read(der, 0);
  const info = read(der, outer.start);
  const version = read(der, info.start);
  const subject = read(der, version.next);
  const spki = read(der, subject.next);
  return der.subarray(subject.next, spki.end);
}

/** What the wait needs from an issued certificate: its validity and whether it fits our key. */
export interface IssuedCertificate {
  readonly notBefore: number;
  readonly notAfter: number;
  readonly subject: string;
}

/** Reads the first certificate of a PEM chain and checks it carries our public key. */
export function readIssued(certificatePem: string, publicKeyDer: Buffer): IssuedCertificate {
  const cert = new X509Certificate(certificatePem);
  const der = cert.publicKey.export({ type: "spki", format: "der" });
  if (!der.equals(publicKeyDer)) {
    throw new KubemarkError("INTERNAL", "the issued certificate does not carry this node's public key");
  }
  return {
    notBefore: Date.parse(cert.validFrom),
    notAfter: Date.parse(cert.validTo),
    subject: cert.subject,
  };
}
