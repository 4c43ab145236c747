/*
 * What a request to a node's kubelet API asks for, as the kubelet's authorizer sees it
 * (pkg/kubelet/server/auth.go, `GetRequestAttributes`, with fine-grained authorization, GA in
 * v1.36): a verb from the HTTP method, the resource `nodes` named as the node, and the
 * subresources that may allow it, tried in order. Pure functions of the method, the path and the
 * node, table-tested.
 */

/** The user a request was authenticated as. */
export interface KubeletUser {
  readonly name: string;
  readonly uid?: string | undefined;
  readonly groups: readonly string[];
  readonly extra?: Readonly<Record<string, readonly string[]>> | undefined;
}

/** What one request asks of the node: `verb nodes/<subresource>` on `node`, any subresource allowing it. */
export interface RequestAttributes {
  /** `get`, `create`, `update`, `patch`, `delete`; "" for another method (as the kubelet: no verb). */
  readonly verb: string;
  readonly resource: "nodes";
  readonly node: string;
  /** Tried in order; the first one allowed lets the request through. */
  readonly subresources: readonly string[];
}

const VERBS: Readonly<Record<string, string>> = {
  POST: "create",
  GET: "get",
  PUT: "update",
  PATCH: "patch",
  DELETE: "delete",
};

/** `path` is `prefix` or below it (the kubelet's `isSubpath`: `/stats` and `/stats/summary` are under `/stats/`). */
export function isSubpath(path: string, prefix: string): boolean {
  const p = prefix.endsWith("/") ? prefix.slice(0, -1) : prefix;
  return path === p || (path.startsWith(p) && path[p.length] === "/");
}

/**
 * The kubelet's attributes of `method path` on node `node`: `/pods`, `/runningpods/` (pods),
 * `/healthz` (healthz), `/configz` (configz) and `/statusz` (statusz) may be allowed by their own
 * subresource or by `proxy`; `/stats/*` needs `stats`, `/metrics/*` `metrics`, `/logs/*` `log`,
 * `/checkpoint/*` `checkpoint`; everything else (`/containerLogs`, `/exec`, `/run`, ...) `proxy`.
 */
export function requestAttributes(method: string, path: string, node: string): RequestAttributes {
  const subresources: string[] = [];
  if (isSubpath(path, "/pods/")) subresources.push("pods");
  else if (isSubpath(path, "/healthz")) subresources.push("healthz");
  else if (isSubpath(path, "/configz")) subresources.push("configz");
  else if (isSubpath(path, "/statusz")) subresources.push("statusz");
  else if (isSubpath(path, "/runningpods/")) subresources.push("pods");
  if (isSubpath(path, "/stats/")) subresources.push("stats");
  else if (isSubpath(path, "/metrics")) subresources.push("metrics");
  else if (isSubpath(path, "/logs/")) subresources.push("log");
  else if (isSubpath(path, "/checkpoint/")) subresources.push("checkpoint");
  else subresources.push("proxy");
  return { verb: VERBS[method] ?? "", resource: "nodes", node, subresources };
}

/** The kubelet's 403 body: `Forbidden (user=..., verb=..., resource=nodes, subresource(s)=[pods proxy])`. */
export function forbiddenMessage(user: KubeletUser, a: RequestAttributes): string {
  return `Forbidden (user=${user.name}, verb=${a.verb}, resource=${a.resource}, subresource(s)=[${a.subresources.join(" ")}])\n`;
}

/** The kubelet's 500 body when a review could not be made. */
export function authorizationErrorMessage(
  user: KubeletUser,
  a: RequestAttributes,
  subresource: string,
): string {
  return `Authorization error (user=${user.name}, verb=${a.verb}, resource=${a.resource}, subresource=${subresource})`;
}

/**
 * The SubjectAccessReview spec the kubelet's webhook authorizer sends for one subresource (same
 * user, same question, same answer: the review cache keys answers by what varies in it).
 */
export function subjectAccessReviewSpec(
  user: KubeletUser,
  a: RequestAttributes,
  subresource: string,
): object {
  return {
    resourceAttributes: {
      namespace: "",
      verb: a.verb,
      group: "",
      version: "v1",
      resource: a.resource,
      subresource,
      name: a.node,
    },
    user: user.name,
    ...(user.uid ? { uid: user.uid } : {}),
    groups: [...user.groups],
    ...(user.extra && Object.keys(user.extra).length > 0 ? { extra: user.extra } : {}),
  };
}
