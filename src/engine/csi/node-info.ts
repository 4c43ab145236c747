/*
 * The CSI node-info manager's work when the hollow driver registers on a node (kubelet v1.36
 * pkg/volume/csi/nodeinfomanager `InstallCSIDriver`): the Node gets the driver's node ID in its
 * `csi.volume.kubernetes.io/nodeid` annotation and the topology label (GET, then a strategic-merge
 * PATCH of nodes/<name>/status when either is missing), then the CSINode lists the driver (GET,
 * POST when there is none, PUT when the driver's entry is missing or differs).
 */
import { isNotFound } from "../../client/api-error.ts";
import { CSI_NODE, NODE, protoOf } from "../../client/protobuf-types.ts";
import { nodePath } from "../../kernel/k8s.ts";
import type { NodeHandle } from "../node-handle.ts";
import { renderCsiNode } from "../node-object.ts";
import type { CsiConfig } from "./csi-names.ts";
import { csiNodeDriver, driversWith, nodeInfoPatch } from "./volume-decisions.ts";

/** A CSINode as read back. */
interface CsiNodeRead {
  metadata: { name: string; resourceVersion?: string };
  spec?: { drivers?: { name: string; nodeID?: string; topologyKeys?: string[] | null }[] | null };
}

/** The CSINode's path for node `name`. */
export function csiNodePath(name: string): string {
  return `/apis/storage.k8s.io/v1/csinodes/${name}`;
}

/** Registers the fleet's driver on the node's Node and CSINode, writing only what is missing. */
export async function installCsiDriver(node: NodeHandle, csi: CsiConfig): Promise<void> {
  const name = node.id.name;
  const pb = node.ctx.cfg.leaseContentType === "protobuf";
  const current = await node.api<{
    metadata: { labels?: Record<string, string>; annotations?: Record<string, string> };
  }>({ method: "GET", path: nodePath(name), ...protoOf(pb, NODE) });
  const patch = nodeInfoPatch(current.metadata, csi.driver, name);
  if (patch) {
    await node.api({
      method: "PATCH",
      path: `${nodePath(name)}/status`,
      patchType: "strategic",
      body: { metadata: patch },
      ...protoOf(pb, NODE),
    });
  }
  const path = csiNodePath(name);
  let csiNode: CsiNodeRead;
  try {
    csiNode = await node.api<CsiNodeRead>({ method: "GET", path, ...protoOf(pb, CSI_NODE) });
  } catch (err) {
    if (!isNotFound(err)) throw err;
    csiNode = await node.api<CsiNodeRead>({
      method: "POST",
      path: "/apis/storage.k8s.io/v1/csinodes",
      body: renderCsiNode(name, node.uid),
      ...protoOf(pb, CSI_NODE),
    });
  }
  const drivers = driversWith(csiNode.spec?.drivers, csiNodeDriver(csi, name));
  if (drivers)
    await node.api({
      method: "PUT",
      path,
      body: { ...csiNode, spec: { ...csiNode.spec, drivers } },
      ...protoOf(pb, CSI_NODE),
    });
}
