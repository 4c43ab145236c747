import { readFile, writeFile } from "node:fs/promises";
import { stringify } from "yaml";

/** Renders a single-context kubeconfig with the certificates embedded (it works from any directory). */
export async function renderKubeconfig(init: {
  clusterName: string;
  userName: string;
  server: string;
  caFile: string;
  certFile: string;
  keyFile: string;
}): Promise<string> {
  const b64 = async (f: string): Promise<string> => (await readFile(f)).toString("base64");
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name: init.clusterName,
        cluster: { server: init.server, "certificate-authority-data": await b64(init.caFile) },
      },
    ],
    users: [
      {
        name: init.userName,
        user: {
          "client-certificate-data": await b64(init.certFile),
          "client-key-data": await b64(init.keyFile),
        },
      },
    ],
    contexts: [{ name: init.clusterName, context: { cluster: init.clusterName, user: init.userName } }],
    "current-context": init.clusterName,
  });
}

/** Writes a kubeconfig readable only by its owner (it holds a private key). */
export async function writeKubeconfig(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
}
