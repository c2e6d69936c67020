/** Throwaway certificate authorities and server certificates made with the `openssl` command, for TLS tests. */

/** A CA and one server certificate it signed (for 127.0.0.1 and localhost), as PEM files in `dir`. */
export interface CertSet {
  caPem: string;
  certPath: string;
  keyPath: string;
  /** The server certificate's subject CN. */
  cn: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  let out;
  try {
    out = await new Deno.Command("openssl", { args, cwd, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    throw new Error(`the openssl command is needed for the TLS tests (apt-get install openssl): ${err}`);
  }
  if (!out.success) throw new Error(`openssl ${args[0]} failed: ${new TextDecoder().decode(out.stderr)}`);
}

/**
 * Makes a fresh CA named `name` and a server certificate (EC P-256, CN `server-<name>`) in `dir`, for
 * 127.0.0.1 and localhost unless `san` names others (e.g. "DNS:gw.example.org": a certificate for the real host).
 */
export async function makeCertSet(
  dir: string,
  name: string,
  options: { san?: string } = {},
): Promise<CertSet> {
  // Arguments as one line each (no argument holds a space), split on spaces.
  const run = (line: string) => openssl(line.split(" "), dir);
  const ec = "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes";
  await run(`req -x509 ${ec} -keyout ca-${name}.key -out ca-${name}.pem -days 2 -subj /CN=test-ca-${name}`);
  await run(`req ${ec} -keyout srv-${name}.key -out srv-${name}.csr -subj /CN=server-${name}`);
  await Deno.writeTextFile(
    `${dir}/ext-${name}`,
    `subjectAltName=${options.san ?? "IP:127.0.0.1,DNS:localhost"}\n`,
  );
  await run(
    `x509 -req -in srv-${name}.csr -CA ca-${name}.pem -CAkey ca-${name}.key -CAcreateserial ` +
      `-out srv-${name}.pem -days 2 -extfile ext-${name}`,
  );
  return {
    caPem: await Deno.readTextFile(`${dir}/ca-${name}.pem`),
    certPath: `${dir}/srv-${name}.pem`,
    keyPath: `${dir}/srv-${name}.key`,
    cn: `server-${name}`,
  };
}

/** A self-signed DSA certificate and its key in `dir`: node:crypto parses them, Deno's TLS cannot serve them. */
export async function makeDsaPair(dir: string): Promise<{ certPath: string; keyPath: string }> {
  await openssl("dsaparam -out dsa.param 2048".split(" "), dir);
  await openssl(
    "req -x509 -newkey dsa:dsa.param -nodes -keyout dsa.key -out dsa.pem -days 2 -subj /CN=dsa".split(" "),
    dir,
  );
  return { certPath: `${dir}/dsa.pem`, keyPath: `${dir}/dsa.key` };
}

/** GET `url` trusting only `caPem`; the status, or the error's text when the TLS handshake or connection fails. */
export async function getTrusting(url: string, caPem: string): Promise<number | string> {
  const client = Deno.createHttpClient({ caCerts: [caPem] });
  try {
    const res = await fetch(url, { client, headers: { connection: "close" } });
    await res.body?.cancel();
    return res.status;
  } catch (err) {
    return String((err as Error).cause ?? err);
  } finally {
    client.close();
  }
}
