import { equal, match } from "node:assert/strict";
import { tlsServerName } from "../../src/cli/healthcheck.ts";
import { runCliProcess, startServerProcess } from "../helpers/server.ts";
import { makeCertSet } from "./tls_fixture.ts";

Deno.test("dci-server healthcheck exits 0 while the server answers /healthz and 1 once it is gone", async () => {
  const srv = await startServerProcess();
  const env = { DCI_PORT: String(srv.port), DCI_HOST: "0.0.0.0" };
  const up = await runCliProcess(["healthcheck"], env);
  equal(up.code, 0, up.stderr);
  match(up.stdout, new RegExp(`ok: http://127\\.0\\.0\\.1:${srv.port}/healthz`));
  equal(await srv.stop(), 0);
  const down = await runCliProcess(["healthcheck"], env);
  equal(down.code, 1);
  match(down.stderr, new RegExp(`http://127\\.0\\.0\\.1:${srv.port}/healthz`));
  // The cause is in the message, not only "fetch failed".
  match(down.stderr, /refused/i);
});

Deno.test("dci-server healthcheck speaks HTTPS to a TLS server, trusting the server's own certificate chain", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-hc-tls-" });
  const certs = await makeCertSet(dir, "hc");
  // The chain file holds the leaf and its CA, as a deployment's fullchain.pem does.
  const chain = `${dir}/fullchain.pem`;
  await Deno.writeTextFile(chain, (await Deno.readTextFile(certs.certPath)) + certs.caPem);
  const tls = { DCI_TLS_CERT: chain, DCI_TLS_KEY: certs.keyPath };
  const srv = await startServerProcess({ env: tls });
  try {
    const r = await runCliProcess(["healthcheck"], {
      ...tls,
      DCI_PORT: String(srv.port),
      DCI_HOST: "127.0.0.1",
    });
    equal(r.code, 0, r.stderr);
    match(r.stdout, /ok: https:\/\/127\.0\.0\.1:/);
  } finally {
    equal(await srv.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("dci-server healthcheck under TLS with a certificate for the real host name only: loopback, checked against that name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-hc-dns-" });
  // A CA-signed leaf for gw.example.org alone (no IP address, no localhost), as a public deployment has.
  const certs = await makeCertSet(dir, "gw", { san: "DNS:gw.example.org" });
  const chain = `${dir}/fullchain.pem`;
  await Deno.writeTextFile(chain, (await Deno.readTextFile(certs.certPath)) + certs.caPem);
  const tls = { DCI_TLS_CERT: chain, DCI_TLS_KEY: certs.keyPath };
  const srv = await startServerProcess({ env: tls });
  try {
    const env = { ...tls, DCI_PORT: String(srv.port), DCI_HOST: "0.0.0.0" };
    const r = await runCliProcess(["healthcheck"], env);
    equal(r.code, 0, r.stderr);
    match(r.stdout, new RegExp(`ok: https://127\\.0\\.0\\.1:${srv.port}/healthz`));
    // A URL naming another host is checked against that host: the certificate does not cover it, and the
    // message says why (the cause of the failure, not "fetch failed").
    const other = await runCliProcess(["healthcheck", "--url", `https://localhost:${srv.port}/healthz`], env);
    equal(other.code, 1);
    match(other.stderr, /not valid for name "localhost"/);
  } finally {
    equal(await srv.stop(), 0);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tlsServerName() keeps a host name or a listed address, else takes the certificate's DNS name", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-hc-name-" });
  try {
    const dns = await makeCertSet(dir, "dns", { san: "DNS:gw.example.org,DNS:dci.example.org" });
    const ip = await makeCertSet(dir, "ip");
    const wild = await makeCertSet(dir, "wild", { san: "DNS:*.example.org" });
    const pem = (p: string) => Deno.readTextFileSync(p);
    equal(tlsServerName("127.0.0.1", pem(dns.certPath)), "gw.example.org");
    equal(tlsServerName("::1", pem(dns.certPath)), "gw.example.org");
    // localhost is loopback: the certificate's own name, unless it lists localhost.
    equal(tlsServerName("localhost", pem(dns.certPath), { localhost: true }), "gw.example.org");
    equal(tlsServerName("localhost", pem(dns.certPath)), "localhost", "a --url naming localhost");
    const local = await makeCertSet(dir, "local", { san: "DNS:localhost,DNS:gw.example.org" });
    equal(tlsServerName("localhost", pem(local.certPath), { localhost: true }), "localhost");
    equal(tlsServerName("gw.example.org", pem(dns.certPath)), "gw.example.org");
    equal(tlsServerName("127.0.0.1", pem(ip.certPath)), "127.0.0.1");
    equal(tlsServerName("127.0.0.1", pem(wild.certPath)), "healthcheck.example.org");
    equal(tlsServerName("127.0.0.1", "not a certificate"), "127.0.0.1");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
