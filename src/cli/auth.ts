/** `dci-server sender …` and `dci-server client …`: the CLI mirror of the senders and clients admin API. */
import { CliFailure, type Command, type CommandInput, type CommandTree, UsageError } from "./cli.ts";
import { withDeps } from "./system.ts";
import type { Deps } from "../deps.ts";
import {
  addSender,
  getSender,
  listSenders,
  SenderError,
  type SenderInput,
  updateSender,
} from "../senders/store.ts";
import { deleteSender, disableSender, enableSender, type SenderWork } from "../senders/offboarding.ts";
import { addSenderKey, listSenderKeys, removeSenderKey } from "../senders/keys.ts";
import { fetchSenderKeys } from "../senders/jwks_fetch.ts";
import {
  createClient,
  DEFAULT_SCOPES,
  listClients,
  revokeClient,
  rotateClientSecret,
  SCOPES,
} from "../senders/clients.ts";
import { SETTINGS_OPTIONS, settingsInput } from "./sender_settings.ts";

type Opt = NonNullable<Command["options"]>[string];
const SENDER_OPTIONS: Record<string, Opt> = {
  name: { type: "string", description: "Display name" },
  "callback-url": { type: "string", description: "Callback base URL (wins over header.sender_uri)" },
  "jwks-url": { type: "string", description: "URL of the sender's JWKS (keys are fetched from it)" },
  "limit-minute": {
    type: "string",
    description: "Requests per rolling minute ('' or absent at add: DCI_RATE_LIMIT_MINUTE)",
  },
  "limit-day": {
    type: "string",
    description: "Requests per UTC day ('' or absent at add: DCI_RATE_LIMIT_DAY)",
  },
  "auto-approve": { type: "string", description: "Auto-approve subscriptions: true|false" },
  ...SETTINGS_OPTIONS,
};

async function senderInput(values: CommandInput["values"]): Promise<SenderInput> {
  const num = (k: string) => {
    if (values[k] === undefined) return undefined;
    // '' resets the limit to the configured default, as null does in the admin API.
    if (values[k] === "") return null;
    const n = Number(values[k]);
    if (!Number.isSafeInteger(n) || n < 1) {
      throw new UsageError(`--${k} must be a positive integer ('' for the server default)`);
    }
    return n;
  };
  const str = (k: string) =>
    values[k] === undefined ? undefined : (values[k] === "" ? null : String(values[k]));
  const auto = values["auto-approve"];
  if (auto !== undefined && auto !== "true" && auto !== "false") {
    throw new UsageError("--auto-approve must be true or false");
  }
  const input: SenderInput = {
    name: values.name === undefined ? undefined : String(values.name),
    callback_base_url: str("callback-url"),
    jwks_url: str("jwks-url"),
    limit_minute: num("limit-minute"),
    limit_day: num("limit-day"),
    auto_approve_subscriptions: auto === undefined ? undefined : auto === "true",
  };
  return {
    ...Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)),
    ...await settingsInput(values),
  } as SenderInput;
}

/** A command that opens deps and maps SenderError to exit 1. */
function cmd(spec: Omit<Command, "run">, fn: (deps: Deps, input: CommandInput) => unknown): Command {
  return {
    ...spec,
    run: (input) =>
      withDeps(input.config(), async (deps) => {
        try {
          await fn(deps, input);
        } catch (err) {
          if (err instanceof SenderError) throw new CliFailure(err.message);
          throw err;
        }
      }),
  };
}

const work = (w: SenderWork) =>
  `${w.subscriptions} subscription(s), ${w.notifications} notification(s), ${w.transactions} transaction(s)`;
const SENDER_COLUMNS = [
  "sender_id",
  "name",
  "active",
  "limit_minute",
  "limit_day",
  "signature_policy",
  "test_mode",
  "jwks_fetch_status",
];
const KEY_COLUMNS = ["key_id", "alg", "source", "active", "created_at"];

