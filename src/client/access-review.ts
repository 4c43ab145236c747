import type { KubeClient } from "./kube-client.ts";

/** Attributes of one SelfSubjectAccessReview (a verb on a resource, optionally namespaced). */
export interface AccessAttributes {
  readonly verb: string;
  readonly resource: string;
  readonly group?: string;
  readonly subresource?: string;
  readonly namespace?: string;
  /** One object by name (`resourceNames` in RBAC). */
  readonly name?: string;
}

/** Asks the API server whether the client's identity may do `a` (SelfSubjectAccessReview). */
export async function mayI(client: KubeClient, a: AccessAttributes): Promise<boolean> {
  const review = await client.request<{ status?: { allowed?: boolean } }>({
    method: "POST",
    path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    body: {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: { resourceAttributes: { ...a, group: a.group ?? "" } },
    },
  });
  return review.status?.allowed === true;
}

/**
 * Asks the API server whether `user` in `groups` may do `a` (SubjectAccessReview; the asking
 * identity needs create on subjectaccessreviews, a 403 otherwise).
 */
export async function mayUser(
  client: KubeClient,
  user: string,
  groups: readonly string[],
  a: AccessAttributes,
): Promise<boolean> {
  const review = await client.request<{ status?: { allowed?: boolean } }>({
    method: "POST",
    path: "/apis/authorization.k8s.io/v1/subjectaccessreviews",
    body: {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SubjectAccessReview",
      spec: { user, groups, resourceAttributes: { ...a, group: a.group ?? "" } },
    },
  });
  return review.status?.allowed === true;
}

/** `verb resource.group/subresource in namespace`, for messages naming a missing permission. */
export function describeAccess(a: AccessAttributes): string {
  const res = `${a.group ? `${a.resource}.${a.group}` : a.resource}${a.subresource ? `/${a.subresource}` : ""}`;
  return `${a.verb} ${res}${a.namespace ? ` in ${a.namespace}` : ""}`;
}
