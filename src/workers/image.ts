/**
 * Container images made without Docker or a registry: docker-save tarballs (`manifest.json`, a
 * config JSON, one `layer.tar` per layer) that `ctr images import`, `docker load`, `podman load`
 * and `skopeo copy docker-archive:` all read.
 *
 * - a Node.js base image: the Node 24 binary this project runs on, the shared libraries it links,
 *   `/etc/passwd`, `/etc/group` and `/tmp`; it stands in for the stock `node:24-slim` where no
 *   registry is reachable, so the default pod template (engine in a ConfigMap) runs unchanged;
 * - the hollow-node image: that base plus the bundled engine, laid out as the Dockerfile does;
 * - a pause (sandbox) image: a tiny static program that sleeps, reaps children and exits on
 *   SIGTERM, built with Go.
 */
import { createHash } from "node:crypto";
import {
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  realpath,
  rename,
  rm,
  stat,
  writeFile,
  chmod,
} from "node:fs/promises";
import { dirname, join } from "node:path";
import { KubemarkError } from "../kernel/errors.ts";
import { lastLines, runCommand } from "../host/run-command.ts";
import { ENGINE_NODE_FLAGS } from "../fleet/spec.ts";

/** Image the default pod template names; the base image is tagged with it too. */
export const STOCK_NODE_IMAGE = "docker.io/library/node:24-slim";
/** The sandbox image the local workers' containerd uses. */
export const PAUSE_IMAGE = "localhost/kubemark-cluster/pause:1.0";
/** Repository of the hollow-node image (`--image` for `create`). */
export const HOLLOW_NODE_REPOSITORY = "localhost/kubemark-cluster/hollow-node";

/** One layer: the files of a staging directory. */
interface LayerDir {
  readonly dir: string;
}

/** The parts of an image config that matter here (OCI/Docker image config `config` field). */
export interface ImageRuntimeConfig {
  readonly Env?: readonly string[];
  readonly Entrypoint?: readonly string[];
  readonly Cmd?: readonly string[];
  readonly User?: string;
  readonly WorkingDir?: string;
}

/** A written image tarball. */
export interface ImageTar {
  readonly file: string;
  readonly tags: readonly string[];
  readonly bytes: number;
}

const sha256 = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex");

async function tar(args: readonly string[], cwd: string): Promise<void> {
  const r = await runCommand("tar", args, { cwd, timeoutMs: 300_000 });
  if (r.code !== 0) {
    throw new KubemarkError("BUILD_FAILED", `tar ${args.join(" ")} failed: ${lastLines(r.stderr, 5)}`);
  }
}

/** Deterministic tar of a directory's contents: root-owned, fixed times, sorted. */
async function layerTar(dir: string, out: string): Promise<void> {
  await tar(
    [
      "--sort=name",
      "--owner=0",
      "--group=0",
      "--numeric-owner",
      "--mtime=@0",
      "--format=gnu",
      "-cf",
      out,
      "-C",
      dir,
      ".",
    ],
    dir,
  );
}

/**
 * Writes a docker-save tarball of the layers (bottom first) with the given tags and runtime
 * config. The file appears only when complete.
 */
