/*
 * The Events the CSI sidecars record (Provisioning, ProvisioningFailed, Resizing, LeaderElection,
 * ...): core/v1 Events through client-go's correlator (aggregation, counts as PATCH, the spam
 * filter), as each sidecar's event broadcaster writes them. A controller's source has a
 * component and no host.
 */
import type { Logger } from "pino";
import { isAlreadyExists, isNotFound } from "../../client/api-error.ts";
import type { KubeRequest } from "../../client/kube-client.ts";
import type { Clock } from "../../kernel/clock.ts";
import { describeError } from "../../kernel/errors.ts";
import { EventCorrelator, type InvolvedObject } from "../event-correlator.ts";
import type { ObjectMeta } from "./storage-objects.ts";

/** The reference an Event makes to an object of `kind`. */
export function refTo(kind: string, apiVersion: string, m: ObjectMeta): InvolvedObject {
  return {
    kind,
    ...(m.namespace ? { namespace: m.namespace } : {}),
    name: m.name,
    uid: m.uid ?? "",
    apiVersion,
    ...(m.resourceVersion ? { resourceVersion: m.resourceVersion } : {}),
  };
}

/** Writes the controller's Events. */
export class ControllerEvents {
  private readonly correlator = new EventCorrelator();
  private readonly request: <T>(req: KubeRequest) => Promise<T>;
  private readonly clock: Clock;
  private readonly log: Logger;

  constructor(deps: { request: <T>(req: KubeRequest) => Promise<T>; clock: Clock; log: Logger }) {
    this.request = deps.request;
    this.clock = deps.clock;
    this.log = deps.log;
  }

  /** Records one event of `component` about `object` (written in the background). */
  record(
    component: string,
    object: InvolvedObject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
  ): void {
    const r = this.correlator.correlate(
      { involvedObject: object, type, reason, message, component, host: "" },
      this.clock.now(),
    );
    if (r.kind === "skip") return;
    const path = `/api/v1/namespaces/${r.namespace}/events`;
    const create = (): Promise<unknown> =>
      this.request({ method: "POST", path, body: r.body }).catch((err: unknown) => {
        if (!isAlreadyExists(err)) throw err;
      });
    const write =
      r.kind === "patch"
        ? this.request({
            method: "PATCH",
            path: `${path}/${r.name}`,
            patchType: "strategic",
            body: r.patch,
          }).catch((err: unknown) => {
            if (!isNotFound(err)) throw err;
            return create();
          })
        : create();
    write.catch((err: unknown) =>
      this.log.debug({ reason, err: describeError(err) }, "could not write an event"),
    );
  }
}
