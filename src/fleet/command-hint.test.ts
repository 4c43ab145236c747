import { test } from "node:test";
import assert from "node:assert/strict";
import { scopeFlags, suggestCommand } from "./command-hint.ts";

test("suggestCommand: a suggested command carries the kubeconfig, context and namespace the user gave", () => {
  assert.equal(suggestCommand({ namespace: "kubemark" }, "verify"), "kubemark-cluster verify");
  assert.equal(
    suggestCommand({ namespace: "rel", kubeconfig: "/k/rel a.yaml", context: "ctx" }, "create 20"),
    "kubemark-cluster create 20 --kubeconfig '/k/rel a.yaml' --context ctx -n rel",
  );
  assert.equal(
    scopeFlags({ namespace: "kubemark", targetKubeconfig: "t.kubeconfig", targetContext: "t" }),
    " --target-kubeconfig t.kubeconfig --target-context t",
  );
});
