/**
 * A namespace being deleted. The namespace controller removes its contents and then the namespace,
 * seconds after the DELETE; meanwhile the API server refuses every new object in it (403, "being
 * terminated"). So `cleanup --all` waits for its namespace to go, as `kubectl delete namespace`
 * does, and `create`, `scale` and `setup` wait for a namespace still being deleted (a cleanup
 * just before, someone's kubectl) to go before they make it again.
 */
import type { KubeClient } from "../client/kube-client.ts";
import type { Clock } from "../kernel/clock.ts";
import { KubemarkError } from "../kernel/errors.ts";
import { waitUntil } from "../kernel/wait.ts";
import { getObject, objectPath } from "./apply.ts";

/**
 * How long a command waits for a namespace to be deleted, then says what holds it (`kubectl
 * delete` waits without a limit). Since v1.33 a namespace's pods go before its other objects, so
 * pods left on Nodes nobody runs any more hold it until the pod garbage collector takes them.
 */
export const NAMESPACE_DELETION_WAIT_MS = 120_000;

/** How often the namespace is read while it is being deleted (one small GET). */
const POLL_MS = 1_000;

interface NamespaceRead {
  readonly metadata: { readonly deletionTimestamp?: string };
  readonly status?: {
    readonly conditions?: readonly { readonly status?: string; readonly message?: string }[];
  };
}

/** What still holds a namespace's deletion, in the namespace controller's words (its true conditions). */
export function deletionHolders(ns: NamespaceRead): string | undefined {
  const messages = (ns.status?.conditions ?? [])
    .filter((c) => c.status === "True" && c.message)
    .map((c) => c.message ?? "");
  return messages.length > 0 ? messages.join("; ") : undefined;
}

/** How the namespace stood, or ended, when {@link awaitNamespaceDeletion} returned. */
export type NamespaceDeletion =
  /** It did not exist. */
  | { readonly state: "absent" }
  /** It exists and is not being deleted. */
  | { readonly state: "present" }
  /** It was being deleted, and is gone now. */
  | { readonly state: "gone"; readonly waitedMs: number }
  /** It is still being deleted after the wait; `holders` says by what, when the controller said. */
  | { readonly state: "terminating"; readonly waitedMs: number; readonly holders: string | undefined };

/**
 * Waits until namespace `ns` is gone when it is being deleted, reading it every second for up to
 * `timeoutMs` (default {@link NAMESPACE_DELETION_WAIT_MS}); `onWait` is called once, when a wait
 * begins. Returns at once when it does not exist or is not being deleted.
 */
export async function awaitNamespaceDeletion(
  client: KubeClient,
  ns: string,
  opts: {
    readonly clock: Clock;
    readonly signal?: AbortSignal | undefined;
    readonly timeoutMs?: number | undefined;
    readonly onWait?: (() => void) | undefined;
  },
): Promise<NamespaceDeletion> {
  const { clock } = opts;
  const started = clock.now();
  const path = objectPath("Namespace", ns);
  // The first read's errors (forbidden, unreachable) are the command's; the wait's are retried.
  let last = await getObject<NamespaceRead>(client, path);
  if (!last) return { state: "absent" };
  if (!last.metadata.deletionTimestamp) return { state: "present" };
  opts.onWait?.();
  try {
    await waitUntil(
      async () => {
        const obj = await getObject<NamespaceRead>(client, path);
        if (obj) last = obj;
        // Gone, or made again by someone meanwhile.
        return { done: !obj?.metadata.deletionTimestamp, status: "being deleted" };
      },
      {
        what: `namespace ${ns} to be deleted`,
        timeoutMs: opts.timeoutMs ?? NAMESPACE_DELETION_WAIT_MS,
        intervalMs: POLL_MS,
        clock,
        ...(opts.signal ? { signal: opts.signal } : {}),
      },
    );
  } catch (err) {
    if (!(err instanceof KubemarkError && err.code === "TIMEOUT")) throw err;
    return { state: "terminating", waitedMs: clock.now() - started, holders: deletionHolders(last) };
  }
  return { state: "gone", waitedMs: clock.now() - started };
}
