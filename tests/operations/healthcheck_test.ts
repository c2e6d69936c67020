import { equal, match } from "node:assert/strict";
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
