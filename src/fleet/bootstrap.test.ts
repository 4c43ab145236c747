import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BOOTSTRAP_GROUP,
  bootstrapTokenSecret,
  fleetCsrs,
  usableToken,
  newBootstrapToken,
  nodeBootstrapBindings,
  tokenText,
} from "./bootstrap.ts";

describe("node bootstrap objects (kubeadm's)", () => {
  it("a token has the authenticator's format", () => {
    for (let i = 0; i < 20; i++) assert.match(tokenText(newBootstrapToken()), /^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    assert.equal(tokenText(newBootstrapToken(() => 0)), "aaaaaa.aaaaaaaaaaaaaaaa");
  });
  it("the token Secret is what 'kubeadm token create' writes", () => {
    const s = bootstrapTokenSecret(
      { id: "abcdef", secret: "0123456789abcdef" },
      new Date(Date.UTC(2026, 11, 1)),
      "f1",
    ) as unknown as {
      metadata: { name: string; namespace: string };
      type: string;
      stringData: Record<string, string>;
    };
    assert.equal(s.metadata.name, "bootstrap-token-abcdef");
    assert.equal(s.metadata.namespace, "kube-system");
    assert.equal(s.type, "bootstrap.kubernetes.io/token");
    assert.equal(s.stringData["usage-bootstrap-authentication"], "true");
    assert.equal(s.stringData["auth-extra-groups"], BOOTSTRAP_GROUP);
    assert.equal(s.stringData["expiration"], "2026-12-01T00:00:00Z");
    assert.equal(s.stringData["token-secret"], "0123456789abcdef");
  });
  it("binds the bootstrappers to create and auto-approve CSRs, and nodes to renew", () => {
    const roles = nodeBootstrapBindings().map((b) => {
      const o = b as unknown as { roleRef: { name: string }; subjects: { name: string }[] };
      return `${o.subjects[0]!.name} -> ${o.roleRef.name}`;
    });
    assert.deepEqual(roles, [
      `${BOOTSTRAP_GROUP} -> system:node-bootstrapper`,
      `${BOOTSTRAP_GROUP} -> system:certificates.k8s.io:certificatesigningrequests:nodeclient`,
      "system:nodes -> system:certificates.k8s.io:certificatesigningrequests:selfnodeclient",
    ]);
  });
});

describe("a fleet's bootstrap token and CSRs", () => {
  const NOW = Date.UTC(2026, 11, 1);
  const b64 = (v: string): string => Buffer.from(v).toString("base64");
  const secret = (id: string, expiration?: string) => ({
    metadata: { name: `bootstrap-token-${id}` },
    data: {
      "token-id": b64(id),
      "token-secret": b64(`${id}secret0123456789`.slice(0, 16)),
      ...(expiration ? { expiration: b64(expiration) } : {}),
    },
  });
  it("re-uses the token valid longest when it has a day left, else none", () => {
    const day = 24 * 3600_000;
    const at = (ms: number): string => new Date(NOW + ms).toISOString();
    assert.equal(
      usableToken([secret("aaaaaa", at(2 * day)), secret("bbbbbb", at(5 * day))], NOW, day)?.id,
      "bbbbbb",
    );
    assert.equal(usableToken([secret("aaaaaa", at(day - 1))], NOW, day), undefined);
    assert.equal(usableToken([secret("cccccc")], NOW, day)?.id, "cccccc", "no expiration: never expires");
    assert.equal(usableToken([{ metadata: { name: "bootstrap-token-x" } }], NOW, day), undefined);
  });
  it("the fleet's CSRs: its bootstrap users' and its nodes' own, never another fleet's", () => {
    const csr = (name: string, username: string) => ({ metadata: { name }, spec: { username } });
    const mine = fleetCsrs(
      [
        csr("node-csr-1", "system:bootstrap:aaaaaa"),
        csr("node-csr-2", "system:bootstrap:zzzzzz"),
        csr("csr-renew", "system:node:hollow-node-1"),
        csr("csr-other", "system:node:other-node-1"),
        csr("csr-admin", "kubernetes-admin"),
      ],
      new Set(["system:bootstrap:aaaaaa"]),
      new Set(["hollow-node-0", "hollow-node-1"]),
    );
    assert.deepEqual(
      mine.map((c) => c.metadata.name),
      ["node-csr-1", "csr-renew"],
    );
  });
});
