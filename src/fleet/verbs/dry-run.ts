/** `create --dry-run`: every object a fleet consists of, validated by the API server or only printed. */
import { KubemarkError, describeError } from "../../kernel/errors.ts";
import { applyObject, namespaceExists, refOf } from "../apply.ts";
import type { FleetContext } from "../context.ts";
import { fleetIdentityObjects } from "../node-identity.ts";
import { identityObjects, namespaceObject, type KubeObject } from "../objects.ts";
import type { FleetRuntime } from "../runtime/runtime.ts";
import type { FleetSpec } from "../spec.ts";
import { plannedStorage } from "../storage.ts";

/** An object of a fleet and the cluster it goes to. */
export interface PlannedObject {
  readonly cluster: "hosting" | "target";
  readonly obj: KubeObject;
}

/**
 * Every object a fleet consists of and the cluster it goes to. The two-cluster Secret is left
 * out: it holds a token only a real setup obtains.
 */
export async function plannedObjects(
  s: FleetContext,
  runtime: FleetRuntime,
  spec: FleetSpec,
): Promise<PlannedObject[]> {
  const out: PlannedObject[] = [];
  const hosting = (obj: KubeObject): number => out.push({ cluster: "hosting", obj });
  const target = (obj: KubeObject): number => out.push({ cluster: "target", obj });
  hosting(namespaceObject(spec));
  if (s.twoCluster) target(namespaceObject(spec));
  const identity = fleetIdentityObjects(spec, runtime.needsToken || s.twoCluster);
  for (const obj of identity) (s.twoCluster ? target : hosting)(obj);
  if (s.twoCluster) hosting(identityObjects(spec, false)[0]!);
  for (const obj of (await plannedStorage(s, spec))?.objects ?? []) target(obj);
  for (const obj of await runtime.plannedObjects(spec)) hosting(obj);
  return out;
}

/**
 * The objects of a dry run; `server` has the API server validate and admit each one without
 * storing it (the namespace must exist for that).
 */
export async function dryRunFleet(
  s: FleetContext,
  runtime: FleetRuntime,
  spec: FleetSpec,
  mode: "server" | "client",
): Promise<KubeObject[]> {
  const planned = await plannedObjects(s, runtime, spec);
  if (mode === "server") {
    if (!(await namespaceExists(s.hosting.client, s.namespace))) {
      throw new KubemarkError(
        "NOT_FOUND",
        `namespace ${s.namespace} does not exist, so its objects cannot be dry-run`,
        {
          hint: `run '${s.suggest("setup")}' first (it makes only the namespace and the hollow nodes' identity)`,
        },
      );
    }
    for (const { cluster, obj } of planned) {
      try {
        await applyObject(cluster === "target" ? s.target.client : s.hosting.client, obj, true);
      } catch (err) {
        throw new KubemarkError("API_ERROR", `the API server refused ${refOf(obj)}: ${describeError(err)}`, {
          cause: err,
        });
      }
    }
  }
  return planned.map((p) => p.obj);
}