export async function writeImageTar(
  file: string,
  tags: readonly string[],
  layers: readonly LayerDir[],
  config: ImageRuntimeConfig,
): Promise<ImageTar> {
  await mkdir(dirname(file), { recursive: true });
  const work = await mkdtemp(join(dirname(file), ".image-"));
  try {
    const diffIds: string[] = [];
    const layerPaths: string[] = [];
    for (const l of layers) {
      const tmp = join(work, "layer.tmp");
      await layerTar(l.dir, tmp);
      const digest = sha256(await readFile(tmp));
      await mkdir(join(work, digest), { recursive: true });
      await rename(tmp, join(work, digest, "layer.tar"));
      diffIds.push(`sha256:${digest}`);
      layerPaths.push(`${digest}/layer.tar`);
    }
    const cfg = JSON.stringify({
      architecture: goArch(),
      os: "linux",
      created: "1970-01-01T00:00:00Z",
      config: config,
      rootfs: { type: "layers", diff_ids: diffIds },
      history: layers.map(() => ({ created: "1970-01-01T00:00:00Z", created_by: "kubemark-cluster" })),
    });
    const cfgName = `${sha256(cfg)}.json`;
    await writeFile(join(work, cfgName), cfg);
    await writeFile(
      join(work, "manifest.json"),
      JSON.stringify([{ Config: cfgName, RepoTags: tags, Layers: layerPaths }]),
    );
    const tmpOut = `${file}.tmp`;
    await tar(["--owner=0", "--group=0", "--numeric-owner", "--mtime=@0", "-cf", tmpOut, "."], work);
    await rename(tmpOut, file);
    return { file, tags, bytes: (await stat(file)).size };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

function goArch(): string {
  return process.arch === "x64" ? "amd64" : process.arch === "arm64" ? "arm64" : process.arch;
}

const PASSWD =
  "root:x:0:0:root:/root:/bin/false\nnode:x:1000:1000::/home/node:/bin/false\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n";
const GROUP = "root:x:0:\nnode:x:1000:\nnogroup:x:65534:\n";

/** Shared libraries (and the loader) a dynamically linked binary needs, as `ldd` lists them. */
export function parseLdd(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const arrow = /=>\s+(\/\S+)/.exec(line);
    const bare = /^\s*(\/\S+)\s+\(/.exec(line);
    const p = arrow?.[1] ?? bare?.[1];
    if (p) out.push(p);
  }
  return out;
}

/** Copies `src` (following links) to the same absolute path under `root`. */
async function place(root: string, path: string, src = path, mode?: number): Promise<void> {
  const dest = join(root, path);
  await mkdir(dirname(dest), { recursive: true });
  await copyFile(await realpath(src), dest);
  if (mode !== undefined) await chmod(dest, mode);
}

/** Staging directory of the Node.js base layer, from the Node binary at `nodeBinary`. */
export async function stageNodeBase(root: string, nodeBinary: string): Promise<void> {
  const ldd = await runCommand("ldd", [nodeBinary], { timeoutMs: 30_000 });
  if (ldd.code !== 0) {
    throw new KubemarkError("BUILD_FAILED", `ldd ${nodeBinary} failed: ${lastLines(ldd.stderr, 3)}`);
  }
  await place(root, "/usr/local/bin/node", nodeBinary, 0o755);
  for (const lib of parseLdd(ldd.stdout)) await place(root, lib, lib, 0o755);
  await mkdir(join(root, "etc"), { recursive: true });
  await writeFile(join(root, "etc/passwd"), PASSWD);
  await writeFile(join(root, "etc/group"), GROUP);
  await mkdir(join(root, "tmp"), { recursive: true });
  await chmod(join(root, "tmp"), 0o1777);
  await mkdir(join(root, "home/node"), { recursive: true });
}

const NODE_ENV = [
  "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
  "NODE_VERSION_MAJOR=24",
];

/** Where images are cached, keyed by what went into them. */
function cached(cacheDir: string, name: string, key: string): string {
  return join(cacheDir, "images", `${name}-${key.slice(0, 16)}.tar`);
}

/** Removes the cached builds of `name` other than `keep` (each is ~130 MB; only the newest is used). */
async function pruneCached(keep: string, name: string): Promise<void> {
  const dir = dirname(keep);
  for (const f of await readdir(dir).catch(() => [] as string[])) {
    if (f.startsWith(`${name}-`) && f.endsWith(".tar") && join(dir, f) !== keep) {
      await rm(join(dir, f), { force: true });
    }
  }
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    () => false,
  );
}

/** The Node.js base image (tagged as the stock `node:24-slim` and as a local name). */
export async function nodeBaseImage(cacheDir: string, nodeBinary: string): Promise<ImageTar> {
  const bin = await realpath(nodeBinary);
  const key = sha256(`${bin}:${(await stat(bin)).size}:${(await stat(bin)).mtimeMs}:v1`);
  const tags = [STOCK_NODE_IMAGE, `localhost/kubemark-cluster/node:${process.versions.node}`];
  const file = cached(cacheDir, "node-base", key);
  if (await exists(file)) return { file, tags, bytes: (await stat(file)).size };
  const stage = await mkdtemp(join(cacheDir, ".stage-"));
  try {
    await stageNodeBase(stage, bin);
    await pruneCached(file, "node-base");
    return await writeImageTar(file, tags, [{ dir: stage }], { Env: NODE_ENV, Cmd: ["node"] });
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}

/**
 * The hollow-node image: the Node.js base plus the engine bundle at the path the Dockerfile uses,
 * running as 1000:1000 in /hollow.
 */
export async function hollowNodeImage(
  cacheDir: string,
  nodeBinary: string,
  bundle: Buffer,
  tag: string,
  enginePath: string,
): Promise<ImageTar> {
  const bin = await realpath(nodeBinary);
  const key = sha256(Buffer.concat([Buffer.from(`${bin}:${(await stat(bin)).size}:${tag}:v1`), bundle]));
  const file = cached(cacheDir, "hollow-node", key);
  const tags = [tag];
  if (await exists(file)) return { file, tags, bytes: (await stat(file)).size };
  const base = await mkdtemp(join(cacheDir, ".stage-"));
  const app = await mkdtemp(join(cacheDir, ".stage-"));
  try {
    await stageNodeBase(base, bin);
    await mkdir(join(app, dirname(enginePath)), { recursive: true });
    await writeFile(join(app, enginePath), bundle);
    await mkdir(join(app, "hollow"), { recursive: true });
    await pruneCached(file, "hollow-node");
    return await writeImageTar(file, tags, [{ dir: base }, { dir: app }], {
      Env: NODE_ENV,
      User: "1000:1000",
      WorkingDir: "/hollow",
      Entrypoint: ["node", ...ENGINE_NODE_FLAGS, enginePath],
    });
  } finally {
    await rm(base, { recursive: true, force: true });
    await rm(app, { recursive: true, force: true });
  }
}

const PAUSE_GO = `// The sandbox ("pause") process of a pod: holds its namespaces, reaps children, exits on SIGTERM.
package main

import (
\t"os"
\t"os/signal"
\t"syscall"
)

func main() {
\tsigs := make(chan os.Signal, 8)
\tsignal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGCHLD)
\tfor s := range sigs {
\t\tif s != syscall.SIGCHLD {
\t\t\tos.Exit(0)
\t\t}
\t\tfor {
\t\t\tvar ws syscall.WaitStatus
\t\t\tpid, err := syscall.Wait4(-1, &ws, syscall.WNOHANG, nil)
\t\t\tif pid <= 0 || err != nil {
\t\t\t\tbreak
\t\t\t}
\t\t}
\t}
}
`;

/** The pause image, its static program built with the Go toolchain. */
export async function pauseImage(cacheDir: string, env: NodeJS.ProcessEnv): Promise<ImageTar> {
  const file = cached(cacheDir, "pause", sha256(PAUSE_GO + goArch()));
  const tags = [PAUSE_IMAGE];
  if (await exists(file)) return { file, tags, bytes: (await stat(file)).size };
  const src = await mkdtemp(join(cacheDir, ".pause-src-"));
  const stage = await mkdtemp(join(cacheDir, ".stage-"));
  try {
    await writeFile(join(src, "go.mod"), "module pause\n\ngo 1.22\n");
    await writeFile(join(src, "main.go"), PAUSE_GO);
    const r = await runCommand(
      "go",
      ["build", "-trimpath", "-ldflags=-s -w", "-o", join(stage, "pause"), "."],
      { cwd: src, env: { ...env, CGO_ENABLED: "0", GOWORK: "off", GOFLAGS: "-mod=mod" }, timeoutMs: 300_000 },
    ).catch((err: unknown) => {
      if (err instanceof KubemarkError && err.code === "MISSING_TOOL") {
        throw new KubemarkError("MISSING_TOOL", "Go is needed to build the pause image", {
          hint: "install Go 1.22 or later (it also builds the control plane)",
        });
      }
      throw err;
    });
    if (r.code !== 0) {
      throw new KubemarkError("BUILD_FAILED", `building the pause program failed: ${lastLines(r.stderr, 5)}`);
    }
    return await writeImageTar(file, tags, [{ dir: stage }], { Entrypoint: ["/pause"] });
  } finally {
    await rm(src, { recursive: true, force: true });
    await rm(stage, { recursive: true, force: true });
  }
}
