import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { KubeClient } from "../client/kube-client.ts";
import { certificateAccess } from "../client/kubeconfig.ts";
import type { ClusterLayout, ClusterRecord } from "./cluster-state.ts";

/** The admin client of a local cluster (client-certificate access, no kubeconfig parsing). */
export async function adminClient(layout: ClusterLayout, rec: ClusterRecord): Promise<KubeClient> {
  const f = (n: string): Promise<Buffer> => readFile(join(layout.pki, n));
  return new KubeClient(
    certificateAccess({
      server: `https://127.0.0.1:${rec.ports.apiserver}`,
      ca: await f("ca.crt"),
      cert: await f("admin.crt"),
      key: await f("admin.key"),
      source: `local cluster ${rec.name}`,
    }),
    { userAgent: "kubemark-cluster", connections: 1 },
  );
}
