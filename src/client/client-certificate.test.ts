import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { after, before, test } from "node:test";
import { KubeClient } from "./kube-client.ts";

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
});

after(() => {
  for (const s of sockets) s.destroy();
  server.close();
});

test("useClientCertificate: later requests present the new certificate on new connections", async () => {
  const first = clientCert("system:node:a");
  const second = clientCert("system:node:a-renewed");
  const client = new KubeClient({
    server: `https://127.0.0.1:${port}`,
    ca: readFileSync(file("ca.crt"), "utf8"),
    ...first,
    insecureSkipTLSVerify: false,
    authorization: () => Promise.resolve(undefined),
    source: "test",
  });
  try {
    assert.deepEqual(await client.get("/whoami"), { cn: "system:node:a" });
    await client.useClientCertificate(second.cert, second.key);
    assert.deepEqual(await client.get("/whoami"), { cn: "system:node:a-renewed" });
  } finally {
    await client.close();
  }
});
