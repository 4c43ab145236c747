/**
 * Helpers for tests of hollow nodes with their own identities (`--identity node`): the bootstrap
 * kubeconfig a token is handed over in, a client presenting a node's certificate from
 * `--cert-dir`, and a scan of the test cluster's audit log by user.
 */
import assert from "node:assert/strict";
import { createReadStream } from "node:fs";
import { readFile, writeFile } from "node:fs/promises";
import { createInterface } from "node:readline";
import { KubeClient } from "../src/client/kube-client.ts";
import { loadClusterAccess } from "../src/client/kubeconfig.ts";
import { loadCredential } from "../src/engine/identity/cert-store.ts";
import { targetKubeconfig } from "../src/fleet/objects.ts";
import { testCluster } from "./harness.ts";

/** Writes a kubeconfig (0600) for the test cluster with `token` as its user: a token is never argv. */
export async function writeBootstrapKubeconfig(file: string, token: string): Promise<string> {
  const access = await loadClusterAccess({ kubeconfig: testCluster().kubeconfig, env: process.env });
  await writeFile(
    file,
    targetKubeconfig({ server: access.server, caCrt: Buffer.from(access.ca ?? "").toString(), token }),
    {
      mode: 0o600,
    },
  );
  return file;
}

/** A client of the test cluster presenting node `name`'s certificate and key, read from `certDir`. */
export async function certDirClient(certDir: string, name: string): Promise<KubeClient> {
  const access = await loadClusterAccess({ kubeconfig: testCluster().kubeconfig, env: process.env });
  const cred = await loadCredential(certDir, name);
  assert.ok(cred, `${name} has a certificate in --cert-dir`);
  return new KubeClient(
    {
      ...access,
      cert: cred.certificatePem,
      key: cred.keyPem,
      authorization: () => Promise.resolve(undefined),
    },
    { userAgent: "it-node" },
  );
}

/** The fields of an audit event the scans read. */
export interface AuditLine {
  verb: string;
  user: { username: string };
  objectRef?: { resource?: string; subresource?: string; name?: string; apiGroup?: string };
  responseStatus?: { code?: number };
}

/**
 * What each user whose name starts with `userPrefix` did, from the audit log: user ->
 * "<verb> <resource>[/<subresource>]" -> how many times it succeeded (2xx); a refused or failed
 * request counts under the same key with its code after it ("get secrets 403"). Streams the file:
 * it grows with every test file of the run.
 */
export async function requestsByUser(
  auditLog: string,
  userPrefix: string,
): Promise<Map<string, Map<string, number>>> {
  const byUser = new Map<string, Map<string, number>>();
  const lines = createInterface({ input: createReadStream(auditLog) });
  for await (const line of lines) {
    if (!line.includes(userPrefix)) continue;
    const ev = JSON.parse(line) as AuditLine;
    const code = ev.responseStatus?.code ?? 0;
    if (!ev.user.username.startsWith(userPrefix) || !ev.objectRef?.resource) continue;
    const sub = ev.objectRef.subresource ? `/${ev.objectRef.subresource}` : "";
    const outcome = code >= 200 && code <= 299 ? "" : ` ${code}`;
    let counts = byUser.get(ev.user.username);
    if (!counts) byUser.set(ev.user.username, (counts = new Map<string, number>()));
    const key = `${ev.verb} ${ev.objectRef.resource}${sub}${outcome}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return byUser;
}

export interface Csr {
  metadata: { name: string };
  spec: { username?: string; signerName: string; usages: string[] };
  status?: { certificate?: string; conditions?: { type: string }[] };
}

/** The users whose creation of a Node named `<prefix>...` the audit log records as successful. */
export async function nodeCreators(auditLog: string, prefix: string): Promise<Set<string>> {
  const creators = new Set<string>();
  const text = await readFile(auditLog, "utf8");
  for (const line of text.split("\n")) {
    if (!line.includes(prefix) || !line.includes('"create"')) continue;
    const ev = JSON.parse(line) as {
      verb: string;
      user: { username: string };
      objectRef?: { resource?: string; name?: string; subresource?: string };
      responseStatus?: { code?: number };
    };
    if (
      ev.verb === "create" &&
      ev.objectRef?.resource === "nodes" &&
      ev.objectRef.name?.startsWith(prefix) !== false &&
      !ev.objectRef.subresource &&
      ev.responseStatus?.code === 201
    )
      creators.add(ev.user.username);
  }
  return creators;
}

/** The users starting with `userPrefix` whose creation of a core Event the audit log records as successful. */
export async function eventWriters(auditLog: string, userPrefix: string): Promise<Set<string>> {
  const writers = new Set<string>();
  for (const line of (await readFile(auditLog, "utf8")).split("\n")) {
    if (!line.includes(userPrefix) || !line.includes('"events"')) continue;
    const ev = JSON.parse(line) as {
      verb: string;
      user: { username: string };
      objectRef?: { resource?: string; apiGroup?: string };
      responseStatus?: { code?: number };
    };
    if (
      ev.verb === "create" &&
      ev.objectRef?.resource === "events" &&
      !ev.objectRef.apiGroup &&
      ev.responseStatus?.code === 201 &&
      ev.user.username.startsWith(userPrefix)
    )
      writers.add(ev.user.username);
  }
  return writers;
}
