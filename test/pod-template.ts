/**
 * Runs a hollow-node StatefulSet's pod on this machine as a kubelet would start it (e2e tests of
 * in-cluster fleets, one cluster or two): its volumes as files, its environment resolved, its
 * command line. Moved from test/e2e/fleet-in-cluster.test.ts to be shared.
 */
import assert from "node:assert/strict";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { KubeClient } from "../src/client/kube-client.ts";
import { testCluster } from "./harness.ts";

/** The IP the materialised pod gets (its kubelet endpoints listen there). */
export const POD_IP = "127.0.0.1";

interface Container {
  command: string[];
  args: string[];
  workingDir: string;
  env: Array<{
    name: string;
    value?: string;
    valueFrom?: { fieldRef?: { fieldPath: string }; configMapKeyRef?: { name: string; key: string } };
  }>;
  volumeMounts: Array<{ name: string; mountPath: string }>;
}
interface Volume {
  name: string;
  configMap?: { name: string };
  secret?: { secretName: string; items?: Array<{ key: string; path: string }> };
  emptyDir?: object;
  projected?: {
    sources: Array<{
      serviceAccountToken?: { path: string; expirationSeconds?: number };
      configMap?: { name: string; items: Array<{ key: string; path: string }> };
    }>;
  };
}
export interface StatefulSetObj {
  spec: {
    replicas: number;
    template: {
      spec: {
        serviceAccountName: string;
        containers: Container[];
        volumes: Volume[];
        securityContext: { runAsNonRoot?: boolean };
      };
    };
  };
}

/**
 * Does what the kubelet would for pod `podName` of the StatefulSet: materialises its volumes as
 * files (ConfigMaps, Secrets, a TokenRequest'ed projected token) under a directory standing for
 * the container's filesystem, resolves its environment, and returns the command line to run there.
 */
export async function materialisePod(
  client: KubeClient,
  ns: string,
  sts: StatefulSetObj,
  podName: string,
  root: string,
): Promise<{ argv: string[]; env: Record<string, string>; cwd: string }> {
  const pod = sts.spec.template.spec;
  const container = pod.containers[0]!;
  const at = (mountPath: string): string => {
    assert.ok(mountPath.startsWith(container.workingDir), `${mountPath} is under the working directory`);
    return join(root, mountPath.slice(container.workingDir.length));
  };
  const configMap = (
    name: string,
  ): Promise<{ data?: Record<string, string>; binaryData?: Record<string, string> }> =>
    client.get(`/api/v1/namespaces/${ns}/configmaps/${name}`);
  for (const m of container.volumeMounts) {
    const v = pod.volumes.find((x) => x.name === m.name)!;
    const dir = at(m.mountPath);
    await mkdir(dir, { recursive: true });
    if (v.configMap) {
      const cm = await configMap(v.configMap.name);
      for (const [k, text] of Object.entries(cm.data ?? {})) await writeFile(join(dir, k), text);
      for (const [k, b64] of Object.entries(cm.binaryData ?? {}))
        await writeFile(join(dir, k), Buffer.from(b64, "base64"));
    } else if (v.secret) {
      // A Secret's keys (its items' when listed) as files readable by this user only, in the
      // pod's private directory (removed with it).
      const s = await client.get<{ data: Record<string, string> }>(
        `/api/v1/namespaces/${ns}/secrets/${v.secret.secretName}`,
      );
      const items = v.secret.items ?? Object.keys(s.data).map((key) => ({ key, path: key }));
      for (const item of items) {
        const b64 = s.data[item.key];
        assert.ok(b64 !== undefined, `secret/${v.secret.secretName} has key ${item.key}`);
        await writeFile(join(dir, item.path), Buffer.from(b64, "base64"), { mode: 0o600 });
      }
    } else if (v.projected) {
      for (const src of v.projected.sources) {
        if (src.serviceAccountToken) {
          const tr = await client.request<{ status: { token: string } }>({
            method: "POST",
            path: `/api/v1/namespaces/${ns}/serviceaccounts/${pod.serviceAccountName}/token`,
            body: {
              apiVersion: "authentication.k8s.io/v1",
              kind: "TokenRequest",
              spec: { expirationSeconds: src.serviceAccountToken.expirationSeconds ?? 3600 },
            },
          });
          await writeFile(join(dir, src.serviceAccountToken.path), tr.status.token);
        }
        if (src.configMap) {
          const cm = await configMap(src.configMap.name);
          for (const item of src.configMap.items)
            await writeFile(join(dir, item.path), cm.data?.[item.key] ?? "");
        }
      }
    }
  }
  const server = new URL(testCluster().server);
  const env: Record<string, string> = {
    // What the kubelet injects into every container.
    KUBERNETES_SERVICE_HOST: server.hostname,
    KUBERNETES_SERVICE_PORT: server.port,
  };
  for (const e of container.env) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === "metadata.name") env[e.name] = podName;
    // The pod runs on this machine, where servers stay on loopback: that is its IP here.
    else if (e.valueFrom?.fieldRef?.fieldPath === "status.podIP") env[e.name] = POD_IP;
    else if (e.valueFrom?.configMapKeyRef) {
      const cm = await configMap(e.valueFrom.configMapKeyRef.name);
      env[e.name] = cm.data?.[e.valueFrom.configMapKeyRef.key] ?? "";
    } else assert.fail(`unexpected env source for ${e.name}`);
  }
  const expand = (s: string): string => s.replace(/\$\(([A-Z_][A-Z0-9_]*)\)/g, (m, k: string) => env[k] ?? m);
  return { argv: [...container.command, ...container.args].map(expand), env, cwd: root };
}
