/*
 * A fleet's profile (`create --profile FILE`, #17, #19): its node shapes and their usage and pod
 * models (engine/fleet-profile.ts), checked before anything is made, recorded in the FleetSpec
 * (so `scale` and a later `create` keep it) and handed to every engine: local processes read a
 * copy in the fleet's state directory, in-cluster pods the fleet's ConfigMap mounted as a file.
 */
import { createHash } from "node:crypto";
import { readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { DEFAULT_SHAPE, defaultEngineConfig } from "../engine/config.ts";
import { parseProfile } from "../engine/fleet-profile.ts";
import { BadInputError } from "../kernel/errors.ts";

/** A fleet profile as recorded in the fleet's spec. */
export interface FleetProfile {
  /** The file it was read from (for messages; the engines read the copy). */
  readonly file: string;
  /** Its text, as given. */
  readonly text: string;
}

/** The largest profile taken: it is stored twice in the fleet's ConfigMap (limit 1 MiB). */
export const MAX_PROFILE_BYTES = 256 * 1024;

/** Key of the profile in the fleet's ConfigMap, and its file name where in-cluster pods mount it. */
export const PROFILE_KEY = "profile.yaml";

/**
 * Checks a profile's text as the engines will parse it (with their flag defaults), so a bad one
 * fails `create` before anything is made; throws a {@link BadInputError} naming the file, the
 * shape and the field.
 */
export function checkFleetProfile(profile: FleetProfile): void {
  const bytes = Buffer.byteLength(profile.text);
  if (bytes > MAX_PROFILE_BYTES)
    throw new BadInputError(
      `--profile ${profile.file} is ${Math.ceil(bytes / 1024)} KiB; at most ${MAX_PROFILE_BYTES / 1024} KiB fits in the fleet's ConfigMap`,
      "keep the profile to its shapes and models",
    );
  const d = defaultEngineConfig([]);
  parseProfile(profile.text, profile.file, {
    shape: DEFAULT_SHAPE,
    usage: d.usage,
    pods: { jobRunMs: d.jobRunMs, podStartLatency: d.podStartLatency },
  });
}

/** Reads and checks `create --profile FILE`. */
export async function readFleetProfile(file: string): Promise<FleetProfile> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? "error";
    throw new BadInputError(
      `cannot read --profile ${file} (${code})`,
      code === "ENOENT" ? "give the path of a YAML fleet profile" : undefined,
    );
  }
  const profile = { file: basename(file), text };
  checkFleetProfile(profile);
  return profile;
}

/** A short digest of the profile's text: a changed profile restarts the engines that run it. */
export function profileDigest(profile: FleetProfile): string {
  return createHash("sha256").update(profile.text).digest("hex").slice(0, 16);
}

/** Where a local fleet's engines read the profile: a copy in its state directory named by digest. */
export function localProfilePath(dir: string, profile: FleetProfile): string {
  return join(dir, `profile-${profileDigest(profile)}.yaml`);
}

/**
 * Writes the local copy of the fleet's profile (none: removes it), and removes copies of earlier
 * profiles: an engine reads its profile once, at start.
 */
export async function writeLocalProfile(dir: string, profile: FleetProfile | undefined): Promise<void> {
  const keep = profile ? localProfilePath(dir, profile) : undefined;
  if (profile && keep) {
    await writeFile(`${keep}.tmp`, profile.text, { mode: 0o600 });
    await rename(`${keep}.tmp`, keep);
  }
  for (const name of await readdir(dir).catch(() => [])) {
    if (/^profile-[0-9a-f]{16}\.yaml$/.test(name) && join(dir, name) !== keep)
      await rm(join(dir, name), { force: true });
  }
}
