/**
 * Item 10: tests that probe the SSRF guard never send traffic off the machine. In process, the guard refuses
 * every SSRF form before a socket is opened (counted by an injected hook that would throw). End to end, the
 * servers run inside a network namespace that has only loopback, where even a server whose guard lets every
 * address through reaches nothing else; and every test or bench that spawns main.ts restricts its network
 * permission to loopback (tests/helpers/runtime.ts LOOPBACK_ONLY).
 */
import assert from "node:assert/strict";
import { lookup } from "node:dns/promises";
import { testConfig } from "../../src/config.ts";
import { createOutboundClient, OutboundError } from "../../src/net/outbound.ts";
import {
  insideLoopbackNetns,
  loopbackOnlyTest,
  netnsAvailable,
  nonLoopbackInterfaces,
  offlineResolver,
} from "../helpers/no_egress.ts";
import { TEST_BACKEND } from "../helpers/deps.ts";
import {
  adminGet,
  createServerSender,
  send,
  startWorkerServer,
  waitForState,
} from "../transactions/e2e_support.ts";
import { searchMessage } from "../transactions/support.ts";
import { NAMES, ssrfUrls } from "./ssrf_forms.ts";

Deno.test("no egress: the outbound client refuses every SSRF form before a socket is opened", async () => {
  const attempts: string[] = [];
  const http = createOutboundClient(testConfig({ outboundTimeoutMs: "2000" }), {
    resolver: offlineResolver(NAMES),
    beforeConnect: (_url, address) => {
      attempts.push(address);
      throw new Error(`connection attempted to ${address}`);
    },
  });
  const urls = ssrfUrls();
  assert.ok(urls.length >= 150);
  for (const url of urls) {
    for (const call of [() => http.request(url, { method: "POST", body: "{}" }), () => http.check(url)]) {
      const err = await call().then(() => undefined, (e) => e);
      assert.ok(err instanceof OutboundError, `${url}: ${err}`);
      assert.ok(["blocked", "invalid_url"].includes(err.reason), `${url}: ${err.reason} ${err.message}`);
    }
  }
  assert.deepEqual(attempts, []);
});

loopbackOnlyTest(
  "no egress: inside the test namespace only loopback exists, and a connect or lookup off the machine fails at once",
  import.meta.url,
  async () => {
    assert.ok(insideLoopbackNetns());
    assert.deepEqual(nonLoopbackInterfaces(), []);
    await assert.rejects(Deno.connect({ hostname: "192.0.2.1", port: 80 }), /unreachable/i);
    await assert.rejects(Deno.connect({ hostname: "2001:db8::1", port: 80 }), /unreachable/i);
    await assert.rejects(lookup("dci-no-egress.example"));
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () => new Response("ok"),
    );
    try {
      assert.equal(await (await fetch(`http://127.0.0.1:${server.addr.port}/`)).text(), "ok");
    } finally {
      await server.shutdown();
    }
  },
  { netnsOnly: true },
);

loopbackOnlyTest(
  "no egress: a server whose guard lets every address through still sends nothing off the machine",
  import.meta.url,
  async () => {
    // DCI_OUTBOUND_ALLOW=0.0.0.0/0,::/0 turns the guard off; what stops the connections is the namespace (or,
    // where none is available, the server's loopback-only network permission).
    const server = await startWorkerServer(
      {
        DCI_OUTBOUND_ALLOW: "0.0.0.0/0,::/0",
        DCI_CALLBACK_RETRY_DELAYS_MS: "50",
        DCI_OUTBOUND_TIMEOUT_MS: "3000",
      },
      undefined,
      insideLoopbackNetns() ? "all" : "loopback",
    );
    try {
      const sender = await createServerSender(server);
      const targets = [
        "http://10.0.0.7/cb",
        "http://192.0.2.1:8080/cb",
        "https://93.184.216.34/cb",
        "http://[2001:db8::7]/cb",
        "http://169.254.169.254/latest/",
      ];
      for (const [i, uri] of targets.entries()) {
        const res = await send(server, sender, "/registry/search", searchMessage(`egress-${i}`), uri);
        assert.equal(res.status, 202, `${uri} is accepted: the guard lets it through`);
        const corr = (res.body.message as Record<string, string>).correlation_id;
        const txn = await waitForState(server, corr, "callback_failed", 20_000);
        assert.match(String(txn.last_error), /^network: /, `${uri}: ${txn.last_error}`);
      }
      const list = await adminGet(server, "/transactions?state=callback_sent");
      assert.deepEqual(list.items, []);
    } finally {
      await server.stop();
    }
  },
  // The namespace has a loopback of its own, where the shared PostgreSQL test cluster cannot be reached: on the
  // PostgreSQL pass the server inside it could not open its database.
  { ignore: TEST_BACKEND === "postgres" && netnsAvailable() },
);