const senderCommands: CommandTree = {
  add: cmd({
    summary: "Register a sender",
    usage: "SENDER_ID",
    args: [1, 1],
    options: SENDER_OPTIONS,
    examples: [
      "sender add spmis.example --name 'Social protection MIS' --callback-url https://spmis.example/dci",
      "sender add partner.example --jwks-url https://partner.example/.well-known/jwks.json --json",
    ],
  }, async (d, i) => {
    const s = await addSender(d, i.positionals[0], await senderInput(i.values));
    i.print.done(`created sender ${s.sender_id}`, s);
  }),
  list: cmd({ summary: "List senders", examples: ["sender list", "sender list --json"] }, async (d, i) => {
    const senders = await listSenders(d);
    i.print.list(senders, SENDER_COLUMNS, { senders });
  }),
  show: cmd({
    summary: "Show a sender and its keys",
    usage: "SENDER_ID",
    args: [1, 1],
    examples: ["sender show spmis.example", "sender show spmis.example --json"],
  }, async (d, i) => {
    const s = await getSender(d, i.positionals[0]);
    if (!s) throw new CliFailure(`sender "${i.positionals[0]}" does not exist`);
    i.print.show({ ...s, keys: await listSenderKeys(d, s.sender_id) });
  }),
  update: cmd({
    summary: "Change a sender",
    usage: "SENDER_ID",
    args: [1, 1],
    options: SENDER_OPTIONS,
    examples: ["sender update spmis.example --limit-minute 600", "sender update spmis.example --jwks-url ''"],
  }, async (d, i) => {
    const s = await updateSender(d, i.positionals[0], await senderInput(i.values));
    i.print.done(`updated sender ${s.sender_id}`, s);
  }),
  disable: cmd({
    summary: "Disable a sender: its requests are refused, its notifications and callbacks held",
    usage: "SENDER_ID",
    args: [1, 1],
    examples: ["sender disable spmis.example"],
  }, async (d, i) => {
    const { sender, held } = await disableSender(d, i.positionals[0]);
    i.print.done(`disabled sender ${i.positionals[0]} (held ${work(held)})`, { ...sender, held });
  }),
  enable: cmd({
    summary: "Enable a sender: its held notifications and callbacks resume, in order",
    usage: "SENDER_ID",
    args: [1, 1],
    examples: ["sender enable spmis.example"],
  }, async (d, i) => {
    const { sender, resumed } = await enableSender(d, i.positionals[0]);
    i.print.done(`enabled sender ${i.positionals[0]} (resuming ${work(resumed)})`, { ...sender, resumed });
  }),
  remove: cmd({
    summary: "Remove a sender with its keys and clients; its subscriptions and deliveries are cancelled",
    usage: "SENDER_ID",
    args: [1, 1],
    examples: ["sender remove spmis.example"],
  }, async (d, i) => {
    const cancelled = await deleteSender(d, i.positionals[0]);
    i.print.done(`removed sender ${i.positionals[0]} (cancelled ${work(cancelled)})`, {
      sender_id: i.positionals[0],
      removed: true,
      cancelled,
    });
  }),
  "fetch-keys": cmd({
    summary: "Fetch the sender's keys from its JWKS URL now",
    usage: "SENDER_ID",
    args: [1, 1],
    examples: ["sender fetch-keys partner.example"],
  }, async (d, i) => {
    const outcome = await fetchSenderKeys(d, i.positionals[0]);
    // A failed fetch is recorded on the sender (its fetch error): a write, audited as such.
    if (!outcome.ok) throw new CliFailure(`JWKS fetch failed: ${outcome.error}`, 1, { wrote: true });
    i.print.done(`fetched ${outcome.keys} key(s) for ${i.positionals[0]}`, {
      ...outcome,
      keys: await listSenderKeys(d, i.positionals[0]),
    }, { more: (outcome.skipped ?? []).map((s) => `skipped ${s}`) });
  }),
  key: {
    add: cmd({
      summary: "Add a sender's public key (PEM or JWK, from a file or - for stdin); a private key is refused",
      usage: "SENDER_ID KEY_ID --file PATH [--alg ed25519|rsa-sha256|rsa]",
      args: [2, 2],
      options: {
        file: { type: "string", description: "PEM or JWK file of the public key; - reads stdin" },
        alg: { type: "string", description: "Expected algorithm (checked against the key)" },
      },
      examples: [
        "sender key add spmis.example k1 --file spmis-public.pem",
        "sender key add spmis.example k2 --file key.jwk --alg ed25519 --json",
      ],
    }, async (d, i) => {
      if (typeof i.values.file !== "string") throw new UsageError("--file is required");
      const material = i.values.file === "-"
        ? await new Response(Deno.stdin.readable).text()
        : await Deno.readTextFile(i.values.file);
      const alg = typeof i.values.alg === "string" ? i.values.alg : undefined;
      const k = await addSenderKey(d, i.positionals[0], { keyId: i.positionals[1], material, alg });
      i.print.done(`added key ${k.key_id} (${k.alg}) to ${k.sender_id}`, k);
    }),
    list: cmd({
      summary: "List a sender's keys",
      usage: "SENDER_ID",
      args: [1, 1],
      examples: ["sender key list spmis.example", "sender key list spmis.example --json"],
    }, async (d, i) => {
      const keys = await listSenderKeys(d, i.positionals[0]);
      i.print.list(keys, KEY_COLUMNS, { keys });
    }),
    remove: cmd({
      summary: "Remove a key",
      usage: "SENDER_ID KEY_ID",
      args: [2, 2],
      examples: ["sender key remove spmis.example k1"],
    }, async (d, i) => {
      await removeSenderKey(d, i.positionals[0], i.positionals[1]);
      i.print.done(`removed key ${i.positionals[1]} of ${i.positionals[0]}`, {
        sender_id: i.positionals[0],
        key_id: i.positionals[1],
        removed: true,
      });
    }),
  },
};

