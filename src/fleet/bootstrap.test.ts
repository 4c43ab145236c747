import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  BOOTSTRAP_GROUP,
  bootstrapTokenSecret,
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
