import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, readFile, readdir, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BadInputError, KubemarkError } from "../kernel/errors.ts";
import {
  MAX_PROFILE_BYTES,
  localProfilePath,
  profileDigest,
  readFleetProfile,
  writeLocalProfile,
  type FleetProfile,
} from "./fleet-profile.ts";
import { localFleetLayout, shardArgs } from "./local-runner.ts";
import { fleetConfigMap, type KubeObject } from "./objects.ts";
import { readFleet } from "./session.ts";
import type { FleetSpec } from "./spec.ts";
import { fakeFleet } from "./testdata/fake-fleet.ts";
import { inClusterSpec } from "./testdata/fleet-spec.ts";
import { createFleet } from "./verbs/create.ts";
import { statefulSet } from "./workload-objects.ts";

const PROFILE: FleetProfile = {
  file: "fleet.yaml",
  text: "usage: {cpu: 20%}\nshapes:\n  - {name: standard, weight: 4}\n  - {name: gpu, usage: {cpu: 80%}}\n",
};

const spec: FleetSpec = { ...inClusterSpec, profile: PROFILE };

/** Asserts that `p` rejects with a BadInputError whose message (and hint) contain each fragment. */
async function rejects(p: Promise<unknown>, ...fragments: string[]): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof BadInputError, String(err));
    const text = `${err.message} (${err.hint ?? ""})`;
    for (const f of fragments)
      assert.ok(text.includes(f), `${JSON.stringify(text)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

test("readFleetProfile reads and checks the file before anything is made; bad ones are named with the fix", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kubemark-profile-"));
  try {
    const good = join(dir, "fleet.yaml");
    await writeFile(good, PROFILE.text);
    assert.deepEqual(await readFleetProfile(good), PROFILE);
    await rejects(
      readFleetProfile(join(dir, "nope.yaml")),
      "cannot read --profile",
      "(ENOENT)",
      "YAML fleet profile",
    );
    const bad = join(dir, "bad.yaml");
    await writeFile(bad, "shapes:\n  - {name: gpu, pods: {sandbox-latency: fast}}\n");
    await rejects(
      readFleetProfile(bad),
      "profile bad.yaml shape 1 (gpu) pods.sandbox-latency must be a duration like 300ms or a range like 250ms-350ms",
    );
    await writeFile(bad, "shapes:\n  - {name: gpu, usage: {cpu: hot}}\n");
    await rejects(readFleetProfile(bad), 'profile bad.yaml shape 1 (gpu) usage cpu "hot" is not a usage');
    await writeFile(bad, `shapes: [{name: a}]\n#${"x".repeat(MAX_PROFILE_BYTES)}\n`);
    await rejects(
      readFleetProfile(bad),
      "--profile bad.yaml is 257 KiB; at most 256 KiB fits in the fleet's ConfigMap",
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("in-cluster: the profile ships in the fleet's ConfigMap, mounted into the pods, and a change rolls them", () => {
  const cm = fleetConfigMap(spec) as KubeObject & { data: Record<string, string> };
  assert.equal(cm.data["profile.yaml"], PROFILE.text);
  assert.deepEqual((JSON.parse(cm.data["spec.json"]!) as FleetSpec).profile, PROFILE, "recorded in the spec");
  type Sts = {
    spec: {
      template: {
        metadata: { annotations: Record<string, string> };
        spec: {
          containers: { args: string[]; volumeMounts: { name: string; mountPath: string }[] }[];
          volumes: { name: string; configMap?: unknown }[];
        };
      };
    };
  };
  const sts = statefulSet(spec, { engineHash: "e" }) as unknown as Sts;
  const pod = sts.spec.template.spec;
  assert.ok(pod.containers[0]!.args.includes("--profile=profile/profile.yaml"));
  assert.deepEqual(
    pod.volumes.find((v) => v.name === "profile"),
    {
      name: "profile",
      configMap: { name: "hollow-node-fleet", items: [{ key: "profile.yaml", path: "profile.yaml" }] },
    },
  );
  assert.deepEqual(
    pod.containers[0]!.volumeMounts.find((m) => m.name === "profile"),
    { name: "profile", mountPath: "/hollow/profile", readOnly: true },
  );
  const digest = sts.spec.template.metadata.annotations["kubemark-cluster.io/profile-sha256"];
  assert.equal(digest, profileDigest(PROFILE));
  const changed = statefulSet(
    { ...spec, profile: { ...PROFILE, text: `${PROFILE.text}# v2\n` } },
    {
      engineHash: "e",
    },
  ) as unknown as Sts;
  assert.notEqual(changed.spec.template.metadata.annotations["kubemark-cluster.io/profile-sha256"], digest);
  // Without a profile: none of it.
  const { profile: _, ...plain } = spec;
  const none = statefulSet(plain, { engineHash: "e" }) as unknown as Sts;
  assert.ok(!none.spec.template.spec.containers[0]!.args.some((a) => a.startsWith("--profile")));
  assert.ok(!none.spec.template.spec.volumes.some((v) => v.name === "profile"));
  assert.equal(none.spec.template.metadata.annotations["kubemark-cluster.io/profile-sha256"], undefined);
  assert.equal(
    (fleetConfigMap(plain) as unknown as { data: Record<string, string> }).data["profile.yaml"],
    undefined,
  );
});

test("local: each process reads the copy in the fleet's directory; a changed profile is a new file, so new args", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kubemark-profile-"));
  try {
    const layout = localFleetLayout(dir, "https://127.0.0.1:6443", "kubemark");
    const local = { ...spec, mode: "local" as const };
    const path = localProfilePath(layout.dir, PROFILE);
    assert.ok(shardArgs(local, layout, 0, 11000).includes(`--profile=${path}`));
    const v2 = { ...PROFILE, text: `${PROFILE.text}# v2\n` };
    assert.ok(
      shardArgs({ ...local, profile: v2 }, layout, 0, 11000).includes(
        `--profile=${localProfilePath(layout.dir, v2)}`,
      ),
    );
    assert.notEqual(localProfilePath(layout.dir, v2), path);
    const { profile: _, ...plain } = local;
    assert.ok(!shardArgs(plain, layout, 0, 11000).some((a) => a.startsWith("--profile")));
    // The copy: written 0600, the earlier one removed, none left once the fleet has no profile.
    await writeLocalProfile(dir, PROFILE);
    assert.equal(await readFile(localProfilePath(dir, PROFILE), "utf8"), PROFILE.text);
    assert.equal((await stat(localProfilePath(dir, PROFILE))).mode & 0o777, 0o600);
    await writeLocalProfile(dir, v2);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith("profile-")),
      [`profile-${profileDigest(v2)}.yaml`],
    );
    await writeLocalProfile(dir, undefined);
    assert.deepEqual(
      (await readdir(dir)).filter((n) => n.startsWith("profile-")),
      [],
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("create --profile records it in the FleetSpec; scale and a later create without it keep it; kubemark refuses it", async () => {
  const f = fakeFleet();
  const base = { verb: "create" as const, wait: true, timeoutMs: 60_000, stallMs: 30_000 };
  const created = await createFleet(f.session, { ...base, nodes: 2, profile: PROFILE });
  assert.deepEqual(created.spec.profile, PROFILE);
  assert.deepEqual((await readFleet(f.session))?.profile, PROFILE);
  const scaled = await createFleet(f.session, { ...base, verb: "scale", nodes: 3 });
  assert.deepEqual(scaled.spec.profile, PROFILE, "scale keeps the profile");
  const again = await createFleet(f.session, { ...base, nodes: 3 });
  assert.deepEqual(again.spec.profile, PROFILE, "create without --profile keeps it");
  const v2 = { ...PROFILE, text: `${PROFILE.text}# v2\n` };
  const changed = await createFleet(f.session, { ...base, nodes: 3, profile: v2 });
  assert.deepEqual(changed.spec.profile, v2, "a new --profile replaces it");
  const k = fakeFleet("other");
  await assert.rejects(
    createFleet(k.session, {
      ...base,
      nodes: 2,
      mode: "in-cluster",
      engine: "kubemark",
      image: "registry.example.com/kubemark:v1.36.3",
      profile: PROFILE,
    }),
    (err: unknown) =>
      err instanceof KubemarkError &&
      err.message ===
        "--profile is for the hollow-node engine: upstream kubemark's kubelet takes no fleet profile",
  );
  assert.equal(await readFleet(k.session), undefined, "nothing was made");
});
