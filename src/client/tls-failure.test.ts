import { test } from "node:test";
import assert from "node:assert/strict";
import { tlsFailureOf } from "./tls-failure.ts";

function nodeError(code: string, message: string): Error {
  return Object.assign(new Error(message), { code });
}

test("tlsFailureOf: finds the TLS verification result anywhere in the cause chain", () => {
  const cases: Array<[string, string | undefined]> = [
    ["UNABLE_TO_VERIFY_LEAF_SIGNATURE", "untrusted"],
    ["SELF_SIGNED_CERT_IN_CHAIN", "untrusted"],
    ["DEPTH_ZERO_SELF_SIGNED_CERT", "untrusted"],
    ["CERT_HAS_EXPIRED", "expired"],
    ["CERT_NOT_YET_VALID", "expired"],
    ["ERR_TLS_CERT_ALTNAME_INVALID", "wrong-name"],
    ["ECONNREFUSED", undefined],
    ["UND_ERR_SOCKET", undefined],
  ];
  for (const [code, kind] of cases) {
    const wrapped = new Error("cannot reach https://127.0.0.1:6443", {
      cause: new Error("fetch failed", { cause: nodeError(code, "some words") }),
    });
    assert.equal(tlsFailureOf(wrapped)?.kind, kind, code);
    if (kind) assert.equal(tlsFailureOf(wrapped)?.code, code);
  }
  assert.equal(tlsFailureOf(undefined), undefined);
  assert.equal(tlsFailureOf("text"), undefined);
});

test("tlsFailureOf: keeps OpenSSL's words, without Node's advice about system CAs", () => {
  const f = tlsFailureOf(
    nodeError(
      "SELF_SIGNED_CERT_IN_CHAIN",
      "self-signed certificate in certificate chain; if the root CA is installed locally, try running Node.js with --use-system-ca",
    ),
  );
  assert.equal(f?.detail, "self-signed certificate in certificate chain");
});
