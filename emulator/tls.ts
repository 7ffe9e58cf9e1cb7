// A private CA and a server certificate signed by it, made once with the selfsigned library and
// reused. Go trusts the CA through SSL_CERT_FILE, Node through NODE_EXTRA_CA_CERTS.
//
// Two processes may start at once (jest workers, a CLI and a test script): one takes a lock file
// and generates, the others wait for it; every file is written to a temporary name and renamed.
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { generate } from "selfsigned";

export interface TlsFiles {
  /** Absolute path of the CA certificate (PEM): the file to trust. */
  caFile: string;
  /** Absolute path of the server certificate (PEM). */
  certFile: string;
  /** Absolute path of the server private key (PEM). */
  keyFile: string;
}

const CA_DAYS = 3650;
const CERT_DAYS = 825;
/** Regenerate when the server certificate has less than this left. */
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000;
const LOCK_STALE_MS = 120_000;

/** `${XDG_CACHE_HOME:-~/.cache}/dataverse-s2s/emulator-tls` */
export function defaultTlsDir(): string {
  const cache =
    process.env.XDG_CACHE_HOME && process.env.XDG_CACHE_HOME.length > 0 ? process.env.XDG_CACHE_HOME : join(homedir(), ".cache");
  return join(cache, "dataverse-s2s", "emulator-tls");
}

function filesIn(dir: string): TlsFiles & { caKeyFile: string } {
  const abs = resolve(dir);
  return {
    caFile: join(abs, "ca.pem"),
    caKeyFile: join(abs, "ca-key.pem"),
    certFile: join(abs, "server.pem"),
    keyFile: join(abs, "server-key.pem"),
  };
}

function usable(files: TlsFiles & { caKeyFile: string }): boolean {
  try {
    for (const file of [files.caFile, files.caKeyFile, files.certFile, files.keyFile]) if (!existsSync(file)) return false;
    const ca = new X509Certificate(readFileSync(files.caFile));
    const cert = new X509Certificate(readFileSync(files.certFile));
    if (!cert.verify(ca.publicKey)) return false;
    const renewAt = Date.now() + RENEW_BEFORE_MS;
    if (Date.parse(cert.validTo) < renewAt || Date.parse(ca.validTo) < renewAt) return false;
    return cert.checkHost("localhost") !== undefined && cert.checkIP("127.0.0.1") !== undefined;
  } catch {
    return false;
  }
}

function writeAtomic(path: string, content: string, mode: number): void {
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  writeFileSync(tmp, content, { mode });
  renameSync(tmp, path);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function generateInto(files: TlsFiles & { caKeyFile: string }): Promise<void> {
  const now = new Date(Date.now() - 60_000);
  const day = 24 * 3600 * 1000;
  const ca = await generate(
    [
      { name: "commonName", value: "dataverse-s2s emulator local CA" },
      { name: "organizationName", value: "dataverse-s2s emulator" },
    ],
    {
      keyType: "rsa",
      keySize: 2048,
      algorithm: "sha256",
      notBeforeDate: now,
      notAfterDate: new Date(now.getTime() + CA_DAYS * day),
      extensions: [
        { name: "basicConstraints", cA: true, critical: true },
        { name: "keyUsage", keyCertSign: true, cRLSign: true, digitalSignature: true, critical: true },
      ],
    },
  );
  const server = await generate([{ name: "commonName", value: "localhost" }], {
    keyType: "rsa",
    keySize: 2048,
    algorithm: "sha256",
    notBeforeDate: now,
    notAfterDate: new Date(now.getTime() + CERT_DAYS * day),
    ca: { key: ca.private, cert: ca.cert },
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true, critical: true },
      { name: "extKeyUsage", serverAuth: true },
      {
        name: "subjectAltName",
        altNames: [
          { type: 2, value: "localhost" },
          { type: 7, ip: "127.0.0.1" },
          { type: 7, ip: "::1" },
        ],
      },
    ],
  });
  // Keys first, the CA last: a reader that sees a complete set sees a matching set.
  writeAtomic(files.caKeyFile, ca.private, 0o600);
  writeAtomic(files.keyFile, server.private, 0o600);
  writeAtomic(files.certFile, server.cert, 0o644);
  writeAtomic(files.caFile, ca.cert, 0o644);
}

/**
 * Makes sure a CA and a server certificate (DNS:localhost, IP:127.0.0.1, IP:::1) exist in `dir`
 * and returns their absolute paths. Generates them only when missing, mismatched or near expiry.
 */
export async function ensureCertificates(dir: string = defaultTlsDir()): Promise<TlsFiles> {
  const files = filesIn(dir);
  const result = (): TlsFiles => ({ caFile: files.caFile, certFile: files.certFile, keyFile: files.keyFile });
  if (usable(files)) return result();
  mkdirSync(resolve(dir), { recursive: true, mode: 0o700 });
  const lock = join(resolve(dir), "generate.lock");
  const deadline = Date.now() + LOCK_STALE_MS;
  for (;;) {
    let fd: number | undefined;
    try {
      fd = openSync(lock, "wx");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    if (fd !== undefined) {
      try {
        if (!usable(files)) await generateInto(files);
      } finally {
        closeSync(fd);
        try {
          unlinkSync(lock);
        } catch {
          /* already gone */
        }
      }
      if (!usable(files)) throw new Error(`emulator TLS: generated certificates in ${dir} are not usable`);
      return result();
    }
    // Another process is generating: wait for it, and break a lock left by a crashed process.
    await sleep(100);
    if (usable(files)) return result();
    try {
      if (Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS) unlinkSync(lock);
    } catch {
      /* the lock vanished: retry */
    }
    if (Date.now() > deadline + LOCK_STALE_MS) throw new Error(`emulator TLS: timed out waiting for ${lock}`);
  }
}
