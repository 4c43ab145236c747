/**
 * Tells a TLS verification failure (the server answered, but its certificate was not accepted)
 * apart from a server that does not answer: the fixes differ, and "is the cluster up?" misleads
 * when it is up and presents a certificate the kubeconfig does not trust.
 */

/** Why a server certificate was refused. */
export type TlsFailureKind = "untrusted" | "expired" | "wrong-name";

/** A TLS verification failure found in an error's cause chain. */
export interface TlsFailure {
  readonly kind: TlsFailureKind;
  /** Node's (OpenSSL's) code: `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `CERT_HAS_EXPIRED`, ... */
  readonly code: string;
  /** OpenSSL's or Node's own words. */
  readonly detail: string;
}

// OpenSSL verification results as Node names them: the chain does not end at a CA the client trusts.
const UNTRUSTED = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_SIGNATURE_FAILURE",
  "CERT_UNTRUSTED",
  "CERT_REJECTED",
  "INVALID_CA",
]);
const EXPIRED = new Set(["CERT_HAS_EXPIRED", "CERT_NOT_YET_VALID"]);
const WRONG_NAME = new Set(["ERR_TLS_CERT_ALTNAME_INVALID"]);

/** The TLS verification failure in `err` or its causes, or undefined when it is none. */
export function tlsFailureOf(err: unknown): TlsFailure | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 6 && e; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === "string") {
      const kind: TlsFailureKind | undefined = UNTRUSTED.has(code)
        ? "untrusted"
        : EXPIRED.has(code)
          ? "expired"
          : WRONG_NAME.has(code)
            ? "wrong-name"
            : undefined;
      if (kind) return { kind, code, detail: e instanceof Error ? firstSentence(e.message) : code };
    }
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

// Node appends advice about --use-system-ca that does not apply to a kubeconfig's CA.
function firstSentence(message: string): string {
  return message.split(";")[0]!.trim();
}
