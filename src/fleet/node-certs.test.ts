import assert from "node:assert/strict";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { selfSignedCertificate } from "../engine/serving-cert.ts";
import { KUBELET_CLIENT_SIGNER } from "../engine/identity/node-csr.ts";
import {
  certificateProblems,
  issuedCertificates,
  judgeCertificates,
  nodeCertificate,
  storedCertificates,
} from "./node-certs.ts";

const NOW = Date.UTC(2026, 11, 1);
const DAY = 24 * 3600_000;
const YEAR = 365 * DAY;

/** A certificate for node `name` whose notAfter is `leftMs` after NOW (selfSignedCertificate: a year). */
function certFor(name: string, leftMs: number): string {
  return selfSignedCertificate(`system:node:${name}`, "127.0.0.1", NOW - YEAR + leftMs).cert;
}

describe("verify: the nodes' client certificates", () => {
  it("reads a node and notAfter from a kubelet client certificate, nothing from others", () => {
    const found = nodeCertificate(certFor("n1", 2 * DAY));
    assert.equal(found?.node, "n1");
    assert.equal(Math.round(((found?.notAfter ?? 0) - NOW) / 1000), (2 * DAY) / 1000);
    assert.equal(nodeCertificate(selfSignedCertificate("hollow-kubelet", "127.0.0.1", NOW).cert), undefined);
    assert.equal(nodeCertificate("not a pem"), undefined);
  });

  it("keeps each node's newest issued certificate of the kubelet client signer", () => {
    const csr = (pem: string, signer = KUBELET_CLIENT_SIGNER) => ({
      metadata: { name: "x" },
      spec: { signerName: signer },
      status: { certificate: Buffer.from(pem).toString("base64") },
    });
    const m = issuedCertificates([
      csr(certFor("n1", DAY / 2)),
      csr(certFor("n1", 300 * DAY)),
      csr(certFor("n2", 3 * DAY), "kubernetes.io/kube-apiserver-client"),
      { metadata: { name: "pending" }, spec: { signerName: KUBELET_CLIENT_SIGNER } },
    ]);
    assert.deepEqual([...m.keys()], ["n1"]);
    assert.ok(m.get("n1")! - NOW > 299 * DAY);
  });

  it("reads the certificate part of a --cert-dir file", async () => {
    const dir = await mkdtemp(join(tmpdir(), "node-certs-"));
    const { cert, key } = selfSignedCertificate("system:node:n3", "127.0.0.1", NOW);
    await writeFile(join(dir, "kubelet-client-n3.pem"), cert + key, { mode: 0o600 });
    await writeFile(join(dir, "other.pem"), certFor("n4", DAY));
    assert.deepEqual([...(await storedCertificates(dir)).keys()], ["n3"]);
    assert.equal((await storedCertificates(join(dir, "absent"))).size, 0);
  });

  const cases: {
    name: string;
    found: Record<string, number>;
    complete: boolean;
    missing: string[];
    expiring: string[];
  }[] = [
    {
      name: "all fresh",
      found: { a: NOW + 30 * DAY, b: NOW + 2 * DAY },
      complete: true,
      missing: [],
      expiring: [],
    },
    {
      name: "one within a day",
      found: { a: NOW + DAY - 1, b: NOW + 2 * DAY },
      complete: true,
      missing: [],
      expiring: ["a"],
    },
    {
      name: "one expired",
      found: { a: NOW - 1, b: NOW + 2 * DAY },
      complete: true,
      missing: [],
      expiring: ["a"],
    },
    {
      name: "one missing (local: complete)",
      found: { a: NOW + 2 * DAY },
      complete: true,
      missing: ["b"],
      expiring: [],
    },
    {
      name: "not looked for everywhere: none missing",
      found: { a: NOW + 2 * DAY },
      complete: false,
      missing: [],
      expiring: [],
    },
  ];
  for (const c of cases)
    it(`judges: ${c.name}`, () => {
      const r = judgeCertificates(["a", "b"], new Map(Object.entries(c.found)), NOW, c.complete);
      assert.deepEqual(r.missing, c.missing);
      assert.deepEqual(
        r.expiring.map((e) => e.node),
        c.expiring,
      );
    });

  it("says what is wrong, three names at most", () => {
    const r = judgeCertificates(["a", "b", "c", "d", "e"], new Map([["e", NOW + 3600_000]]), NOW, true);
    assert.deepEqual(certificateProblems(r), [
      "4 nodes without a client certificate (a, b, c, ...)",
      `1 nodes' client certificates expire within a day (e at ${new Date(NOW + 3600_000).toISOString()})`,
    ]);
    assert.deepEqual(certificateProblems(judgeCertificates([], new Map(), NOW, true)), []);
  });
});