const clientCommands: CommandTree = {
  create: cmd({
    summary: "Create an OAuth2 client; the secret is printed once",
    usage: "--sender ID [--scopes a,b]",
    options: {
      sender: { type: "string", description: "The sender the client belongs to" },
      scopes: {
        type: "string",
        description: `Comma list of scopes (default: ${DEFAULT_SCOPES.join(", ")}; ` +
          `${
            SCOPES.filter((s) => !(DEFAULT_SCOPES as readonly string[]).includes(s)).join(", ")
          } only when named)`,
      },
      name: { type: "string", description: "Display name" },
    },
    examples: [
      "client create --sender spmis.example",
      "client create --sender spmis.example --scopes registry.search,registry.subscribe --json",
    ],
  }, async (d, i) => {
    if (typeof i.values.sender !== "string") throw new UsageError("--sender is required");
    const scopes = typeof i.values.scopes === "string"
      ? i.values.scopes.split(",").map((s) => s.trim())
      : undefined;
    const name = typeof i.values.name === "string" ? i.values.name : undefined;
    const { client, clientSecret } = await createClient(d, i.values.sender, { scopes, name });
    i.print.done(
      `created client ${client.client_id} for ${client.sender_id} (scopes ${client.scopes.join(" ")})`,
      { ...client, client_secret: clientSecret },
      { secrets: { client_id: client.client_id, client_secret: clientSecret } },
    );
  }),
  list: cmd({
    summary: "List clients",
    options: { sender: { type: "string", description: "Only this sender's clients" } },
    examples: ["client list", "client list --sender spmis.example --json"],
  }, async (d, i) => {
    const clients = await listClients(d, typeof i.values.sender === "string" ? i.values.sender : undefined);
    i.print.list(clients, ["client_id", "sender_id", "scopes", "active", "created_at", "revoked_at"], {
      clients,
    });
  }),
  revoke: cmd({
    summary: "Revoke a client (its tokens stop at once)",
    usage: "CLIENT_ID",
    args: [1, 1],
    examples: ["client revoke dcic_W3nq0b6Xh1kP8sTe"],
  }, async (d, i) => {
    const client = await revokeClient(d, i.positionals[0]);
    i.print.done(`revoked client ${i.positionals[0]}`, client);
  }),
  "rotate-secret": cmd({
    summary: "Replace a client's secret (printed once)",
    usage: "CLIENT_ID",
    args: [1, 1],
    examples: [
      "client rotate-secret dcic_W3nq0b6Xh1kP8sTe",
      "client rotate-secret dcic_W3nq0b6Xh1kP8sTe --json",
    ],
  }, async (d, i) => {
    const { clientSecret } = await rotateClientSecret(d, i.positionals[0]);
    i.print.done(
      `new secret for client ${i.positionals[0]}`,
      { client_id: i.positionals[0], client_secret: clientSecret },
      { secrets: { client_secret: clientSecret } },
    );
  }),
};

/** The sender and client command groups. */
export const authCommands: CommandTree = { sender: senderCommands, client: clientCommands };
