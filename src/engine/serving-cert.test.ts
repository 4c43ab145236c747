import assert from "node:assert/strict";
import { X509Certificate, createPrivateKey, createPublicKey } from "node:crypto";
import { once } from "node:events";
import { connect } from "node:tls";
import { createServer } from "node:https";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { selfSignedCertificate } from "./serving-cert.ts";

describe("selfSignedCertificate (in-process, no openssl)", () => {
  const now = Date.now();

  it("parses, names the IP as its SAN, is self-signed and verifies with its own key, valid now for a year", () => {
    const { cert, key } = selfSignedCertificate("hollow-kubelet", "10.244.0.7", now);
    const x = new X509Certificate(cert);
    assert.equal(x.subject, "CN=hollow-kubelet");
    assert.equal(x.issuer, x.subject, "self-signed");
    assert.equal(x.subjectAltName, "IP Address:10.244.0.7");
    assert.equal(x.checkIP("10.244.0.7"), "10.244.0.7");
    assert.equal(x.checkIP("10.244.0.8"), undefined);
    assert.ok(x.verify(x.publicKey), "signed by its own key");
    assert.ok(x.checkPrivateKey(createPrivateKey(key)), "the key is the certificate's");
    assert.equal(x.publicKey.asymmetricKeyDetails?.namedCurve, "prime256v1");
    assert.ok(x.validFromDate.getTime() <= now && now < x.validToDate.getTime(), "valid now");
    const days = (x.validToDate.getTime() - now) / 86_400_000;
    assert.ok(days > 364 && days <= 365, `valid for a year, got ${days} days`);
    assert.equal(x.ca, false);
    assert.deepEqual(x.keyUsage, ["1.3.6.1.5.5.7.3.1"], "extended key usage: server auth");
    assert.match(x.serialNumber, /^[0-9A-F]+$/);
    // The PEM key is an EC private key: what a TLS server is given, never anything else.
    assert.equal(createPublicKey(key).asymmetricKeyType, "ec");
  });

  it("an IPv6 address is its SAN too; two certificates differ in key and serial", () => {
    const a = new X509Certificate(selfSignedCertificate("hollow-kubelet", "fd00::1", now).cert);
    const b = new X509Certificate(selfSignedCertificate("hollow-kubelet", "fd00::1", now).cert);
    assert.equal(a.checkIP("fd00::1"), "fd00::1");
    assert.notEqual(a.serialNumber, b.serialNumber);
    assert.notEqual(a.fingerprint256, b.fingerprint256);
  });

  it("refuses a SAN that is not an IP address", () => {
    assert.throws(
      () => selfSignedCertificate("hollow-kubelet", "node-1", now),
      /must be an IP address, got "node-1"/,
    );
  });

  it("serves TLS: a client trusting it verifies the server at that IP", async () => {
    const { cert, key } = selfSignedCertificate("hollow-kubelet", "127.0.0.1", now);
    const server = createServer({ cert, key }, (_req, res) => res.end("ok"));
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    try {
      const socket = connect({ host: "127.0.0.1", port: (server.address() as AddressInfo).port, ca: cert });
      await once(socket, "secureConnect");
      assert.equal(socket.authorized, true, String(socket.authorizationError));
      socket.destroy();
    } finally {
      server.close();
    }
  });
});
