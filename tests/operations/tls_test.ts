import { equal, match, ok, rejects } from "node:assert/strict";
import { startServer } from "../../src/mod.ts";
import { testConfig } from "../../src/config.ts";
import { silentLogger } from "../../src/obs/log.ts";
import { heldBody, runCliProcess, startServerProcess, untilInFlight } from "../helpers/server.ts";
import { getTrusting, makeCertSet, makeDsaPair } from "./tls_fixture.ts";

/** Two CAs, each with its server certificate, and the files the server is pointed at. */
async function certs() {
  const dir = await Deno.makeTempDir({ prefix: "dci-tls-" });
  const one = await makeCertSet(dir, "one");
  const two = await makeCertSet(dir, "two");
  const cert = `${dir}/server.pem`;
  const key = `${dir}/server.key`;
  await Deno.copyFile(one.certPath, cert);
  await Deno.copyFile(one.keyPath, key);
  return { dir, one, two, cert, key };
}

for (const isolates of ["0", "2"]) {
  Deno.test(`serve (DCI_HTTP_ISOLATES=${isolates}): HTTPS with DCI_TLS_CERT/KEY; SIGHUP serves a new certificate, keeps the old one when the new one is bad, finishes an in-flight request`, async () => {
    const c = await certs();
    const srv = await startServerProcess({
      env: { DCI_HTTP_ISOLATES: isolates, DCI_TLS_CERT: c.cert, DCI_TLS_KEY: c.key },
    });
    const https = `https://127.0.0.1:${srv.port}`;
    try {
      match(String(srv.logs.find((l) => l.msg === "listening")?.url), /^https:\/\//);
      equal(await getTrusting(`${https}/healthz`, c.one.caPem), 200);
      // The certificate is the only trust anchor's: a client trusting the other CA refuses it.
      match(String(await getTrusting(`${https}/healthz`, c.two.caPem)), /certificate|UnknownIssuer/i);
      // Plain HTTP on the TLS port gets no HTTP answer.
      const plain = await fetch(`http://127.0.0.1:${srv.port}/healthz`).then(
        (r) => r.status,
        (e) => String(e),
      );
      ok(typeof plain === "string", `plain HTTP was answered ${plain}`);

      // A request in flight on the old listener when the certificate changes is answered in full.
      const client = Deno.createHttpClient({ caCerts: [c.one.caPem] });
      // A first request on the client: its connection's handshake with the first certificate is done, and the
      // held request below goes on that connection.
      const first = await fetch(`${https}/healthz`, { client });
      equal(first.status, 200);
      await first.text(); // read whole, so the connection goes back to the client's pool
      const held = heldBody();
      const pending = fetch(`${https}/oauth2/client/token`, {
        client,
        method: "POST",
        headers: { "content-type": "application/json" },
        body: held.body,
      });
      await untilInFlight(https, 1, { client });
      await Deno.copyFile(c.two.certPath, c.cert);
      await Deno.copyFile(c.two.keyPath, c.key);
      const seen = srv.logs.length;
      srv.signal("SIGHUP");
      // The new listener serves; the old one drains the request in flight (the reload ends once it has).
      await srv.waitForLog((l) => l.msg === "tls certificate loaded" && srv.logs.indexOf(l) >= seen);
      held.end();
      await srv.waitForLog((l) => l.msg === "tls certificate reloaded" && srv.logs.indexOf(l) >= seen);
      const res = await pending;
      equal(res.status, 400); // the whole body was read: it has no grant_type
      await res.body?.cancel();
      client.close();
      equal(await getTrusting(`${https}/healthz`, c.two.caPem), 200);
      match(String(await getTrusting(`${https}/healthz`, c.one.caPem)), /certificate|UnknownIssuer/i);

      // A broken certificate file is refused with its name in the log, and the current one keeps serving.
      await Deno.writeTextFile(c.cert, "not a certificate\n");
      const before = srv.logs.length;
      srv.signal("SIGHUP");
      const refused = await srv.waitForLog((l) =>
        l.msg === "tls reload refused; the previous certificate keeps serving" &&
        srv.logs.indexOf(l) >= before
      );
      match(String(refused.reason), new RegExp(`DCI_TLS_CERT ${c.cert}: not a PEM certificate`));
      equal(await getTrusting(`${https}/healthz`, c.two.caPem), 200);
      // A key that is not the certificate's is refused too.
      await Deno.copyFile(c.one.certPath, c.cert);
      const before2 = srv.logs.length;
      srv.signal("SIGHUP");
      const mismatch = await srv.waitForLog((l) =>
        l.msg === "tls reload refused; the previous certificate keeps serving" &&
        srv.logs.indexOf(l) >= before2
      );
      match(String(mismatch.reason), /is not the private key of the certificate/);
      equal(await getTrusting(`${https}/healthz`, c.two.caPem), 200);
      // A pair that parses but that Deno's TLS cannot serve (DSA) is refused before any listener sees it.
      const dsa = await makeDsaPair(c.dir);
      await Deno.copyFile(dsa.certPath, c.cert);
      await Deno.copyFile(dsa.keyPath, c.key);
      const before3 = srv.logs.length;
      srv.signal("SIGHUP");
      const unservable = await srv.waitForLog((l) =>
        l.msg === "tls reload refused; the previous certificate keeps serving" &&
        srv.logs.indexOf(l) >= before3
      );
      match(String(unservable.reason), /a dsa key cannot be served/);
      equal(await getTrusting(`${https}/healthz`, c.two.caPem), 200);
    } finally {
      equal(await srv.stop("SIGTERM"), 0);
      await Deno.remove(c.dir, { recursive: true });
    }
  });
}

Deno.test("serve: DCI_TLS_CERT without DCI_TLS_KEY is refused at start (exit 2), naming both", async () => {
  const r = await runCliProcess(["serve"], { DCI_PORT: "0", DCI_TLS_CERT: "/nonexistent.pem" });
  equal(r.code, 2);
  match(r.stderr, /DCI_TLS_CERT is set without DCI_TLS_KEY/);
});

Deno.test("serve: an unreadable or non-PEM TLS file stops the start (exit 1) with the file's name", async () => {
  const c = await certs();
  const dataDir = await Deno.makeTempDir({ prefix: "dci-tls-data-" });
  try {
    const missing = await runCliProcess(["serve"], {
      DCI_PORT: "0",
      DCI_DATA_DIR: dataDir,
      DCI_TLS_CERT: `${c.dir}/missing.pem`,
      DCI_TLS_KEY: c.key,
    });
    equal(missing.code, 1);
    match(missing.stderr, new RegExp(`DCI_TLS_CERT ${c.dir}/missing.pem: cannot read the file`));
    await Deno.writeTextFile(
      `${c.dir}/garbage.key`,
      "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
    );
    const garbage = await runCliProcess(["serve"], {
      DCI_PORT: "0",
      DCI_DATA_DIR: dataDir,
      DCI_TLS_CERT: c.cert,
      DCI_TLS_KEY: `${c.dir}/garbage.key`,
    });
    equal(garbage.code, 1);
    match(garbage.stderr, new RegExp(`DCI_TLS_KEY ${c.dir}/garbage.key: the private key does not parse`));
  } finally {
    await Deno.remove(c.dir, { recursive: true });
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("startServer() of src/mod.ts serves HTTPS with DCI_TLS_CERT/KEY and reloadTls() switches to the new pair", async () => {
  const c = await certs();
  const server = await startServer({
    config: testConfig({ tlsCert: c.cert, tlsKey: c.key, host: "127.0.0.1" }),
    log: silentLogger,
  });
  try {
    match(server.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    equal(await getTrusting(`${server.url}/healthz`, c.one.caPem), 200);
    // Served over TLS itself: browsers are told to keep to HTTPS (an error answer too).
    const client = Deno.createHttpClient({ caCerts: [c.one.caPem] });
    const res = await fetch(`${server.url}/no-such-page`, { client });
    await res.body?.cancel();
    client.close();
    equal(res.status, 404);
    equal(res.headers.get("strict-transport-security"), "max-age=31536000");
    await Deno.copyFile(c.two.certPath, c.cert);
    await Deno.copyFile(c.two.keyPath, c.key);
    await server.reloadTls!();
    equal(await getTrusting(`${server.url}/healthz`, c.two.caPem), 200);
    await Deno.writeTextFile(c.key, "garbage");
    await rejects(server.reloadTls!(), /DCI_TLS_KEY .*not a PEM private key/);
    equal(await getTrusting(`${server.url}/healthz`, c.two.caPem), 200);
  } finally {
    await server.stop();
    await Deno.remove(c.dir, { recursive: true });
  }
});
