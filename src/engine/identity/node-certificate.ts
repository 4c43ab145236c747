import { isAlreadyExists } from "../../client/api-error.ts";
import type {
  KubeRequest,
  WatchEvent,
  WatchStreamHandle,
  WatchStreamHandlers,
} from "../../client/kube-client.ts";
import type { Clock } from "../../kernel/clock.ts";
import { KubemarkError } from "../../kernel/errors.ts";
import {
  csrOutcome,
  isCompatible,
  notIssuedError,
  readIssued,
  refusedError,
  type CsrOutcome,
  type CsrRead,
  type IssuedCertificate,
} from "./csr-outcome.ts";
import { CSR_PATH, bootstrapCsrName, csrObject, nodeCertificateRequest, type NodeKey } from "./node-csr.ts";

/*
 * One node's certificate request, as the kubelet makes it (bootstrap.go requestNodeCertificate,
 * client-go csr.RequestCertificate and WaitForCertificate): create the CSR (a first request under
 * its digested name, reusing one of that name that carries our key; renewals under csr-<random>),
 * then list and watch it by name until it is issued, denied or failed, or the deadline passes.
 */

/** What the request needs of the API: the bootstrap (or current) credential's client. */
export interface CsrApi {
  request<T>(req: KubeRequest): Promise<T>;
  watchStream(path: string, query: KubeRequest["query"], handlers: WatchStreamHandlers): WatchStreamHandle;
}

/** Options of {@link requestNodeCertificate}. */
export interface CertificateRequestOptions {
  readonly clock: Clock;
  /** How long to wait for approval and signing (the kubelet's bootstrap waits an hour; renewals 15 min). */
  readonly deadlineMs: number;
  /** The bootstrap's digested name (true) or a renewal's csr-<random> (false). */
  readonly bootstrapName: boolean;
  /** spec.expirationSeconds; undefined = the signer's default, as the kubelet asks. */
  readonly expirationSeconds?: number | undefined;
}

/** A certificate issued for a node's key. */
export interface NodeCertificate extends IssuedCertificate {
  readonly certificatePem: string;
  readonly csrName: string;
}

/** Requests a client certificate for `node`'s key and waits for it (see the file comment). */
export async function requestNodeCertificate(
  api: CsrApi,
  node: string,
  key: NodeKey,
  opts: CertificateRequestOptions,
): Promise<NodeCertificate> {
  const name = opts.bootstrapName ? bootstrapCsrName(node, key.publicKeyDer) : undefined;
  const body = csrObject(nodeCertificateRequest(node, key), {
    name,
    expirationSeconds: opts.expirationSeconds,
  });
  let created: CsrRead;
  try {
    created = await api.request<CsrRead>({ method: "POST", path: CSR_PATH, body });
  } catch (err) {
    if (!(name && isAlreadyExists(err))) throw csrError(node, "create", err);
    // A restart that kept the key: the request of this name is ours if it carries our key.
    created = await api.request<CsrRead>({ method: "GET", path: `${CSR_PATH}/${name}` });
    if (!isCompatible(created, key.publicKeyDer)) {
      throw new KubemarkError(
        "CONFLICT",
        `node ${node}: CertificateSigningRequest ${name} exists but was not made with this node's key`,
        { hint: `delete it ('kubectl delete csr ${name}') and start again` },
      );
    }
  }
  const issued = await waitForCertificate(api, node, created, opts);
  return { ...readIssued(issued, key.publicKeyDer), certificatePem: issued, csrName: created.metadata.name };
}

function csrError(node: string, what: string, err: unknown): unknown {
  if (err instanceof KubemarkError && (err.code === "FORBIDDEN" || err.code === "UNAUTHORIZED")) {
    return new KubemarkError(
      err.code,
      `node ${node}: cannot ${what} a CertificateSigningRequest: ${err.message}`,
      {
        hint: "the bootstrap identity needs ClusterRole system:node-bootstrapper (create, get, list, watch certificatesigningrequests): bind it to group system:bootstrappers or to the ServiceAccount used",
        cause: err,
      },
    );
  }
  return err;
}

/**
 * Lists the CSR by name, then watches it from that list's resourceVersion; a watch that ends is
 * followed by a new list and watch, until an answer or the deadline.
 */
function waitForCertificate(
  api: CsrApi,
  node: string,
  created: CsrRead,
  opts: CertificateRequestOptions,
): Promise<string> {
  const { name, uid } = created.metadata;
  const query = { fieldSelector: `metadata.name=${name}` };
  const started = opts.clock.now();
  let last: CsrOutcome["kind"] = csrOutcome(created).kind;
  return new Promise<string>((resolve, reject) => {
    let done = false;
    let stream: WatchStreamHandle | undefined;
    const finish = (err: unknown, cert?: string): void => {
      if (done) return;
      done = true;
      cancelDeadline();
      stream?.cancel();
      if (cert !== undefined) resolve(cert);
      else reject(err instanceof Error ? err : new Error(String(err)));
    };
    const cancelDeadline = opts.clock.setTimer(opts.deadlineMs, () =>
      finish(notIssuedError(node, name, last, opts.clock.now() - started)),
    );
    /** True when the wait is over. */
    const look = (csr: CsrRead | undefined): boolean => {
      if (!csr) {
        finish(new KubemarkError("NOT_FOUND", `node ${node}: CertificateSigningRequest ${name} was deleted`));
        return true;
      }
      if (uid && csr.metadata.uid && csr.metadata.uid !== uid) {
        finish(new KubemarkError("CONFLICT", `node ${node}: CertificateSigningRequest ${name} changed UIDs`));
        return true;
      }
      const outcome = csrOutcome(csr);
      last = outcome.kind;
      if (outcome.kind === "issued") finish(undefined, outcome.certificatePem);
      else if (outcome.kind === "denied" || outcome.kind === "failed")
        finish(refusedError(node, name, outcome));
      else return false;
      return true;
    };
    const listAndWatch = async (): Promise<void> => {
      if (done) return;
      let list: { metadata: { resourceVersion?: string }; items: CsrRead[] };
      try {
        list = await api.request({ method: "GET", path: CSR_PATH, query });
      } catch (err) {
        finish(csrError(node, "list", err));
        return;
      }
      if (done || look(list.items[0])) return;
      stream = api.watchStream(
        CSR_PATH,
        { ...query, resourceVersion: list.metadata.resourceVersion },
        {
          onEvent: (ev: WatchEvent<unknown>) => {
            if (done) return;
            if (ev.type === "DELETED") look(undefined);
            else if (ev.type === "ADDED" || ev.type === "MODIFIED") look(ev.object as CsrRead);
          },
          onEnd: () => {
            // A closed or failed watch (err or not): list and watch again after a pause, as the
            // wait's informer would.
            if (done) return;
            opts.clock.setTimer(1_000, () => void listAndWatch());
          },
        },
      );
    };
    if (!look(created)) void listAndWatch();
  });
}
