import { readFile } from "node:fs/promises";
import type { RequestOptions } from "node:https";
import { createSecureContext, type SecureContext } from "node:tls";
import { realClock, type Clock } from "../kernel/clock.ts";
import { KubemarkError, describeError } from "../kernel/errors.ts";

/**
 * How to reach and authenticate to one API server: what a kubeconfig context boils down to.
 * Secret material (keys, tokens) lives only here and is never logged.
 */
export interface ClusterAccess {
  /** `https://127.0.0.1:6443` (no trailing slash). */
  readonly server: string;
  readonly ca?: Buffer | string | undefined;
  readonly cert?: Buffer | string | undefined;
  readonly key?: Buffer | string | undefined;
  readonly insecureSkipTLSVerify: boolean;
  /** TLS server name override (`tls-server-name`). */
  readonly servername?: string | undefined;
  /** Current `Authorization` header value (bearer token, exec plugin, basic), if any. */
  readonly authorization: () => Promise<string | undefined>;
  /** Where this came from, for messages: `kubeconfig <path> context <name>`. */
  readonly source: string;
}

/**
 * The TLS context of `access`'s credentials (its CA, client certificate and key), to be shared by
 * every connection with them: a context per connection re-parses the CA and key into its own
 * OpenSSL store (~37 KB each, a megabyte at hundreds of connections).
 */
export function tlsContextOf(access: ClusterAccess): SecureContext {
  return createSecureContext({
    ...(access.ca ? { ca: access.ca } : {}),
    ...(access.cert ? { cert: withoutChainCompletion(access.cert) } : {}),
    ...(access.key ? { key: access.key } : {}),
  });
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g;

/**
 * A client certificate that goes out as a Go client (a kubelet) sends it: the certificate alone,
 * never completed with its CA. OpenSSL, under Node's TLS, completes a certificate that has no
 * chain of its own from the trust store (the `ca`), so every handshake carried the cluster's CA;
 * the API server verifies the client's chain on every request (its x509 authenticator, and the
 * front-proxy verifier first), and with the CA among the sent certificates each request cost it
 * three RSA verifications where a kubelet's costs one. A chain of the certificate itself stops
 * the completion (OpenSSL completes only a certificate without one); the API server finds no
 * issuer among it and verifies as for a kubelet. A certificate that brings its own chain
 * (intermediates) is sent as it is, as Go does.
 */
export function withoutChainCompletion(cert: Buffer | string): Buffer | string {
  const pem = typeof cert === "string" ? cert : cert.toString("latin1");
  const blocks = pem.match(PEM_CERTIFICATE);
  if (blocks?.length !== 1) return cert;
  return `${blocks[0]}\n${blocks[0]}\n`;
}

/** Options of {@link loadClusterAccess}. */
export interface LoadOptions {
  /** Path of the kubeconfig; when absent, `$KUBECONFIG`'s first entry, else `~/.kube/config`. */
  readonly kubeconfig?: string | undefined;
  readonly context?: string | undefined;
  readonly env: Readonly<Record<string, string | undefined>>;
  /** Ages the cached credentials (re-read once a minute); default the wall clock. */
  readonly clock?: Clock | undefined;
}

/** Which kubeconfig file a command uses, given the flag and the environment. */
export function kubeconfigPath(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
): string {
  if (flag) return flag;
  const fromEnv = env["KUBECONFIG"]?.split(":").find((p) => p !== "");
  if (fromEnv) return fromEnv;
  return `${env["HOME"] ?? ""}/.kube/config`;
}

/**
 * Loads a kubeconfig with `@kubernetes/client-node` (contexts, client certs, tokens, exec and auth
 * plugins) and returns the {@link ClusterAccess} of the chosen context. Errors name the file and
 * the fix.
 */
export async function loadClusterAccess(opts: LoadOptions): Promise<ClusterAccess> {
  const path = kubeconfigPath(opts.kubeconfig, opts.env);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === "ENOENT" ? "does not exist" : code === "EACCES" ? "is not readable" : describeError(err);
    throw new KubemarkError("KUBECONFIG", `kubeconfig ${path} ${why}`, {
      hint: "pass --kubeconfig PATH or set KUBECONFIG; for a local cluster run 'kubemark-cluster up'",
      cause: err,
    });
  }
  // Imported lazily: the client library is large and most commands start without it.
  const { KubeConfig } = await import("@kubernetes/client-node");
  const kc = new KubeConfig();
  try {
    kc.loadFromString(text);
    kc.makePathsAbsolute(path.replace(/\/[^/]*$/, "") || "/");
  } catch (err) {
    throw new KubemarkError("KUBECONFIG", `kubeconfig ${path} is not valid: ${describeError(err)}`, {
      hint: "check the file with 'kubectl config view --kubeconfig PATH'",
      cause: err,
    });
  }
  // Any YAML loads (a scalar gives an empty config): a file with no cluster, context or user is
  // some other file, not a kubeconfig whose context lacks a server.
  if (kc.getClusters().length + kc.getContexts().length + kc.getUsers().length === 0) {
    throw new KubemarkError(
      "KUBECONFIG",
      `${path} is not a kubeconfig (it has no clusters, contexts or users)`,
      {
        hint: 'pass --kubeconfig with a kubeconfig file (for a local cluster: "$(kubemark-cluster kubeconfig)")',
      },
    );
  }
  if (opts.context) {
    if (!kc.getContextObject(opts.context)) {
      throw new KubemarkError("KUBECONFIG", `kubeconfig ${path} has no context "${opts.context}"`, {
        hint: `contexts there: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(", ") || "none"
        }`,
      });
    }
    kc.setCurrentContext(opts.context);
  }
  const cluster = kc.getCurrentCluster();
  if (!cluster?.server) {
    throw new KubemarkError(
      "KUBECONFIG",
      `kubeconfig ${path} names no cluster server for its current context`,
      {
        hint: "pass --context NAME or fix current-context in the file",
      },
    );
  }
  const first: RequestOptions = {};
  try {
    await kc.applyToHTTPSOptions(first);
  } catch (err) {
    throw new KubemarkError(
      "KUBECONFIG",
      `cannot use the credentials in kubeconfig ${path}: ${describeError(err)}`,
      {
        cause: err,
      },
    );
  }
  const headerOf = (o: RequestOptions): string | undefined => {
    const h = o.headers as Record<string, string | undefined> | undefined;
    if (h?.["Authorization"]) return h["Authorization"];
    if (o.auth) return `Basic ${Buffer.from(o.auth).toString("base64")}`;
    return undefined;
  };
  // Exec plugins and token files can rotate credentials; re-read them at most once a minute.
  const clock = opts.clock ?? realClock;
  let cached = headerOf(first);
  let cachedAt = clock.now();
  const authorization = async (): Promise<string | undefined> => {
    if (clock.now() - cachedAt > 60_000) {
      const o: RequestOptions = {};
      await kc.applyToHTTPSOptions(o);
      cached = headerOf(o);
      cachedAt = clock.now();
    }
    return cached;
  };
  return {
    server: cluster.server.replace(/\/+$/, ""),
    ca: first.ca as Buffer | string | undefined,
    cert: first.cert as Buffer | string | undefined,
    key: first.key as Buffer | string | undefined,
    insecureSkipTLSVerify: cluster.skipTLSVerify === true,
    servername: cluster.tlsServerName,
    authorization,
    source: `kubeconfig ${path}${opts.context ? ` context ${opts.context}` : ""}`,
  };
}

