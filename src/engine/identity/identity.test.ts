import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { FakeClock } from "../../kernel/clock.ts";
import { KubemarkError } from "../../kernel/errors.ts";
import { credentialFile, loadCredential, storeCredential } from "./cert-store.ts";
import {
  csrOutcome,
  isCompatible,
  notIssuedError,
  readIssued,
  refusedError,
  type CsrRead,
} from "./csr-outcome.ts";
import { requestNodeCertificate, type CsrApi } from "./node-certificate.ts";
import {
  KUBELET_CLIENT_SIGNER,
  bootstrapCsrName,
  csrObject,
  generateNodeKey,
  nodeCertificateRequest,
  privateKeyPem,
} from "./node-csr.ts";
import { renewalRetryMs, rotationDeadline, stillValid } from "./rotation.ts";

function openssl(args: string[], input?: string): string {
  return execFileSync("openssl", args, { input, encoding: "utf8" });
}

/** A CA (openssl) that signs a request as kube-controller-manager's csrsigning would. */
function signWithTestCa(requestPem: string): string {
  const dir = mkdtempSync(join(tmpdir(), "identity-test-"));
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", join(dir, "ca.key")]);
  openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    join(dir, "ca.key"),
    "-subj",
    "/CN=test-ca",
    "-days",
    "1",
    "-out",
    join(dir, "ca.crt"),
  ]);
  writeFileSync(join(dir, "req.csr"), requestPem);
  return openssl([
    "x509",
    "-req",
    "-in",
    join(dir, "req.csr"),
    "-CA",
    join(dir, "ca.crt"),
    "-CAkey",
    join(dir, "ca.key"),
    "-days",
    "1",
  ]);
}

describe("node certificate request", () => {
  it("is a PKCS#10 request for O=system:nodes, CN=system:node:<name> signed with the node's P-256 key", () => {
    const key = generateNodeKey();
    const pem = nodeCertificateRequest("hollow-node-7", key);
    const text = openssl(["req", "-noout", "-text", "-verify"], pem);
    assert.match(text, /Subject: O\s?=\s?system:nodes, CN\s?=\s?system:node:hollow-node-7/);
    assert.match(text, /NIST CURVE: P-256/);
    assert.match(text, /ecdsa-with-SHA256/);
    assert.doesNotMatch(privateKeyPem(key), /^$/);
  });

  it("gets the kubelet's digested name: node-csr-<base64url SHA-512/256>, the same for the same key", () => {
    const key = generateNodeKey();
    const a = bootstrapCsrName("n1", key.publicKeyDer);
    assert.match(a, /^node-csr-[A-Za-z0-9_-]{43}$/);
    assert.equal(bootstrapCsrName("n1", key.publicKeyDer), a);
    assert.notEqual(bootstrapCsrName("n2", key.publicKeyDer), a);
    assert.notEqual(bootstrapCsrName("n1", generateNodeKey().publicKeyDer), a);
  });

  it("makes the CSR object with the kubelet-client signer and usages, named or generateName csr-", () => {
    const obj = csrObject("PEM", { name: "node-csr-x" });
    assert.equal(obj.spec.signerName, KUBELET_CLIENT_SIGNER);
    assert.deepEqual(obj.spec.usages, ["digital signature", "client auth"]);
    assert.equal(Buffer.from(obj.spec.request, "base64").toString(), "PEM");
    assert.deepEqual(obj.metadata, { name: "node-csr-x" });
    assert.equal(obj.spec.expirationSeconds, undefined);
    const renewal = csrObject("PEM", { expirationSeconds: 600 });
    assert.deepEqual(renewal.metadata, { generateName: "csr-" });
    assert.equal(renewal.spec.expirationSeconds, 600);
  });

  it("knows its own request (same key) from another's", () => {
    const key = generateNodeKey();
    const ours = csrObject(nodeCertificateRequest("n", key), { name: "x" });
    const read = (o: typeof ours): CsrRead => ({ metadata: { name: "x" }, spec: o.spec });
    assert.equal(isCompatible(read(ours), key.publicKeyDer), true);
    const theirs = csrObject(nodeCertificateRequest("n", generateNodeKey()), { name: "x" });
    assert.equal(isCompatible(read(theirs), key.publicKeyDer), false);
    assert.equal(
      isCompatible(
        { metadata: { name: "x" }, spec: { ...ours.spec, signerName: "other" } },
        key.publicKeyDer,
      ),
      false,
    );
  });

  it("reads an issued certificate's validity and refuses one for another key", () => {
    const key = generateNodeKey();
    const cert = signWithTestCa(nodeCertificateRequest("n", key));
    const issued = readIssued(cert, key.publicKeyDer);
    assert.ok(issued.notAfter - issued.notBefore >= 86_399_000);
    assert.match(issued.subject, /CN=system:node:n/);
    assert.throws(() => readIssued(cert, generateNodeKey().publicKeyDer), /public key/);
  });
});

