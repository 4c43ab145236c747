/** `logs [NODE]`: a node's log (or every engine's) wherever it runs. */
import { KubemarkError } from "../../kernel/errors.ts";
import { readFleet, type Session } from "../session.ts";
import { nodeIndex } from "../spec.ts";

/** `logs [NODE]`: the last `tail` lines of a node's log, or of every engine's. */
export async function fleetLogs(s: Session, node: string | undefined, tail: number): Promise<string> {
  const spec = await readFleet(s);
  if (!spec) {
    throw new KubemarkError("NOT_FOUND", `no hollow-node fleet in namespace ${s.namespace}`, {
      hint: `run '${s.suggest("list")}' to see what exists`,
    });
  }
  if (node === undefined) return s.runtime(spec.mode).logs(spec, undefined, tail);
  const index = nodeIndex(node, spec.namePrefix);
  if (index === undefined || index >= spec.nodes) {
    throw new KubemarkError(
      "NOT_FOUND",
      `${node} is not a node of fleet ${s.fleet} (${spec.namePrefix}-0 .. ${spec.namePrefix}-${spec.nodes - 1})`,
      {
        hint: `'${s.suggest("list -o wide")}' lists its nodes`,
      },
    );
  }
  return s.runtime(spec.mode).logs(spec, { name: node, index }, tail);
}
