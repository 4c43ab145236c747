import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, type ConnectionOptions, type TLSSocket } from "node:tls";
import { after, before, test } from "node:test";
import { KubeClient } from "./kube-client.ts";
import { tlsContextOf, withoutChainCompletion, type ClusterAccess } from "./kubeconfig.ts";

/*
 * KubeClient.useClientCertificate (a renewed node certificate): requests after it present the new
 * certificate, on new connections. A local TLS server that names the client certificate's CN
 * stands in for the API server's authentication (the client's transport is what is tested).
 */

const dir = mkdtempSync(join(tmpdir(), "client-cert-test-"));
const file = (n: string): string => join(dir, n);
function openssl(args: string[]): void {
  execFileSync("openssl", args, { stdio: "ignore" });
}
function clientCert(cn: string): { cert: string; key: string } {
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file(`${cn}.key`)]);
  openssl([
    "req",
    "-new",
    "-key",
    file(`${cn}.key`),
    "-subj",
    `/O=system:nodes/CN=${cn}`,
    "-out",
    file(`${cn}.csr`),
  ]);
  openssl([
    "x509",
    "-req",
    "-in",
    file(`${cn}.csr`),
    "-CA",
    file("ca.crt"),
    "-CAkey",
    file("ca.key"),
    "-days",
    "1",
    "-out",
    file(`${cn}.crt`),
  ]);
  return { cert: readFileSync(file(`${cn}.crt`), "utf8"), key: readFileSync(file(`${cn}.key`), "utf8") };
}

let server: Server;
let port = 0;
/** A server that trusts no CA: what it reads as the client's chain is what the client sent. */
let bare: Server;
let barePort = 0;
const sockets = new Set<Socket>();

before(async () => {
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file("ca.key")]);
  openssl([
    "req",
    "-x509",
    "-new",
    "-key",
    file("ca.key"),
    "-subj",
    "/CN=test-ca",
    "-days",
    "1",
    "-out",
    file("ca.crt"),
  ]);
  openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file("srv.key")]);
  openssl(["req", "-new", "-key", file("srv.key"), "-subj", "/CN=localhost", "-out", file("srv.csr")]);
  execFileSync("sh", ["-c", `printf 'subjectAltName=IP:127.0.0.1' > ${file("ext")}`]);
  openssl([
    "x509",
    "-req",
    "-in",
    file("srv.csr"),
    "-CA",
    file("ca.crt"),
    "-CAkey",
    file("ca.key"),
    "-days",
    "1",
    "-extfile",
    file("ext"),
    "-out",
    file("srv.crt"),
  ]);
  server = createServer(
    {
      cert: readFileSync(file("srv.crt")),
      key: readFileSync(file("srv.key")),
      ca: readFileSync(file("ca.crt")),
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      const peer = (req.socket as TLSSocket).getPeerCertificate();
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ cn: peer.subject?.CN ?? "" }));
    },
  );
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
  bare = createServer(
    {
      cert: readFileSync(file("srv.crt")),
      key: readFileSync(file("srv.key")),
      requestCert: true,
      rejectUnauthorized: false,
    },
    (req, res) => {
      res.setHeader("content-type", "application/json");
      res.end(JSON.stringify({ sent: sentChain(req.socket as TLSSocket) }));
    },
  );
  bare.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((r) => bare.listen(0, "127.0.0.1", r));
  barePort = (bare.address() as AddressInfo).port;
});

/** The subjects' CNs of the chain a client sent, leaf first (the server has no CA to add any). */
function sentChain(socket: TLSSocket): string[] {
  const chain: string[] = [];
  const seen = new Set<string>();
  for (
    let c = socket.getPeerCertificate(true);
    c?.raw && !seen.has(c.fingerprint256);
    c = c.issuerCertificate
  ) {
    seen.add(c.fingerprint256);
    chain.push(String(c.subject.CN ?? ""));
  }
  return chain;
}

after(() => {
  for (const s of sockets) s.destroy();
  server.close();
  bare.close();
});

/** Credentials of `node` for the server on `serverPort`, trusting the test CA. */
function accessTo(serverPort: number, node: { cert: string; key: string }): ClusterAccess {
  return {
    server: `https://127.0.0.1:${serverPort}`,
    ca: readFileSync(file("ca.crt"), "utf8"),
    ...node,
    insecureSkipTLSVerify: false,
    authorization: () => Promise.resolve(undefined),
    source: "test",
  };
}

/** The chain the bare server says it was sent, over a raw TLS socket opened with `options`. */
function chainSentWith(options: ConnectionOptions): Promise<string[]> {
  return new Promise<string[]>((resolve, reject) => {
    const s = connect({ host: "127.0.0.1", port: barePort, servername: "localhost", ...options });
    s.once("secureConnect", () => {
      if (!s.authorized) reject(new Error(`the server was not verified: ${String(s.authorizationError)}`));
      s.write("GET / HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n");
    });
    let body = "";
    s.on("data", (d: Buffer) => (body += d.toString()));
    s.once("end", () => resolve((JSON.parse(body.slice(body.indexOf("{"))) as { sent: string[] }).sent));
    s.once("error", reject);
  });
}

test("a client certificate goes out alone, as a kubelet sends it: OpenSSL does not add its CA", async () => {
  const node = clientCert("system:node:c");
  const access = accessTo(barePort, node);
  // What Node's TLS does with the certificate as given: the CA goes along (the API server then
  // verifies every request's chain through it). This is the behaviour withoutChainCompletion undoes.
  assert.deepEqual(await chainSentWith({ ca: access.ca, cert: node.cert, key: node.key }), [
    "system:node:c",
    "test-ca",
  ]);
  // Through the project's context (every client: KubeClient, H2Client, the engine's shared one),
  // the server still verified against the CA.
  assert.deepEqual(await chainSentWith({ secureContext: tlsContextOf(access) }), ["system:node:c"]);
  const client = new KubeClient(access);
  try {
    assert.deepEqual(await client.get("/chain"), { sent: ["system:node:c"] });
  } finally {
    await client.close();
  }
});

test("withoutChainCompletion: a lone certificate is its own chain; one with a chain, or not PEM, is left as it is", () => {
  const { cert } = clientCert("system:node:d");
  const block = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/.exec(cert)![0];
  assert.equal(withoutChainCompletion(cert), `${block}\n${block}\n`);
  assert.equal(withoutChainCompletion(Buffer.from(cert)), `${block}\n${block}\n`);
  const ca = readFileSync(file("ca.crt"), "utf8");
  assert.equal(withoutChainCompletion(cert + ca), cert + ca);
  const der = Buffer.from([0x30, 0x82, 0x01, 0x00]);
  assert.equal(withoutChainCompletion(der), der);
});

test("useClientCertificate: later requests present the new certificate on new connections", async () => {
  const first = clientCert("system:node:a");
  const second = clientCert("system:node:a-renewed");
  const client = new KubeClient(accessTo(port, first));
  try {
    assert.deepEqual(await client.get("/whoami"), { cn: "system:node:a" });
    await client.useClientCertificate(second.cert, second.key);
    assert.deepEqual(await client.get("/whoami"), { cn: "system:node:a-renewed" });
  } finally {
    await client.close();
  }
});
