import { existsSync } from "node:fs";
import { workerInfos } from "../controlplane/worker-records.ts";
import { KubeClient } from "../client/kube-client.ts";
import { kubeconfigPath, loadClusterAccess, type ClusterAccess } from "../client/kubeconfig.ts";
import { KubeApiError } from "../client/api-error.ts";
import { NO_RETRY } from "../client/retry.ts";
import {
  DEFAULT_CLUSTER_NAME,
  clusterLayout,
  listClusterNames,
  nameFlag,
  readRecord,
  validateClusterName,
} from "../controlplane/cluster-state.ts";
import { KubemarkError } from "../kernel/errors.ts";
import { isDaemonAlive } from "../host/daemon.ts";
import { tlsFailureOf, type TlsFailure } from "../client/tls-failure.ts";

/** One cluster the CLI talks to: how it was reached and a client for it. */
export interface Endpoint {
  readonly access: ClusterAccess;
  readonly client: KubeClient;
  /** The kubeconfig file it came from (for suggested commands). */
  readonly kubeconfig: string;
  /** Name of the project's local control plane this is, if it is one. */
  readonly localCluster: string | undefined;
  /** Running real workers of that local cluster (`up --workers`): pods can run there. */
  readonly localWorkers: number;
  /** The API server's version (`v1.36.3`). */
  readonly version: string;
}

/** Flags that name a cluster, as kubectl's. */
export interface ClusterFlags {
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
}

/**
 * Which kubeconfig a command uses: `--kubeconfig`, else `$KUBECONFIG`, else `~/.kube/config` when
 * it exists, else the running local control plane of `kubemark-cluster up`. Throws with the fix
 * when none of them exists.
 */
export async function chooseKubeconfig(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  stateDir: string,
): Promise<string> {
  if (flag || env["KUBECONFIG"]) return kubeconfigPath(flag, env);
  const home = kubeconfigPath(undefined, env);
  if (existsSync(home)) return home;
  const layout = clusterLayout(stateDir, DEFAULT_CLUSTER_NAME);
  if (await readRecord(layout)) return layout.kubeconfig;
  throw new KubemarkError("KUBECONFIG", `no kubeconfig: ${home} does not exist and no local cluster runs`, {
    hint: "pass --kubeconfig PATH, set KUBECONFIG, or start a local control plane with 'kubemark-cluster up'",
  });
}

/** Name of the local cluster whose API server is `server`, if any. */
async function localClusterAt(server: string, stateDir: string): Promise<string | undefined> {
  for (const name of await listClusterNames(stateDir)) {
    const rec = await readRecord(clusterLayout(stateDir, validateClusterName(name)));
    if (!rec) continue;
    const port = rec.ports.apiserver;
    if (server === `https://127.0.0.1:${port}` || server === `https://localhost:${port}`) return name;
  }
  return undefined;
}

/** Whether a local cluster's kube-apiserver process runs (for "cannot reach" messages). */
async function localApiserverState(stateDir: string, name: string): Promise<string> {
  const rec = await readRecord(clusterLayout(stateDir, name));
  const d = rec?.processes["kube-apiserver"];
  return d !== undefined && isDaemonAlive(d) ? "runs but does not answer" : "is not running";
}

/** The error for a server certificate the kubeconfig does not accept: what it is, and the fix. */
function tlsError(
  tls: TlsFailure,
  what: string,
  flag: string,
  access: ClusterAccess,
  local: string | undefined,
  cause: unknown,
): KubemarkError {
  const why = `${tls.code}: ${tls.detail}`;
  if (tls.kind === "untrusted") {
    const ca =
      access.ca === undefined
        ? "the kubeconfig names no certificate-authority and the system's CAs did not sign the server's certificate"
        : "the kubeconfig's certificate-authority does not match the server's CA";
    return new KubemarkError(
      "TLS",
      `${what} at ${access.server} presented a certificate that ${access.source} does not trust (${why}): ${ca}`,
      {
        hint:
          local !== undefined
            ? `the local cluster "${local}" at that address has another CA than this kubeconfig (it was recreated?): pass ${flag} "$(kubemark-cluster kubeconfig${nameFlag(local)})"`
            : `put the CA that signed the server's certificate in the kubeconfig's certificate-authority-data (get a current kubeconfig for the cluster), or pass another ${flag}`,
        cause,
      },
    );
  }
  if (tls.kind === "expired") {
    return new KubemarkError(
      "TLS",
      `${what} at ${access.server} presented a certificate outside its validity period (${why})`,
      {
        hint: "renew the API server's certificate, or check this machine's clock",
        cause,
      },
    );
  }
  return new KubemarkError(
    "TLS",
    `${what} at ${access.server} presented a certificate that does not name that address (${why})`,
    {
      hint: `use a server address the certificate names, or set tls-server-name in the kubeconfig (${access.source})`,
      cause,
    },
  );
}

/**
 * Loads the kubeconfig, checks that the server answers (one quick attempt, so an unreachable
 * cluster fails in seconds with the fix named) and returns the endpoint.
 */
export async function connect(
  flags: ClusterFlags,
  env: Readonly<Record<string, string | undefined>>,
  stateDir: string,
  role: "hosting" | "target" = "hosting",
): Promise<Endpoint> {
  const kubeconfig = await chooseKubeconfig(flags.kubeconfig, env, stateDir);
  const access = await loadClusterAccess({ kubeconfig, context: flags.context, env });
  const client = new KubeClient(access, { userAgent: "kubemark-cluster", connections: 2 });
  let version: string;
  try {
    const v = await client.request<{ gitVersion?: string }>({
      method: "GET",
      path: "/version",
      retry: NO_RETRY,
      timeoutMs: 10_000,
    });
    version = v.gitVersion ?? "unknown";
  } catch (err) {
    await client.close();
    const what = role === "target" ? "the target cluster" : "the cluster";
    const flag = `--${role === "target" ? "target-" : ""}kubeconfig`;
    const tls = tlsFailureOf(err);
    if (tls) throw tlsError(tls, what, flag, access, await localClusterAt(access.server, stateDir), err);
    if (err instanceof KubeApiError && err.status === 0) {
      const local = await localClusterAt(access.server, stateDir);
      const apiserver = local === undefined ? undefined : await localApiserverState(stateDir, local);
      throw new KubemarkError(
        "UNREACHABLE",
        `cannot reach ${what} at ${access.server} (${access.source})${local === undefined ? "" : `: the local cluster "${local}"'s kube-apiserver ${apiserver}`}`,
        {
          hint:
            local !== undefined
              ? `start it again with 'kubemark-cluster up${nameFlag(local)}' (see 'kubemark-cluster status${nameFlag(local)}'), then run this command again`
              : `check the server address and network, or pass another ${flag}`,
          cause: err,
        },
      );
    }
    if (err instanceof KubeApiError && err.status === 401) {
      throw new KubemarkError(
        "UNAUTHORIZED",
        `${what} at ${access.server} does not accept the credentials in ${access.source}`,
        {
          hint: "refresh the kubeconfig's credentials",
          cause: err,
        },
      );
    }
    throw err;
  }
  const localCluster = await localClusterAt(access.server, stateDir);
  const localWorkers = localCluster
    ? (await workerInfos(clusterLayout(stateDir, localCluster))).filter((w) => w.running).length
    : 0;
  return { access, client, kubeconfig, localCluster, localWorkers, version };
}