describe("csrOutcome", () => {
  const cert = Buffer.from("CERT").toString("base64");
  const cases: [string, CsrRead["status"], string][] = [
    ["no status", undefined, "pending"],
    ["approved, not signed", { conditions: [{ type: "Approved" }] }, "approved"],
    ["approved and signed", { conditions: [{ type: "Approved" }], certificate: cert }, "issued"],
    ["a certificate without approval", { certificate: cert }, "pending"],
    ["denied", { conditions: [{ type: "Denied", reason: "AdminDenied", message: "no" }] }, "denied"],
    [
      "approved then failed",
      { conditions: [{ type: "Approved" }, { type: "Failed", reason: "SignerValidationFailure" }] },
      "failed",
    ],
  ];
  for (const [what, status, kind] of cases) {
    it(`${what} -> ${kind}`, () => {
      assert.equal(csrOutcome({ metadata: { name: "c" }, ...(status ? { status } : {}) }).kind, kind);
    });
  }
  it("returns the certificate PEM of an issued request", () => {
    const o = csrOutcome({
      metadata: { name: "c" },
      status: { conditions: [{ type: "Approved" }], certificate: cert },
    });
    assert.deepEqual(o, { kind: "issued", certificatePem: "CERT" });
  });
});

describe("errors that name the cause", () => {
  it("a denied CSR names it and the reason", () => {
    const e = refusedError("n1", "node-csr-abc", {
      kind: "denied",
      reason: "AdminDenied",
      message: "not today",
    });
    assert.match(
      e.message,
      /node n1: CertificateSigningRequest node-csr-abc was denied \(AdminDenied: not today\)/,
    );
  });
  it("never approved names the approver and the nodeclient binding", () => {
    const e = notIssuedError("n1", "node-csr-abc", "pending", 300_000);
    assert.match(e.message, /not approved within 300s/);
    assert.match(
      e.message,
      /no csrapproving controller, or the bootstrap identity lacks the nodeclient ClusterRoleBinding/,
    );
    assert.match(e.hint ?? "", /certificatesigningrequests:nodeclient/);
  });
  it("approved but never issued names the signer", () => {
    const e = notIssuedError("n1", "node-csr-abc", "approved", 60_000);
    assert.match(
      e.message,
      /approved but no certificate was issued within 60s: kube-controller-manager runs no csrsigning controller/,
    );
  });
});

describe("rotationDeadline (client-go nextRotationDeadline)", () => {
  const year = 365 * 86_400_000;
  const cases: [string, { notBefore: number; notAfter: number } | undefined, boolean, number, number][] = [
    ["no certificate: now", undefined, true, 0.5, 1_000],
    ["not the node's template: now", { notBefore: 0, notAfter: year }, false, 0.5, 1_000],
    ["random 0: 70 %", { notBefore: 0, notAfter: year }, true, 0, 0.7 * year],
    ["random 0.5: 80 %", { notBefore: 0, notAfter: year }, true, 0.5, 0.8 * year],
    ["random ~1: 90 %", { notBefore: 0, notAfter: 1000 }, true, 0.9999, 899],
    ["from notBefore", { notBefore: 5_000, notAfter: 15_000 }, true, 0.5, 13_000],
  ];
  for (const [what, cert, satisfies, random, want] of cases) {
    it(what, () => assert.equal(rotationDeadline(cert, satisfies, 1_000, random), Math.floor(want)));
  }
  it("renewal retries: 2, 4, 8, 16, 32 s (+ up to 10 %), then every 32 s", () => {
    assert.deepEqual(
      [1, 2, 3, 4, 5, 6, 9].map((a) => renewalRetryMs(a, 0)),
      [2_000, 4_000, 8_000, 16_000, 32_000, 32_000, 32_000],
    );
    assert.equal(renewalRetryMs(1, 0.999), 2_199);
  });
  it("a certificate past notAfter is not valid", () => {
    assert.equal(stillValid({ notBefore: 0, notAfter: 10 }, 9), true);
    assert.equal(stillValid({ notBefore: 0, notAfter: 10 }, 10), false);
    assert.equal(stillValid(undefined, 0), false);
  });
});

