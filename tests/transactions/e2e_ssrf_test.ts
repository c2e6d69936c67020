import assert from "node:assert/strict";
import { adminGet, createServerSender, send, startWorkerServer } from "./e2e_support.ts";
import { startReceiver } from "./receiver.ts";
import { searchMessage } from "./support.ts";
import { loopbackOnlyTest } from "../helpers/no_egress.ts";
import { TEST_BACKEND } from "../helpers/deps.ts";

// Runs inside a loopback-only network namespace: were the guard to let 10.0.0.7 or a metadata address
// through, the connection would fail on the spot instead of leaving the machine.
loopbackOnlyTest(
  "e2e: callback URLs the SSRF guard refuses are rejected at accept, with no connection made",
  import.meta.url,
  async () => {
    const receiver = startReceiver();
    // No allowlist: loopback, private and metadata addresses are all refused.
    const server = await startWorkerServer({ DCI_OUTBOUND_ALLOW: "" });
    try {
      const alice = await createServerSender(server);
      const port = receiver.port;
      const uris = [
        `http://127.1:${port}/`,
        `http://2130706433:${port}/`,
        `http://0.0.0.0:${port}/`,
        `http://[::ffff:127.0.0.1]:${port}/`,
        `http://localhost:${port}/`,
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/",
        "http://10.0.0.7/cb",
        "http://192.168.1.1/cb",
        `https://127.0.0.1:${port}/`,
      ];
      for (const [i, uri] of uris.entries()) {
        const res = await send(server, alice, "/registry/search", searchMessage(`ssrf-${i}`), uri);
        assert.equal(res.status, 400, `${uri} must be refused`);
        assert.equal(
          (res.body.message as { error: { code: string } }).error.code,
          "err.sender_uri.invalid",
          uri,
        );
      }
      // A registered callback base URL wins over sender_uri, and is guarded the same way.
      const bob = await createServerSender(server, { callback_base_url: "https://169.254.169.254/" });
      const viaSender = await send(
        server,
        bob,
        "/registry/search",
        searchMessage("ssrf-bob"),
        "https://ok.example/",
      );
      assert.equal(viaSender.status, 400);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(receiver.hits, 0, "no request reached the loopback receiver");
      const list = await adminGet(server, "/transactions");
      assert.deepEqual(list.items, [], "nothing was stored");
    } finally {
      await server.stop();
      await receiver.close();
    }
  },
  // Inside the loopback-only namespace the shared PostgreSQL test cluster (a host port) cannot be reached, so
  // the server could not open its database there; the guard under test is the same on either backend.
  { ignore: TEST_BACKEND === "postgres" },
);
