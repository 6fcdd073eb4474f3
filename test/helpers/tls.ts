// A certificate authority made by openssl for one test, and server certificates it signs
// (for 127.0.0.1 and localhost), keys 0600 as the collector wants them.
import { execFileSync } from "node:child_process";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";

export interface TestCertificate {
  certFile: string;
  keyFile: string;
  /** SHA-256 of the certificate, AB:CD:… as openssl prints it. */
  fingerprint: string;
}

export interface TestCa {
  caFile: string;
  /** A new server certificate signed by this CA, written under dir as NAME.crt / NAME.key. */
  issue(name: string): TestCertificate;
}

const openssl = (args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] }).toString();

export function createTestCa(dir: string): TestCa {
  const caKey = join(dir, "ca.key");
  const caFile = join(dir, "ca.crt");
  openssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", caKey, "-out", caFile, "-days", "2", "-subj", "/CN=netmap test CA"]);
  return {
    caFile,
    issue(name) {
      const keyFile = join(dir, `${name}.key`);
      const certFile = join(dir, `${name}.crt`);
      const csr = join(dir, `${name}.csr`);
      const extensions = join(dir, `${name}.ext`);
      writeFileSync(extensions, "subjectAltName = IP:127.0.0.1, DNS:localhost\nextendedKeyUsage = serverAuth\n");
      openssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", keyFile, "-out", csr, "-subj", `/CN=${name}`]);
      openssl(["x509", "-req", "-in", csr, "-CA", caFile, "-CAkey", caKey, "-CAcreateserial", "-out", certFile, "-days", "2", "-extfile", extensions]);
      chmodSync(keyFile, 0o600);
      const fingerprint = openssl(["x509", "-in", certFile, "-noout", "-fingerprint", "-sha256"]).trim().replace(/^.*=/, "");
      return { certFile, keyFile, fingerprint };
    },
  };
}
