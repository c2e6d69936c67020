/**
 * Real authentication for tests of any area: a sender with a freshly generated key, an OAuth2 client, a
 * bearer token and an envelope signer.
 *
 *   const alice = await createTestSender(deps);                       // in-process (createApp(deps).request)
 *   const alice = await createServerSender(server);                   // a running `main.ts serve`
 *   const res = await postJson(url, alice.sign(requestEnvelope(alice.senderId, msg)), alice.headers());
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { type Deps, depsServices } from "../../src/deps.ts";
import { testConfig } from "../../src/config.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { sqliteStorage, type Storage } from "../../src/db/storage.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { databaseOfDataDir } from "./server.ts";
import { systemClock } from "../../src/clock.ts";
import { Metrics } from "../../src/obs/metrics.ts";
import type { KeyAlg } from "../../src/keys/server_keys.ts";
import { signEnvelope } from "../../src/auth/envelope_signature.ts";
import { issueAccessToken } from "../../src/auth/jwt.ts";
import { addSender, type SenderInput } from "../../src/senders/store.ts";
import { addSenderKey } from "../../src/senders/keys.ts";
import { createClient } from "../../src/senders/clients.ts";

/** A registered sender with everything a test needs to call the server as it. */
export interface TestSender {
  senderId: string;
  clientId: string;
  clientSecret: string;
  keyId: string;
  alg: KeyAlg;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** A bearer access token for the client. */
  token: string;
  /** `{ authorization: "Bearer <token>" }` to pass as request headers. */
  headers(): Record<string, string>;
  /** Returns the envelope with its DCI `signature` set (signed now, or at `nowMs`). */
  sign<T extends { header: unknown; message: unknown }>(
    envelope: T,
    nowMs?: number,
  ): T & { signature: string };
  /** The bare signature string for an envelope. */
  signature(envelope: { header: unknown; message: unknown }, nowMs?: number): string;
}

/** What to register. Everything is optional; the sender id is random by default. */
export interface TestSenderOptions extends SenderInput {
  senderId?: string;
  alg?: KeyAlg;
  scopes?: string[];
  keyId?: string;
}

async function register(deps: Deps, options: TestSenderOptions) {
  const { senderId: sid, alg: a, scopes, keyId: kid, ...input } = options;
  const senderId = sid ?? `test-${crypto.randomUUID().slice(0, 8)}`;
  const alg = a ?? "ed25519";
  const keyId = kid ?? "k1";
  const pair = alg === "ed25519"
    ? generateKeyPairSync("ed25519")
    : generateKeyPairSync("rsa", { modulusLength: 2048 });
  await addSender(deps, senderId, { name: `Test sender ${senderId}`, ...input });
  await addSenderKey(deps, senderId, {
    keyId,
    material: pair.publicKey.export({ format: "pem", type: "spki" }) as string,
  });
  const { client, clientSecret } = await createClient(deps, senderId, { scopes });
  return { senderId, alg, keyId, pair, clientId: client.client_id, clientSecret };
}

function finish(r: Awaited<ReturnType<typeof register>>, token: string, clock: () => number): TestSender {
  const key = { kid: `${r.senderId}|${r.keyId}|${r.alg}`, alg: r.alg, privateKey: r.pair.privateKey };
  const signature = (envelope: { header: unknown; message: unknown }, nowMs?: number) =>
    signEnvelope(envelope, key, { nowMs: nowMs ?? clock() });
  return {
    senderId: r.senderId,
    clientId: r.clientId,
    clientSecret: r.clientSecret,
    keyId: r.keyId,
    alg: r.alg,
    privateKey: r.pair.privateKey,
    publicKey: r.pair.publicKey,
    token,
    headers: () => ({ authorization: `Bearer ${token}` }),
    signature,
    sign: (envelope, nowMs) => ({ ...envelope, signature: signature(envelope, nowMs) }),
  };
}

/** Registers a sender, key and client in `deps` (in-process tests); the token is signed with deps' server key. */
export async function createTestSender(deps: Deps, options: TestSenderOptions = {}): Promise<TestSender> {
  const r = await register(deps, options);
  const { token } = await issueAccessToken(deps, {
    senderId: r.senderId,
    clientId: r.clientId,
    scopes: options.scopes ??
      ["registry.search", "registry.subscribe", "registry.txn-status", "registry.receipt"],
  });
  return finish(r, token, () => deps.clock.now());
}

/**
 * Registers a sender, key and client directly in a running server's SQLite file (`server.dataDir`), then gets
 * the token from the server's real POST /oauth2/client/token.
 */
export async function createServerSender(
  server: { url: string; dataDir: string },
  options: TestSenderOptions = {},
): Promise<TestSender> {
  // On the PostgreSQL pass the server's data is the database standing for its data dir.
  const url = await databaseOfDataDir(server.dataDir);
  if (url) {
    const pool = openPgPool(url, { max: 2 });
    try {
      return await createStoredSender(pgStorage(pool), server.url, options);
    } finally {
      await pool.end();
    }
  }
  const db = openDatabase(`${server.dataDir}/dci.sqlite`);
  try {
    return await createStoredSender(sqliteStorage(db), server.url, options);
  } finally {
    db.close();
  }
}

/**
 * Registers a sender, key and client through `storage` (the database servers share: PostgreSQL for several
 * instances), then gets the token from `baseUrl`'s real POST /oauth2/client/token.
 */
export async function createStoredSender(
  storage: Storage,
  baseUrl: string,
  options: TestSenderOptions = {},
): Promise<TestSender> {
  const deps = {
    storage,
    clock: systemClock,
    config: testConfig(),
    metrics: new Metrics(),
    ...depsServices(),
  } as unknown as Deps;
  const r = await register(deps, options);
  const token = await fetchToken(baseUrl, r.clientId, r.clientSecret);
  return finish(r, token, () => Date.now());
}

/** Gets an access token from a server's token endpoint with HTTP Basic client credentials. */
export async function fetchToken(baseUrl: string, clientId: string, clientSecret: string): Promise<string> {
  const res = await fetch(`${baseUrl}/oauth2/client/token`, {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${btoa(`${clientId}:${clientSecret}`)}`,
    },
    body: "grant_type=client_credentials",
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`token request failed: ${res.status} ${JSON.stringify(body)}`);
  return body.access_token;
}
