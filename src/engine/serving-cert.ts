import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { KubemarkError } from "../errors.ts";
import { lastLines, runCommand } from "../host/run-command.ts";

/** A TLS server certificate and its key, PEM. */
export interface ServingCertificate {
  readonly cert: string;
  readonly key: string;
}

/**
 * Makes a self-signed serving certificate (EC P-256, one year) for `commonName` with `ip` as its
 * IP SAN, with the `openssl` CLI in a temporary directory that is removed afterwards. A kubelet
 * without a serving certificate does the same; the API server does not verify kubelets' certificates
 * unless it is given `--kubelet-certificate-authority`.
 */
export async function selfSignedCertificate(commonName: string, ip: string): Promise<ServingCertificate> {
  const dir = await mkdtemp(join(tmpdir(), "hollow-kubelet-"));
  try {
    const keyFile = join(dir, "kubelet.key");
    const certFile = join(dir, "kubelet.crt");
    const r = await runCommand(
      "openssl",
      [
        "req",
        "-x509",
        "-new",
        "-nodes",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-keyout",
        keyFile,
        "-out",
        certFile,
        "-days",
        "365",
        "-subj",
        `/CN=${commonName}`,
        "-addext",
        `subjectAltName=IP:${ip}`,
        "-addext",
        "extendedKeyUsage=serverAuth",
      ],
      { cwd: dir, timeoutMs: 30_000 },
    ).catch((err: unknown) => {
      if (err instanceof KubemarkError && err.code === "MISSING_TOOL") {
        throw new KubemarkError(
          "MISSING_TOOL",
          "openssl is needed to make the kubelet endpoint's certificate",
          {
            hint: "install it (Debian: apt-get install -y openssl), or run without --kubelet-port",
          },
        );
      }
      throw err;
    });
    if (r.code !== 0) {
      throw new KubemarkError("START_FAILED", `openssl req failed: ${lastLines(r.stderr, 5)}`);
    }
    return { cert: await readFile(certFile, "utf8"), key: await readFile(keyFile, "utf8") };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
