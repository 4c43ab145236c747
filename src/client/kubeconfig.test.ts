import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadClusterAccess } from "./kubeconfig.ts";
import { KubemarkError } from "../kernel/errors.ts";

test("loadClusterAccess: a file that is no kubeconfig (a passwd file) is named as such", async () => {
  const dir = await mkdtemp(join(tmpdir(), "kc-"));
  try {
    const passwd = join(dir, "passwd");
    await writeFile(
      passwd,
      "root:x:0:0:root:/root:/bin/bash\ndaemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n",
    );
    await assert.rejects(
      loadClusterAccess({ kubeconfig: passwd, env: {} }),
      (err: unknown) =>
        err instanceof KubemarkError &&
        err.code === "KUBECONFIG" &&
        err.message === `${passwd} is not a kubeconfig (it has no clusters, contexts or users)` &&
        /--kubeconfig/.test(err.hint ?? ""),
    );
    // A kubeconfig whose context names no cluster it has still gets its own message.
    const noServer = join(dir, "no-server");
    await writeFile(
      noServer,
      JSON.stringify({
        apiVersion: "v1",
        kind: "Config",
        clusters: [],
        users: [{ name: "u", user: {} }],
        contexts: [{ name: "x", context: { cluster: "c", user: "u" } }],
        "current-context": "x",
      }),
    );
    await assert.rejects(loadClusterAccess({ kubeconfig: noServer, env: {} }), /names no cluster server/);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});
