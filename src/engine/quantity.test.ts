import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLabels, parseQuantity, parseResourceList, parseTaints } from "./quantity.ts";
import { BadInputError } from "../kernel/errors.ts";

/** Asserts that `fn` throws a BadInputError whose message contains every fragment. */
function rejects(fn: () => unknown, ...fragments: string[]): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BadInputError, `not a BadInputError: ${String(err)}`);
    assert.equal(err.code, "BAD_INPUT");
    for (const f of fragments)
      assert.ok(err.message.includes(f), `${JSON.stringify(err.message)} lacks ${JSON.stringify(f)}`);
    return true;
  });
}

test("parseQuantity accepts Kubernetes quantities and trims them", () => {
  const cases: Array<[string, string]> = [
    ["1", "1"],
    ["500m", "500m"],
    ["16Gi", "16Gi"],
    ["4026531840", "4026531840"],
    ["1.5", "1.5"],
    [".5", ".5"],
    ["2k", "2k"],
    ["64M", "64M"],
    ["1Ei", "1Ei"],
    ["1e3", "1e3"],
    ["+4", "+4"],
    [" 8Gi ", "8Gi"],
  ];
  for (const [input, want] of cases) assert.equal(parseQuantity(input, "--cpu"), want, input);
});

test("parseQuantity rejects what is not a quantity, naming the flag and the value", () => {
  const cases: Array<[string, string]> = [
    ["--memory", "lots"],
    ["--memory", "16GB"],
    ["--memory", "16 Gi"],
    ["--cpu", ""],
    ["--cpu", "-1"],
    ["--cpu", "1.2.3"],
    ["--ephemeral-storage", "Gi"],
    ["--cpu", "1gi"],
  ];
  for (const [flag, value] of cases) {
    rejects(() => parseQuantity(value, flag), `${flag} must be a Kubernetes quantity`, `got "${value}"`);
  }
});

test("parseResourceList reads name=quantity pairs", () => {
  const cases: Array<[string, Record<string, string>]> = [
    ["", {}],
    ["nvidia.com/gpu=8", { "nvidia.com/gpu": "8" }],
    ["nvidia.com/gpu=8, example.com/fpga=2", { "nvidia.com/gpu": "8", "example.com/fpga": "2" }],
    ["hugepages-2Mi=1Gi,", { "hugepages-2Mi": "1Gi" }],
  ];
  for (const [input, want] of cases)
    assert.deepEqual(parseResourceList(input, "--extended-resources"), want, input);
});

test("parseResourceList rejects bad pairs and bad quantities", () => {
  rejects(
    () => parseResourceList("nvidia.com/gpu", "--extended-resources"),
    "name=quantity",
    'got "nvidia.com/gpu"',
  );
  rejects(() => parseResourceList("=8", "--extended-resources"), 'got "=8"');
  rejects(() => parseResourceList("Nvidia.COM/gpu=8", "--extended-resources"), 'got "Nvidia.COM/gpu=8"');
  rejects(
    () => parseResourceList("nvidia.com/gpu=eight", "--extended-resources"),
    "--extended-resources nvidia.com/gpu must be a Kubernetes quantity",
    'got "eight"',
  );
});

test("parseLabels reads key=value labels", () => {
  const cases: Array<[string, Record<string, string>]> = [
    ["", {}],
    ["hollow-node=true", { "hollow-node": "true" }],
    ["a=1,b=2", { a: "1", b: "2" }],
    ["topology.kubernetes.io/zone=zone-a", { "topology.kubernetes.io/zone": "zone-a" }],
    ["empty=", { empty: "" }],
    ["bare", { bare: "" }],
    [" x=y , z=w ", { x: "y", z: "w" }],
  ];
  for (const [input, want] of cases) assert.deepEqual(parseLabels(input, "--node-labels"), want, input);
});

test("parseLabels rejects invalid keys and values, naming the flag and the label", () => {
  const bad = [
    "=v",
    "-a=b",
    "a=-b",
    "a=b c",
    "Example.COM/a=b",
    `a=${"x".repeat(64)}`,
    `${"k".repeat(64)}=v`,
  ];
  for (const label of bad)
    rejects(
      () => parseLabels(label, "--node-labels"),
      "--node-labels takes key=value labels",
      `got "${label}"`,
    );
});

test("parseTaints reads key=value:Effect and key:Effect", () => {
  assert.deepEqual(
    parseTaints(
      "nvidia.com/gpu=present:NoSchedule, spot:PreferNoSchedule,k=:NoExecute",
      "--register-with-taints",
    ),
    [
      { key: "nvidia.com/gpu", value: "present", effect: "NoSchedule" },
      { key: "spot", effect: "PreferNoSchedule" },
      { key: "k", effect: "NoExecute" },
    ],
  );
  assert.deepEqual(parseTaints("", "--register-with-taints"), []);
});

test("parseTaints rejects taints without a known effect or with a bad key", () => {
  const bad = [
    "dedicated=gpu",
    "dedicated=gpu:NoEvict",
    "dedicated=gpu:noschedule",
    ":NoSchedule",
    "-bad:NoSchedule",
    "k=v v:NoSchedule",
  ];
  for (const taint of bad) {
    rejects(
      () => parseTaints(taint, "--register-with-taints"),
      "--register-with-taints takes key=value:Effect taints",
      `got "${taint}"`,
    );
  }
});
