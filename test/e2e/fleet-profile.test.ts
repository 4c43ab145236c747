/**
 * `kubemark-cluster create --profile`, run as a user would against the real local control plane
 * (#17, #19): a bad profile fails before anything is made, naming the file, shape and field; a
 * good one gives the local fleet's nodes their shapes, is recorded in the fleet's ConfigMap, and
 * `scale` keeps it.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { adminClientFor, cli, testCluster } from "../harness.ts";
import { fleetNodes, ok, readyCount } from "../fleet-checks.ts";

const PROFILE = `
shapes:
  - { name: standard, weight: 1 }
  - name: gpu
    weight: 1
    labels: { accelerator: nvidia }
    usage: { cpu: 80% }
    pods: { sandbox-latency: 1s }
`;

test("create --profile: a bad one makes nothing; a good one shapes the nodes and scale keeps it", async () => {
  const c = testCluster();
  const client = await adminClientFor();
  const ns = "fleet-profile";
  const scope = ["--kubeconfig", c.kubeconfig, "-n", ns];
  const dir = await mkdtemp(join(tmpdir(), "fleet-profile-"));
  try {
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "shapes:\n  - { name: gpu, pods: { sandbox-latency: soon } }\n");
    const refused = await cli(["create", "2", "--profile", bad, ...scope]);
    assert.notEqual(refused.code, 0, "a bad profile fails");
    assert.match(
      refused.stderr,
      /profile bad\.yaml shape 1 \(gpu\) pods\.sandbox-latency must be a duration like 300ms/,
    );
    await assert.rejects(client.get(`/api/v1/namespaces/${ns}`), "nothing was made, not even the namespace");

    const good = join(dir, "fleet.yaml");
    await writeFile(good, PROFILE);
    ok(await cli(["create", "2", "--profile", good, ...scope]), "create 2 --profile");
    const shapes = async (): Promise<string[]> =>
      (await fleetNodes(client, ns))
        .map((n) => `${n.metadata.name}:${n.metadata.labels?.["kubemark-cluster.io/shape"] ?? "?"}`)
        .sort();
    assert.deepEqual(await shapes(), ["hollow-node-0:standard", "hollow-node-1:gpu"]);
    const gpu = (await fleetNodes(client, ns)).find((n) => n.metadata.name === "hollow-node-1");
    assert.equal(gpu?.metadata.labels?.["accelerator"], "nvidia");
    const cm = await client.get<{ data: Record<string, string> }>(
      `/api/v1/namespaces/${ns}/configmaps/hollow-node-fleet`,
    );
    assert.equal(cm.data["profile.yaml"], PROFILE, "recorded in the fleet's ConfigMap");

    ok(await cli(["scale", "4", ...scope]), "scale 4");
    const nodes = await fleetNodes(client, ns);
    assert.equal(readyCount(nodes), 4);
    assert.deepEqual(await shapes(), [
      "hollow-node-0:standard",
      "hollow-node-1:gpu",
      "hollow-node-2:standard",
      "hollow-node-3:gpu",
    ]);
  } finally {
    await cli(["cleanup", "--all", ...scope]);
    await client.close();
    await rm(dir, { recursive: true, force: true });
  }
});
