/** What the tests that run real workers (`up --workers`: a kubelet and containerd) need of the machine. */
import { stat } from "node:fs/promises";
import { missingWorkerTools } from "../src/workers/host.ts";

/** Why real workers cannot run here (the test is skipped with it), or undefined when they can. */
export async function workerSkipReason(): Promise<string | undefined> {
  if (process.platform !== "linux") return "real workers need Linux";
  if (process.getuid?.() !== 0)
    return "real workers need root (a kubelet and containerd make mounts and cgroups)";
  const missing = await missingWorkerTools(process.env);
  const apt = await stat("/usr/bin/apt-get").then(
    () => true,
    () => false,
  );
  if (missing.length > 0 && !apt) return `no ${missing.join(", ")} and no apt-get to install them`;
  return undefined;
}
