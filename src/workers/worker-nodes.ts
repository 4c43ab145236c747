import type { WorkerNodes } from "../controlplane/worker-records.ts";
import { startWorkers } from "./start-workers.ts";
import { stopWorkers } from "./stop-workers.ts";

/** Real worker nodes as the control plane's `up` and `down` take them (the CLI passes this in). */
export const workerNodes: WorkerNodes = { start: startWorkers, stop: stopWorkers };