/** A {@link ClusterAccess} from client-certificate material already in hand (local clusters). */
export function certificateAccess(init: {
  server: string;
  ca: Buffer | string;
  cert: Buffer | string;
  key: Buffer | string;
  source: string;
}): ClusterAccess {
  return {
    server: init.server.replace(/\/+$/, ""),
    ca: init.ca,
    cert: init.cert,
    key: init.key,
    insecureSkipTLSVerify: false,
    authorization: () => Promise.resolve(undefined),
    source: init.source,
  };
}

/**
 * In-cluster access as a pod has it: the CA and ServiceAccount token from files in `dir`
 * (`ca.crt`, `token`), and the API server from `dir/server` when that file exists (credentials for
 * another cluster), else at `$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT`. The token is
 * re-read once a minute (by `clock`), since the kubelet rotates projected tokens.
 */
export async function serviceAccountAccess(
  dir: string,
  env: Readonly<Record<string, string | undefined>>,
  clock: Clock = realClock,
): Promise<ClusterAccess> {
  const read = async (name: string): Promise<string> => {
    try {
      return await readFile(`${dir}/${name}`, "utf8");
    } catch (err) {
      throw new KubemarkError("KUBECONFIG", `cannot read ${dir}/${name}: ${describeError(err)}`, {
        hint: "mount the ServiceAccount token and CA there (a projected volume or a Secret)",
        cause: err,
      });
    }
  };
  let server = (await readFile(`${dir}/server`, "utf8").catch(() => "")).trim();
  if (!server) {
    const host = env["KUBERNETES_SERVICE_HOST"];
    const port = env["KUBERNETES_SERVICE_PORT"];
    if (!host || !port) {
      throw new KubemarkError(
        "KUBECONFIG",
        `--credentials-dir ${dir} has no server file, and KUBERNETES_SERVICE_HOST/PORT (set in every pod) are not set`,
        { hint: "outside a pod, use --kubeconfig" },
      );
    }
    server = `https://${host.includes(":") ? `[${host}]` : host}:${port}`;
  }
  const ca = await read("ca.crt");
  let token = (await read("token")).trim();
  let readAt = clock.now();
  return {
    server: server.replace(/\/+$/, ""),
    ca,
    insecureSkipTLSVerify: false,
    authorization: async () => {
      if (clock.now() - readAt > 60_000) {
        token = (await read("token").catch(() => token)).trim();
        readAt = clock.now();
      }
      return `Bearer ${token}`;
    },
    source: `credentials in ${dir}`,
  };
}
