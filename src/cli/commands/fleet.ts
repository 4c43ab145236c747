import type { Command } from "commander";
import type { CliContext } from "../context.ts";
import { registerCleanup } from "./fleet/cleanup.ts";
import { registerCreate } from "./fleet/create.ts";
import { registerList } from "./fleet/list.ts";
import { registerLogs } from "./fleet/logs.ts";
import { registerSetup } from "./fleet/setup.ts";
import { registerVerify } from "./fleet/verify.ts";

/** `setup`, `create`, `scale`, `verify`, `list`, `logs`, `cleanup`: the hollow-node fleet verbs. */
export function registerFleet(program: Command, ctx: () => CliContext): void {
  registerSetup(program, ctx);
  registerCreate(program, ctx);
  registerVerify(program, ctx);
  registerList(program, ctx);
  registerLogs(program, ctx);
  registerCleanup(program, ctx);
}
