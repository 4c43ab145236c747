/*
 * The field-by-field comparison of two kubelets' statuses for the same pod (a real kubelet's and
 * a hollow node's): each status is normalised (values that differ between any two runs, such as
 * times, addresses, container and volume ids, replaced by their shape), then the two are walked
 * side by side and every difference is returned as a path. Differences by design are allowed by
 * an allow-list that gives the reason for each. Pure: the end-to-end test captures the pods.
 */

/** One difference between two statuses, at `path` (`.conditions[type=Ready].reason`). */
export interface StatusDifference {
  readonly path: string;
  /** The value on each side after normalisation (undefined: absent). */
  readonly left: unknown;
  readonly right: unknown;
}

/** A difference that is there by design: paths matching `path`, and why. */
export interface AllowedDifference {
  readonly path: RegExp;
  readonly reason: string;
}

/** The outcome of a comparison: differences not explained, and those allowed (with the reason). */
export interface StatusComparison {
  readonly unexplained: readonly StatusDifference[];
  readonly allowed: readonly (StatusDifference & { readonly reason: string })[];
}

/**
 * What differs by design between a real kubelet on containerd and a hollow node, with the reason
 * (the end-to-end test test/e2e/pod-status-diff.test.ts and the unit test over its captures).
 */
export const REAL_KUBELET_DIFFERENCES: readonly AllowedDifference[] = [
  {
    path: /\.imageID$/,
    reason:
      "a hollow node has no image store: its image id is the image reference, as upstream kubemark's fake runtime reports it; containerd reports the image's digest",
  },
  {
    path: /^\.resources\.(limits|requests)(\.(cpu|memory))?$/,
    reason:
      "a real kubelet reads a pod's resources back from its pod cgroup (unlimited memory on cgroup v1 shows as 9007199254740988Ki, CPU limits at or below 10m are dropped, values read while the cgroup goes away are missing); a hollow node has no cgroups and reports the spec's (PodRequests, PodLimits), as a kubelet does for a pod that is not running",
  },
];

const TIME_KEYS = new Set(["lastTransitionTime", "lastProbeTime", "startTime", "startedAt", "finishedAt"]);
const IP_KEYS = new Set(["hostIP", "podIP", "ip"]);
const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const UID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g;

/** The shape of an image id: a digest, a reference by digest, or a reference by tag. */
function imageIdShape(v: string): string {
  if (/^sha256:[0-9a-f]{64}$/.test(v)) return "<digest>";
  const at = v.indexOf("@sha256:");
  if (at > 0) return `${v.slice(0, at)}@<digest>`;
  return v;
}

/** A container id `<runtime>://<id>`, whatever the runtime: its shape. */
function containerIdShape(v: string): string {
  return /^[A-Za-z][\w.+-]*:\/\/\S+$/.test(v) ? "<runtime>://<id>" : v;
}

function normaliseValue(key: string, v: unknown): unknown {
  if (typeof v !== "string") return v;
  if (TIME_KEYS.has(key) && RFC3339.test(v)) return "<time>";
  if (IP_KEYS.has(key)) return "<ip>";
  if (key === "containerID") return containerIdShape(v);
  if (key === "imageID") return imageIdShape(v);
  // The projected service-account token volume has a generated suffix per pod.
  if (key === "name" && /^kube-api-access-[a-z0-9]{5}$/.test(v)) return "kube-api-access-<id>";
  return v.replace(UID, "<uid>");
}

/**
 * A status with the values that differ between any two runs replaced by their shape: times
 * (`<time>`), node and pod addresses (`<ip>`), container ids (`<runtime>://<id>`), image
 * digests (`<digest>`), pod uids in messages (`<uid>`), the service-account volume's suffix.
 */
export function normaliseStatus(v: unknown, key = ""): unknown {
  if (Array.isArray(v)) return v.map((x) => normaliseStatus(x, key));
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = normaliseStatus(x, k);
    return out;
  }
  return normaliseValue(key, v);
}

/** The key list items are matched by, as the API merges them (conditions by type, ...). */
function itemKey(item: unknown): string | undefined {
  if (item === null || typeof item !== "object" || Array.isArray(item)) return undefined;
  const o = item as Record<string, unknown>;
  for (const k of ["type", "name", "mountPath"]) if (typeof o[k] === "string") return `${k}=${o[k]}`;
  return undefined;
}

function walk(a: unknown, b: unknown, path: string, out: StatusDifference[]): void {
  if (Array.isArray(a) && Array.isArray(b)) walkList(a as unknown[], b as unknown[], path, out);
  else walkScalarOrObject(a, b, path, out);
}

/** Two lists: items matched by their key where they all have one, else by position. */
function walkList(a: unknown[], b: unknown[], path: string, out: StatusDifference[]): void {
  const keyed = [...a, ...b].every((x) => itemKey(x) !== undefined);
  if (!keyed) {
    const n = Math.max(a.length, b.length);
    for (let i = 0; i < n; i++) walk(a[i], b[i], `${path}[${i}]`, out);
    return;
  }
  const ka = a.map(itemKey);
  const kb = b.map(itemKey);
  for (const k of new Set([...ka, ...kb])) walk(a[ka.indexOf(k)], b[kb.indexOf(k)], `${path}[${k!}]`, out);
  // The same items in another order is a difference of its own (conditions keep the kubelet's order).
  const common = ka.filter((k) => kb.includes(k));
  const order = kb.filter((k) => ka.includes(k));
  if (common.join() !== order.join()) out.push({ path: `${path}(order)`, left: common, right: order });
}

function walkScalarOrObject(a: unknown, b: unknown, path: string, out: StatusDifference[]): void {
  const isObj = (x: unknown): x is Record<string, unknown> =>
    x !== null && typeof x === "object" && !Array.isArray(x);
  if (isObj(a) && isObj(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], `${path}.${k}`, out);
    return;
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push({ path, left: a, right: b });
}

/** Every difference between two statuses after {@link normaliseStatus}, as paths. */
export function statusDifferences(left: unknown, right: unknown): StatusDifference[] {
  const out: StatusDifference[] = [];
  walk(normaliseStatus(left), normaliseStatus(right), "", out);
  return out;
}

/** Compares two statuses: the differences the allow-list explains, and those it does not. */
export function compareStatuses(
  left: unknown,
  right: unknown,
  allow: readonly AllowedDifference[],
): StatusComparison {
  const unexplained: StatusDifference[] = [];
  const allowed: (StatusDifference & { reason: string })[] = [];
  for (const d of statusDifferences(left, right)) {
    const a = allow.find((x) => x.path.test(d.path));
    if (a) allowed.push({ ...d, reason: a.reason });
    else unexplained.push(d);
  }
  return { unexplained, allowed };
}

/** One difference as a line: `path: left -> right`. */
export function describeDifference(d: StatusDifference): string {
  const show = (v: unknown): string => (v === undefined ? "(absent)" : JSON.stringify(v));
  return `${d.path}: ${show(d.left)} | ${show(d.right)}`;
}
