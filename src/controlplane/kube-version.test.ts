import { test } from "node:test";
import assert from "node:assert/strict";
import { parseKubeVersion } from "./kube-version.ts";
import { BadInputError } from "../kernel/errors.ts";

test("parseKubeVersion accepts releases with or without the v", () => {
  assert.deepEqual(parseKubeVersion("v1.36.3"), {
    git: "v1.36.3",
    major: 1,
    minor: 36,
    patch: 3,
    staging: "v0.36.3",
  });
  assert.equal(parseKubeVersion("1.31.0").git, "v1.31.0");
});

test("parseKubeVersion rejects anything else with the flag and value named", () => {
  for (const bad of ["banana", "v1.36", "v2.0.0", "v1.36.3-rc.0", ""]) {
    assert.throws(
      () => parseKubeVersion(bad),
      (err: unknown) => err instanceof BadInputError && err.message.includes(`"${bad}"`),
    );
  }
  assert.throws(() => parseKubeVersion("v1.20.0"), /too old/);
});