describe("cert-store (--cert-dir)", () => {
  it("writes certificate and key 0600 and reads them back; a missing file is no credential", async () => {
    const dir = join(mkdtempSync(join(tmpdir(), "identity-store-")), "certs");
    const key = generateNodeKey();
    const cert = signWithTestCa(nodeCertificateRequest("n1", key));
    await storeCredential(dir, "n1", cert, privateKeyPem(key));
    assert.equal(statSync(credentialFile(dir, "n1")).mode & 0o777, 0o600);
    assert.equal(statSync(dir).mode & 0o777, 0o700);
    const back = await loadCredential(dir, "n1");
    assert.equal(back?.commonName, "system:node:n1");
    assert.ok(readFileSync(credentialFile(dir, "n1"), "utf8").includes("PRIVATE KEY"));
    assert.equal(await loadCredential(dir, "n2"), undefined);
    // A key that does not fit the certificate is no credential.
    await storeCredential(dir, "n3", cert, privateKeyPem(generateNodeKey()));
    assert.equal(await loadCredential(dir, "n3"), undefined);
  });
});

describe("requestNodeCertificate's wait", () => {
  /** Pure wait logic on a scripted CSR (not the API server's semantics: see the integration test). */
  function scripted(statuses: CsrRead["status"][]): CsrApi & { created: number } {
    let listed = 0;
    const api = {
      created: 0,
      request: <T>(req: { method: string; body?: unknown }): Promise<T> => {
        if (req.method === "POST") {
          api.created++;
          return Promise.resolve({ metadata: { name: "node-csr-x", uid: "u1" } } as T);
        }
        const status = statuses[Math.min(listed++, statuses.length - 1)];
        return Promise.resolve({
          metadata: { resourceVersion: "1" },
          items: [{ metadata: { name: "node-csr-x", uid: "u1" }, ...(status ? { status } : {}) }],
        } as T);
      },
      watchStream: (_p: string, _q: unknown, h: { onEnd(err?: unknown): void }) => {
        h.onEnd();
        return { cancel: () => undefined };
      },
    };
    return api;
  }

  it("times out naming the missing approver, after the deadline on the injected clock", async () => {
    const clock = new FakeClock(0);
    const api = scripted([undefined]);
    const p = requestNodeCertificate(api, "n1", generateNodeKey(), {
      clock,
      deadlineMs: 10_000,
      bootstrapName: true,
    });
    const caught = p.catch((e: unknown) => e);
    for (let i = 0; i < 12; i++) await clock.advance(1_000);
    const err = await caught;
    assert.ok(err instanceof KubemarkError);
    assert.match(err.message, /not approved within 10s/);
    assert.equal(api.created, 1);
  });

  it("times out naming the missing signer when approved but never issued", async () => {
    const clock = new FakeClock(0);
    const api = scripted([undefined, { conditions: [{ type: "Approved" }] }]);
    const caught = requestNodeCertificate(api, "n1", generateNodeKey(), {
      clock,
      deadlineMs: 5_000,
      bootstrapName: true,
    }).catch((e: unknown) => e);
    for (let i = 0; i < 7; i++) await clock.advance(1_000);
    assert.match(String(((await caught) as Error).message), /no csrsigning controller/);
  });

  it("ends at once on Denied with the CSR's name", async () => {
    const clock = new FakeClock(0);
    const api = scripted([{ conditions: [{ type: "Denied", reason: "AdminDenied" }] }]);
    const err = await requestNodeCertificate(api, "n1", generateNodeKey(), {
      clock,
      deadlineMs: 60_000,
      bootstrapName: true,
    }).catch((e: unknown) => e);
    assert.match((err as Error).message, /CertificateSigningRequest node-csr-x was denied \(AdminDenied\)/);
  });
});
