/** The OAuth2 client store and the client services over it, the same contract on both backends. */
import { deepEqual, equal, notEqual, ok, rejects } from "node:assert/strict";
import { Buffer } from "node:buffer";
import { backendTest } from "../helpers/storage.ts";
import { instancesTest, senderDeps } from "../helpers/two_instances.ts";
import { SenderError } from "../../src/senders/errors.ts";
import type { NewClient } from "../../src/senders/client_store.ts";
import { addSender, setSenderActive } from "../../src/senders/store.ts";
import {
  createClient,
  getClient,
  listClients,
  pageClients,
  revokeClient,
  rotateClientSecret,
} from "../../src/senders/clients.ts";
import { verifySecret } from "../../src/auth/secrets.ts";
import type { Storage } from "../../src/db/storage.ts";

const NOW = "2026-01-01T00:00:00.000Z";
const refusedAs = (kind: string, re?: RegExp) => (e: unknown) =>
  e instanceof SenderError && e.kind === kind && (!re || re.test(e.message));
const sender = (s: Storage, id: string) =>
  s.senders.insert(id, { name: id, created_at: NOW, updated_at: NOW });
const client = (id: string, senderId: string, at = NOW): NewClient => ({
  client_id: id,
  sender_id: senderId,
  name: null,
  secret_hash: `{"hash":"${id}"}`,
  scopes: "registry.search registry.subscribe",
  created_at: at,
});

backendTest("client store: insert needs the sender; rows come back the same on both backends", async (s) => {
  equal(await s.clients.insert(client("c1", "nobody")), false);
  equal(await s.clients.get("c1"), undefined);
  await sender(s, "p");
  equal(await s.clients.insert(client("c1", "p")), true);
  deepEqual({ ...(await s.clients.get("c1"))! }, {
    client_id: "c1",
    sender_id: "p",
    name: null,
    secret_hash: '{"hash":"c1"}',
    scopes: "registry.search registry.subscribe",
    active: 1,
    created_at: NOW,
    secret_rotated_at: null,
    revoked_at: null,
  });
  await rejects(() => s.clients.insert(client("c1", "p")));
});

backendTest("client store: lists by created_at then id (binary), of all senders or one", async (s) => {
  await sender(s, "p");
  await sender(s, "q");
  await s.clients.insert(client("c_b", "p"));
  await s.clients.insert(client("cZ", "q"));
  await s.clients.insert(client("ca", "p", "2025-12-31T00:00:00.000Z"));
  deepEqual((await s.clients.list()).map((c) => c.client_id), ["ca", "cZ", "c_b"]);
  deepEqual((await s.clients.list("p")).map((c) => c.client_id), ["ca", "c_b"]);
  deepEqual(await s.clients.list("nobody"), []);
  // A page: after a row, at most limit rows.
  const after = { created_at: NOW, client_id: "cZ" };
  deepEqual((await s.clients.list(undefined, { limit: 2 })).map((c) => c.client_id), ["ca", "cZ"]);
  deepEqual((await s.clients.list(undefined, { after, limit: 2 })).map((c) => c.client_id), ["c_b"]);
  deepEqual((await s.clients.list("q", { after, limit: 2 })).map((c) => c.client_id), []);
});

backendTest(
  "client services: pages of clients follow next to the last, a foreign cursor is refused",
  async (s) => {
    const deps = senderDeps(s);
    await sender(s, "p");
    await sender(s, "q");
    for (const [i, id] of ["c1", "c2", "c3", "c4", "c5"].entries()) {
      await s.clients.insert(client(id, i % 2 ? "q" : "p", `2026-01-01T00:00:0${i}.000Z`));
    }
    const all = async (senderId?: string) => {
      const out: string[] = [];
      let after: string | undefined;
      do {
        const page = await pageClients(deps, { senderId, after, limit: 2 });
        ok(page.clients.length <= 2);
        out.push(...page.clients.map((c) => c.client_id));
        after = page.next;
      } while (after);
      return out;
    };
    deepEqual(await all(), ["c1", "c2", "c3", "c4", "c5"]);
    deepEqual(await all("p"), ["c1", "c3", "c5"]);
    equal((await pageClients(deps, { limit: 5 })).next, undefined, "no next after the last row");
    await rejects(() => pageClients(deps, { after: "nonsense" }), refusedAs("invalid", /next_after/));
    // A cursor whose JSON holds a NUL (PostgreSQL refuses one in text: that was a 500) is no cursor either.
    await rejects(
      () => pageClients(deps, { after: Buffer.from('["\\u0000","x"]').toString("base64url") }),
      refusedAs("invalid", /next_after/),
    );
  },
);

