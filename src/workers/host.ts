/**
 * Host plumbing for real worker nodes: prerequisites, network devices, cgroups, mounts and
 * processes, each undone exactly (a worker's teardown leaves nothing behind).
 */
import { mkdir, readFile, readdir, readlink, rm, rmdir, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { KubemarkError } from "../kernel/errors.ts";
import { findOnPath } from "../host/executables.ts";
import { lastLines, runCommand } from "../host/run-command.ts";
import type { Clock } from "../kernel/clock.ts";

/** Debian packages that provide what a worker runs. */
export const WORKER_PACKAGES = ["containerd", "runc", "containernetworking-plugins"] as const;
/** Where Debian's containernetworking-plugins puts the CNI plugins. */
export const CNI_BIN_DIR = "/usr/lib/cni";

/** What is missing for real workers on this machine (empty when nothing is). */
export async function missingWorkerTools(env: NodeJS.ProcessEnv): Promise<string[]> {
  const missing: string[] = [];
  for (const t of ["containerd", "containerd-shim-runc-v2", "runc", "ctr", "ip", "mount", "umount"]) {
    if (!(await findOnPath(t, env))) missing.push(t);
  }
  for (const p of ["bridge", "host-local", "loopback"]) {
    if (
      !(await stat(join(CNI_BIN_DIR, p)).then(
        () => true,
        () => false,
      ))
    )
      missing.push(`${CNI_BIN_DIR}/${p}`);
  }
  return missing;
}

/**
 * Checks that real workers can run here (Linux, root) and installs containerd, runc and the CNI
 * plugins from the distribution when they are missing and apt-get exists.
 */
export async function ensureWorkerPrerequisites(
  env: NodeJS.ProcessEnv,
  onStep: (message: string) => void,
): Promise<void> {
  if (process.platform !== "linux") {
    throw new KubemarkError("BAD_INPUT", "--workers needs Linux (real kubelets run containers with runc)", {
      hint: "run without --workers: hollow nodes then run as local processes",
      exitCode: 2,
    });
  }
  if (process.getuid?.() !== 0) {
    throw new KubemarkError(
      "BAD_INPUT",
      "--workers needs root: a kubelet and containerd make mounts, cgroups and network devices",
      {
        hint: "run it as root (the whole cluster then belongs to root), or leave --workers out",
        exitCode: 2,
      },
    );
  }
  let missing = await missingWorkerTools(env);
  if (missing.length === 0) return;
  if (!(await findOnPath("apt-get", env))) {
    throw new KubemarkError("MISSING_TOOL", `real workers need ${missing.join(", ")}`, {
      hint: `install containerd (1.6 or later), runc and the CNI plugins (bridge, host-local, loopback in ${CNI_BIN_DIR})`,
    });
  }
  onStep(`installing ${WORKER_PACKAGES.join(", ")} with apt-get`);
  const aptEnv = { ...env, DEBIAN_FRONTEND: "noninteractive" };
  const install = (): Promise<{ code: number; stderr: string }> =>
    runCommand("apt-get", ["install", "-y", "--no-install-recommends", ...WORKER_PACKAGES], {
      env: aptEnv,
      timeoutMs: 600_000,
    });
  let r = await install();
  if (r.code !== 0) {
    await runCommand("apt-get", ["update"], { env: aptEnv, timeoutMs: 600_000 });
    r = await install();
  }
  missing = await missingWorkerTools(env);
  if (r.code !== 0 || missing.length > 0) {
    throw new KubemarkError(
      "MISSING_TOOL",
      `could not install ${WORKER_PACKAGES.join(", ")}: ${lastLines(r.stderr, 3) || `still missing ${missing.join(", ")}`}`,
      {
        hint: `install them yourself: apt-get install -y --no-install-recommends ${WORKER_PACKAGES.join(" ")}`,
      },
    );
  }
}

/** Runs `ip` and fails with its message. */
export async function ip(args: readonly string[], okIf?: RegExp): Promise<void> {
  const r = await runCommand("ip", args, { timeoutMs: 30_000 });
  if (r.code !== 0 && !(okIf && okIf.test(r.stderr))) {
    throw new KubemarkError("START_FAILED", `ip ${args.join(" ")} failed: ${lastLines(r.stderr, 3)}`);
  }
}

/** True when a network device exists. */
export async function linkExists(name: string): Promise<boolean> {
  return stat(`/sys/class/net/${name}`).then(
    () => true,
    () => false,
  );
}

/** Creates (or reuses) a bridge, puts the addresses on it and sets it up. */
export async function ensureBridge(name: string, addresses: readonly string[]): Promise<void> {
  if (!(await linkExists(name))) await ip(["link", "add", name, "type", "bridge"], /File exists/);
  for (const a of addresses) await ip(["addr", "add", a, "dev", name], /File exists|already assigned/);
  await ip(["link", "set", name, "up"]);
}

/** Deletes a network device if it exists. */
export async function deleteLink(name: string): Promise<void> {
  if (await linkExists(name)) await ip(["link", "del", name], /Cannot find device/);
}

/** Mount points at or under `dir`, deepest first (from /proc/self/mountinfo). */
export async function mountsUnder(dir: string): Promise<string[]> {
  const text = await readFile("/proc/self/mountinfo", "utf8");
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const mp = line.split(" ")[4];
    if (!mp) continue;
    const path = mp.replace(/\\(\d{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
    if (path === dir || path.startsWith(`${dir}/`)) out.push(path);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Unmounts everything at or under `dir` (lazily when busy). */
export async function unmountUnder(dir: string): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const mounts = await mountsUnder(dir);
    if (mounts.length === 0) return;
    for (const m of mounts) {
      const r = await runCommand("umount", [m], { timeoutMs: 30_000 });
      if (r.code !== 0) await runCommand("umount", ["-l", m], { timeoutMs: 30_000 });
    }
  }
}

/** Cgroup v1 controller directories (or the v2 root) under /sys/fs/cgroup. */
async function cgroupRoots(): Promise<string[]> {
  const base = "/sys/fs/cgroup";
  if (
    await stat(join(base, "cgroup.controllers")).then(
      () => true,
      () => false,
    )
  )
    return [base];
  const out: string[] = [];
  for (const e of await readdir(base, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) out.push(join(base, e.name));
  }
  return out;
}

async function cgroupTree(dir: string): Promise<string[]> {
  const out = [dir];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    if (e.isDirectory()) out.push(...(await cgroupTree(join(dir, e.name))));
  }
  return out;
}

/** Pids in the cgroup `name` (e.g. `/kubemark-worker-0`) and below, across controllers. */
export async function pidsInCgroup(name: string): Promise<Set<number>> {
  const pids = new Set<number>();
  for (const root of await cgroupRoots()) {
    for (const d of await cgroupTree(join(root, name))) {
      const text = await readFile(join(d, "cgroup.procs"), "utf8").catch(() => "");
      for (const l of text.split("\n")) if (l.trim()) pids.add(Number(l));
    }
  }
  return pids;
}

/**
 * Makes the cgroup `name` in every controller (the kubelet's cgroupRoot must exist in all of
 * them); a v1 cpuset child gets its parent's CPUs and memory nodes, without which it holds no task.
 */
export async function ensureCgroup(name: string): Promise<void> {
  for (const root of await cgroupRoots()) {
    const d = join(root, name);
    await mkdir(d, { recursive: true }).catch(() => undefined);
    for (const f of ["cpuset.cpus", "cpuset.mems"]) {
      const parent = await readFile(join(root, f), "utf8").catch(() => undefined);
      const mine = await readFile(join(d, f), "utf8").catch(() => undefined);
      if (parent !== undefined && mine !== undefined && mine.trim() === "") {
        await writeFile(join(d, f), parent.trim()).catch(() => undefined);
      }
    }
  }
}

/** Removes the cgroup `name` and everything below it in every controller. */
export async function removeCgroup(name: string): Promise<void> {
  for (const root of await cgroupRoots()) {
    const tree = await cgroupTree(join(root, name));
    for (const d of tree.reverse()) await rmdir(d).catch(() => undefined);
  }
}

/** Pids whose command line contains `needle` (e.g. a containerd socket path). */
export async function pidsWithArg(needle: string): Promise<number[]> {
  const out: number[] = [];
  for (const e of await readdir("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    const cmd = await readFile(`/proc/${e}/cmdline`, "utf8").catch(() => "");
    if (cmd.split("\0").some((a) => a.includes(needle))) out.push(Number(e));
  }
  return out;
}

/** Kills the pids with SIGKILL, looking again until none of `find()` is left (or 10 s pass). */
export async function killAll(find: () => Promise<Iterable<number>>, clock: Clock): Promise<void> {
  const deadline = clock.now() + 10_000;
  for (;;) {
    const pids = [...(await find())].filter((p) => p !== process.pid);
    if (pids.length === 0 || clock.now() > deadline) return;
    for (const p of pids) {
      try {
        process.kill(p, "SIGKILL");
      } catch {
        // gone already
      }
    }
    await clock.sleep(100);
  }
}

/** Network namespace files under /run/netns that one of `pids` is in (a pod sandbox's). */
export async function netnsFilesOf(pids: Iterable<number>): Promise<string[]> {
  const inodes = new Set<number>();
  for (const p of pids) {
    const s = await stat(`/proc/${p}/ns/net`).catch(() => undefined);
    if (s) inodes.add(s.ino);
  }
  const own = await stat("/proc/self/ns/net").catch(() => undefined);
  if (own) inodes.delete(own.ino);
  const out: string[] = [];
  for (const e of await readdir("/run/netns").catch(() => [])) {
    const f = join("/run/netns", e);
    const s = await stat(f).catch(() => undefined);
    if (s && inodes.has(s.ino)) out.push(f);
  }
  return out;
}

/** Paths of the Unix sockets the processes hold open with a name (e.g. a shim's listening socket). */
export async function unixSocketPathsOf(pids: Iterable<number>): Promise<string[]> {
  const byInode = new Map<string, string>();
  const table = await readFile("/proc/net/unix", "utf8").catch(() => "");
  for (const line of table.split("\n").slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8 && f[7]!.startsWith("/")) byInode.set(f[6]!, f[7]!);
  }
  const out = new Set<string>();
  for (const p of pids) {
    for (const fd of await readdir(`/proc/${p}/fd`).catch(() => [] as string[])) {
      const to = await readlink(`/proc/${p}/fd/${fd}`).catch(() => "");
      const m = /^socket:\[(\d+)\]$/.exec(to);
      const path = m ? byInode.get(m[1]!) : undefined;
      if (path) out.add(path);
    }
  }
  return [...out];
}

/** Removes each directory in turn if it is empty (children first). */
export async function removeEmptyDirs(dirs: readonly string[]): Promise<void> {
  for (const d of dirs) await rmdir(d).catch(() => undefined);
}

/** Unmounts and removes network namespace files. */
export async function removeNetns(files: readonly string[]): Promise<void> {
  for (const f of files) {
    await runCommand("umount", [f], { timeoutMs: 30_000 });
    await rm(f, { force: true });
  }
}

/** Removes the symlinks in `dir` that point into `target` (the kubelet's /var/log/containers links). */
export async function removeLinksInto(dir: string, target: string): Promise<void> {
  for (const e of await readdir(dir).catch(() => [])) {
    const f = join(dir, e);
    const to = await readlink(f).catch(() => undefined);
    if (to && to.startsWith(`${target}/`)) await rm(f, { force: true });
  }
}
