/** `create N` / `scale N`: the fleet's spec from the flags and the fleet as recorded, then a dry run or the change. */
import { KubemarkError } from "../../kernel/errors.ts";
import { chooseIdentity, probeNodeAuthorizer } from "../node-identity.ts";
import type { KubeObject } from "../objects.ts";
import { readFleet, type Session } from "../session.ts";
import type { StorageOutcome } from "../storage.ts";
import type { FleetIdentity, FleetSpec } from "../spec.ts";
import { desiredSpec, versionSkewWarnings, type SpecRequest } from "./desired-spec.ts";
import { dryRunFleet } from "./dry-run.ts";
import { scaleFleet, type ScaleOptions } from "./scale.ts";

/** Options of {@link createFleet}. */
export interface CreateOptions extends SpecRequest, ScaleOptions {
  /** `server`: the API server validates and admits every object without storing it; `client`: only print. */
  readonly dryRun?: "server" | "client" | undefined;
  /** Start kubelets newer than the API server although the version skew policy forbids it. */
  readonly force?: boolean | undefined;
  /**
   * `--identity`: undefined = the fleet's, else for a new fleet `node` where the target runs the
   * Node authorizer and `shared` elsewhere (node-identity.ts).
   */
  readonly identity?: FleetIdentity | undefined;
}

/** What `create`/`scale` did. */
export interface CreateResult {
  readonly spec: FleetSpec;
  readonly action: "created" | "scaled" | "unchanged" | "updated" | "dry-run";
  readonly ready: number;
  readonly removedNodes: number;
  readonly seconds: number;
  /** The fleet's CSI driver and StorageClass as applied (undefined: none, or nothing changed). */
  readonly storage?: StorageOutcome | undefined;
  /** Objects of a dry run. */
  readonly objects?: KubeObject[];
  /** What the user should know although it did not stop the command (version skew). */
  readonly warnings: string[];
}

/**
 * `create N` / `scale N`: sets the fleet up if needed, starts or scales its engine (local
 * processes or a StatefulSet), removes Nodes it no longer backs, and waits until exactly N are
 * Ready. The same N again changes nothing. `scale` needs an existing fleet.
 */
export async function createFleet(s: Session, opts: CreateOptions): Promise<CreateResult> {
  const { clock, onEvent } = s.deps;
  const started = clock.now();
  const existing = await readFleet(s);
  if (opts.verb === "scale" && !existing) {
    throw new KubemarkError(
      "NOT_FOUND",
      `no hollow-node fleet in namespace ${s.namespace} of ${s.hosting.access.server}`,
      {
        hint: `create one with '${s.suggest(`create ${opts.nodes}`)}'`,
      },
    );
  }
  if (existing && existing.targetServer !== s.target.access.server) {
    throw new KubemarkError(
      "CONFLICT",
      `the fleet in namespace ${s.namespace} registers into ${existing.targetServer}, not ${s.target.access.server}`,
      {
        hint: `pass the same --target-kubeconfig as at create, or run '${s.suggest("cleanup")}' first`,
      },
    );
  }
  const asked = desiredSpec(s, opts, existing);
  // Bad input (a kubelet newer than the API server) is refused before anything is asked or said.
  const warnings = versionSkewWarnings(s, asked, opts.force === true);
  // A new hollow-node fleet not told `--identity shared` asks the target whether it runs the Node
  // authorizer (node-identity.ts): node identities where it does.
  const probe =
    !existing && asked.engine === "hollow-node" && asked.traffic === "kubelet" && opts.identity !== "shared"
      ? await probeNodeAuthorizer(s.target.client)
      : undefined;
  const choice = chooseIdentity({
    requested: opts.identity,
    recorded: existing,
    engine: asked.engine,
    traffic: asked.traffic,
    nodeAuthorizer: probe,
    server: s.target.access.server,
    cleanup: s.suggest("cleanup"),
  });
  if (choice.why) onEvent({ kind: "step", message: choice.why });
  // A fleet recorded before --identity existed keeps a spec without it (shared).
  const spec: FleetSpec =
    existing && existing.identity === undefined ? asked : { ...asked, identity: choice.identity };
  const runtime = s.runtime(spec.mode);
  for (const message of warnings) onEvent({ kind: "warning", message });
  const seconds = (): number => Math.round((clock.now() - started) / 100) / 10;
  if (opts.dryRun) {
    const objects = await dryRunFleet(s, runtime, spec, opts.dryRun);
    return { spec, action: "dry-run", ready: 0, removedNodes: 0, seconds: seconds(), objects, warnings };
  }
  const outcome = await scaleFleet(s, runtime, spec, existing, opts);
  return { spec, ...outcome, seconds: seconds(), warnings };
}
