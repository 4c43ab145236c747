/*
 * The CA that signs the client certificates the kubelet endpoints accept (the API server's
 * kubelet client certificate among them): the kubelet's `--client-ca-file`, else the client CA
 * the API server publishes for delegated authentication, `client-ca-file` of ConfigMap
 * kube-system/extension-apiserver-authentication (what an extension API server reads).
 */
import { readFile } from "node:fs/promises";
import type { Logger } from "pino";
import { KubeApiError } from "../../client/api-error.ts";
import type { KubeRequest } from "../../client/kube-client.ts";
import { BadInputError, KubemarkError, describeError } from "../../kernel/errors.ts";
import { EXTENSION_APISERVER_AUTHENTICATION } from "../preflight.ts";

const PEM_CERT = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/;

/**
 * The client CA bundle (PEM): from `file` when given, else from the API server. Undefined when the
 * API server publishes none (it runs without `--client-ca-file`): the endpoints then accept bearer
 * tokens only, which is logged.
 */
export async function loadClientCa(opts: {
  readonly file?: string | undefined;
  request<T>(req: KubeRequest): Promise<T>;
  readonly log: Logger;
}): Promise<string | undefined> {
  if (opts.file) {
    let text: string;
    try {
      text = await readFile(opts.file, "utf8");
    } catch (err) {
      throw new BadInputError(`cannot read --client-ca-file ${opts.file}: ${describeError(err)}`);
    }
    if (!PEM_CERT.test(text)) {
      throw new BadInputError(
        `--client-ca-file ${opts.file} holds no PEM certificate`,
        "give the cluster's client CA (ca.crt)",
      );
    }
    return text;
  }
  const path = `/api/v1/namespaces/kube-system/configmaps/${EXTENSION_APISERVER_AUTHENTICATION}`;
  let cm: { data?: Record<string, string> };
  try {
    cm = await opts.request<{ data?: Record<string, string> }>({ method: "GET", path });
  } catch (err) {
    if (err instanceof KubeApiError && err.status === 403) {
      throw new KubemarkError(
        "FORBIDDEN",
        `the engine's identity may not read ConfigMap kube-system/${EXTENSION_APISERVER_AUTHENTICATION} (the cluster's client CA, which the kubelet endpoints verify client certificates with)`,
        {
          hint: "bind it to the Role extension-apiserver-authentication-reader in kube-system ('kubemark-cluster create' does for its fleets), or pass --client-ca-file",
          cause: err,
        },
      );
    }
    if (!(err instanceof KubeApiError && err.status === 404)) throw err;
    cm = {};
  }
  const ca = cm.data?.["client-ca-file"];
  if (!ca || !PEM_CERT.test(ca)) {
    opts.log.warn(
      "the API server publishes no client CA (ConfigMap kube-system/%s has no client-ca-file): the kubelet endpoints accept bearer tokens only; pass --client-ca-file to accept client certificates",
      EXTENSION_APISERVER_AUTHENTICATION,
    );
    return undefined;
  }
  return ca;
}
