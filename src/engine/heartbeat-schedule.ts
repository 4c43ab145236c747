/*
 * When a hollow node's heartbeats are due: pure functions of the config, the time and a random
 * draw, shared by its Lease heartbeat and its status reporter. Both are the kubelet's
 * `JitterUntil(..., 0.04, sliding=true)` loops: the next run is due one jittered period after
 * this one finished.
 */
import type { EngineConfig } from "./config.ts";

/** A period with the kubelet's jitter: `ms` stretched by up to `jitter` (0.04: +4 %), `r` in [0, 1). */
export function jittered(ms: number, jitter: number, r: number): number {
  return ms * (1 + jitter * r);
}

/** The Lease renewal period: a quarter of the lease duration (the kubelet's 10 s of 40 s), jittered. */
export function renewIntervalMs(
  cfg: Pick<EngineConfig, "leaseDurationSeconds" | "jitter">,
  r: number,
): number {
  return jittered((cfg.leaseDurationSeconds * 1000) / 4, cfg.jitter, r);
}

/** Whether a loop whose next run is due at `dueAt` runs at `now`. */
export function isDue(now: number, dueAt: number): boolean {
  return now >= dueAt;
}

/** How late a run that was due at `dueAt` starts at `now` (never negative). */
export function lateness(now: number, dueAt: number): number {
  return Math.max(0, now - dueAt);
}
