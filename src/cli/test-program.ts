import { realClock } from "../kernel/clock.ts";
import { buildProgram } from "./main.ts";

/** The CLI's program for unit tests: no environment, state or cache, output dropped. */
export function testProgram(): ReturnType<typeof buildProgram> {
  return buildProgram(() => ({
    env: {},
    paths: { cacheDir: "/nonexistent/cache", stateDir: "/nonexistent/state" },
    clock: realClock,
    stdout: () => undefined,
    tty: false,
    signal: new AbortController().signal,
  }));
}
