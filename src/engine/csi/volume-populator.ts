/*
 * The kubelet's desired-state populator for one pod (volumemanager/populator `createVolumeSpec`):
 * it GETs each claim the pod mounts and the PV bound to it, checks both as the kubelet does and
 * finds the plugin that takes the PV; what it cannot use comes back as the kubelet's errors.
 */
import { isNotFound } from "../../client/api-error.ts";
import { describeError } from "../../kernel/errors.ts";
import type { NodeHandle } from "../node-handle.ts";
import type { CsiConfig } from "./csi-names.ts";
import {
  claimProblem,
  noPluginError,
  volumePlugin,
  volumeProblem,
  type ClaimView,
  type PodClaim,
  type VolumeView,
} from "./volume-decisions.ts";

/** One of the pod's volumes the populator could add: its PV and how the node takes it. */
export interface FoundVolume {
  /** The volume's name in the pod. */
  readonly name: string;
  readonly pv: VolumeView;
  /** The hollow driver's volume with attach required. */
  readonly attachable: boolean;
  /** A CSI driver that is not the fleet's (never registered on a hollow node). */
  readonly foreignDriver: string | undefined;
}

/** What the populator made of a pod's claims. */
export interface PopulateResult {
  readonly found: FoundVolume[];
  /** The kubelet's errors, and the volumes (names in the pod) they are about. */
  readonly errors: string[];
  readonly notProcessed: string[];
}

/** Reads the claims of pod `st` (namespace, name, uid) and their PVs on node `node`'s behalf. */
export async function readPodVolumes(
  node: NodeHandle,
  st: {
    readonly namespace: string;
    readonly name: string;
    readonly uid: string;
    readonly claims?: readonly PodClaim[] | undefined;
  },
  csi: Pick<CsiConfig, "driver" | "attachRequired">,
): Promise<PopulateResult> {
  const ns = st.namespace;
  const out: PopulateResult = { found: [], errors: [], notProcessed: [] };
  for (const c of st.claims ?? []) {
    const ref = { namespace: ns, claim: c.claim, ephemeral: c.ephemeral };
    const fail = (why: string): void => {
      out.notProcessed.push(c.volume);
      out.errors.push(why);
    };
    let claim: ClaimView;
    try {
      claim = await node.api<ClaimView>({
        method: "GET",
        path: `/api/v1/namespaces/${ns}/persistentvolumeclaims/${c.claim}`,
      });
    } catch (err) {
      fail(
        `error processing PVC ${ns}/${c.claim}: failed to fetch PVC from API server: ${goError(err, "persistentvolumeclaims", c.claim)}`,
      );
      continue;
    }
    const bad = claimProblem(claim, ref, st);
    if (bad) {
      fail(bad);
      continue;
    }
    const pvName = claim.spec.volumeName!;
    let pv: VolumeView;
    try {
      pv = await node.api<VolumeView>({ method: "GET", path: `/api/v1/persistentvolumes/${pvName}` });
    } catch (err) {
      fail(
        `error processing PVC ${ns}/${c.claim}: failed to fetch PV ${pvName} from API server: ${goError(err, "persistentvolumes", pvName)}`,
      );
      continue;
    }
    const badPv = volumeProblem(pv, ref, claim.metadata.uid);
    if (badPv) {
      fail(badPv);
      continue;
    }
    const plugin = volumePlugin(pv, csi);
    if (plugin.kind === "none") {
      fail(noPluginError(pvName));
      continue;
    }
    out.found.push({
      name: c.volume,
      pv,
      attachable: plugin.kind === "hollow" && plugin.attachable,
      foreignDriver: plugin.kind === "foreign" ? plugin.driver : undefined,
    });
  }
  return out;
}

/** How client-go words a failed GET (`persistentvolumeclaims "x" not found`). */
function goError(err: unknown, resource: string, name: string): string {
  return isNotFound(err) ? `${resource} "${name}" not found` : describeError(err);
}