backendTest("client store: revoke once; a secret is replaced only while the client is active", async (s) => {
  await sender(s, "p");
  await s.clients.insert(client("c1", "p"));
  const later = "2026-01-02T00:00:00.000Z";
  equal(await s.clients.setSecret("c1", '{"hash":"new"}', later), true);
  let row = (await s.clients.get("c1"))!;
  deepEqual([row.secret_hash, row.secret_rotated_at], ['{"hash":"new"}', later]);
  const revoked = await s.clients.revoke("c1", later);
  deepEqual([revoked!.active, revoked!.revoked_at], [0, later]);
  equal(await s.clients.revoke("c1", later), undefined);
  equal(await s.clients.revoke("nobody", later), undefined);
  equal(await s.clients.setSecret("c1", '{"hash":"newer"}', later), false);
  row = (await s.clients.get("c1"))!;
  equal(row.secret_hash, '{"hash":"new"}');
});

backendTest(
  "client store: the authentication read carries the sender's active flag; a deleted sender's go",
  async (s) => {
    await sender(s, "p");
    await s.clients.insert(client("c1", "p"));
    equal((await s.clients.forAuth("c1"))!.sender_active, 1);
    equal((await s.clients.forAuth("c1"))!.secret_hash, '{"hash":"c1"}');
    await s.senders.update("p", { active: 0 });
    equal((await s.clients.forAuth("c1"))!.sender_active, 0);
    equal(await s.clients.forAuth("nobody"), undefined);
    await s.senders.delete("p", "r", NOW);
    equal(await s.clients.forAuth("c1"), undefined);
    equal(await s.clients.get("c1"), undefined);
  },
);

backendTest(
  "client services: the secret is shown once and stored only as a hash; rotate and revoke",
  async (s) => {
    const deps = senderDeps(s);
    await addSender(deps, "p", {});
    await rejects(() => createClient(deps, "nobody"), refusedAs("not_found"));
    await rejects(
      () => createClient(deps, "p", { scopes: ["admin"] }),
      refusedAs("invalid", /scope "admin"/),
    );
    const { client, clientSecret } = await createClient(deps, "p", {
      name: "Main",
      scopes: ["registry.search"],
    });
    ok(client.client_id.startsWith("dcic_"));
    deepEqual(client.scopes, ["registry.search"]);
    equal(client.active, true);
    const stored = (await s.clients.get(client.client_id))!;
    ok(!stored.secret_hash.includes(clientSecret), "the secret is not stored in clear");
    equal(await verifySecret(clientSecret, JSON.parse(stored.secret_hash)), true);
    deepEqual(await listClients(deps, "p"), [client]);

    const { clientSecret: rotated } = await rotateClientSecret(deps, client.client_id);
    notEqual(rotated, clientSecret);
    const after = (await s.clients.get(client.client_id))!;
    equal(await verifySecret(rotated, JSON.parse(after.secret_hash)), true);
    equal(await verifySecret(clientSecret, JSON.parse(after.secret_hash)), false);
    equal((await revokeClient(deps, client.client_id)).active, false);
    await rejects(() => revokeClient(deps, client.client_id), refusedAs("not_found", /already revoked/));
    await rejects(
      () => rotateClientSecret(deps, client.client_id),
      refusedAs("not_found", /unknown or revoked/),
    );
    equal((await getClient(deps, client.client_id))!.revoked_at, NOW);
  },
);

instancesTest(
  "client services: a revoke or a disabled sender on one instance is seen by the other's next read",
  async (t) => {
    const a = senderDeps(t.a);
    const b = senderDeps(t.b);
    await addSender(a, "p", {});
    const { client } = await createClient(a, "p");
    equal((await t.b.clients.forAuth(client.client_id))!.active, 1);
    await setSenderActive(a, "p", false);
    equal((await t.b.clients.forAuth(client.client_id))!.sender_active, 0);
    await revokeClient(b, client.client_id);
    equal((await t.a.clients.forAuth(client.client_id))!.active, 0);
  },
);
