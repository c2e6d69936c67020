/**
 * `deno task screenshots`: starts the server (`main.ts serve`, a temp data dir, the demo registries) on a free
 * loopback port, adds demo senders, keys and clients through the admin API, logs in to the console with
 * Chromium and saves a PNG of every page of src/console/nav.ts into docs/screenshots/.
 */
import { randomBytes } from "node:crypto";
import { generateKeyPairSync } from "node:crypto";
import { NAV } from "../src/console/nav.ts";
import { startServerProcess } from "../tests/helpers/server.ts";
import { launchBrowser } from "../tests/helpers/console_browser.ts";

const OUT = new URL("../docs/screenshots/", import.meta.url);

/** The PNG name of a console path: "" is the dashboard, "senders/x" is senders-x. */
function fileName(path: string): string {
  return `${path === "" ? "dashboard" : path.replace(/[^A-Za-z0-9.-]+/g, "-")}.png`;
}

async function admin(base: string, token: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
  return await res.json();
}

/** Demo senders with keys and clients, as an operator would set them up. */
async function seed(base: string, token: string): Promise<void> {
  const senders = [
    {
      sender_id: "openspp.example.org",
      name: "OpenSPP",
      callback_base_url: "https://openspp.example.org/dci",
    },
    { sender_id: "crvs.example.org", name: "CRVS partner", callback_url_mode: "exact" },
    { sender_id: "sandbox.example.org", name: "Sandbox", test_mode: true, signature_policy: "optional" },
  ];
  for (const s of senders) {
    await admin(base, token, "POST", "/senders", s);
    const pem = generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" });
    await admin(base, token, "POST", `/senders/${s.sender_id}/keys`, { key_id: "key-1", pem });
    await admin(base, token, "POST", "/clients", { sender_id: s.sender_id, name: `${s.name} client` });
  }
  await admin(base, token, "POST", "/senders/sandbox.example.org/disable");
  // Import 1, with a rejected row, for the Registry → Import pages.
  const csv = "id,given_name,surname,sex,birth_date,id.UIN\n" +
    "IMP-1,Ana,Banda,female,1990-01-02,UIN-IMP-1\n" +
    "IMP-2,Ben,Phiri,male,1990-13-45,UIN-IMP-2\n";
  const res = await fetch(`${base}/admin/v1/registries/social/imports?file_name=people.csv`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "text/csv" },
    body: csv,
  });
  if (res.status !== 202) throw new Error(`import upload: ${res.status} ${await res.text()}`);
  const job = await res.json();
  await server.waitForLog((l) => l.msg === "import done" && l.id === job.id);
}

const token = randomBytes(24).toString("base64url");
const server = await startServerProcess({
  env: { DCI_SEED_DEMO: "true", DCI_DEMO_SIZE: "50", DCI_ADMIN_TOKEN: token },
});
const browser = await launchBrowser();
try {
  await seed(server.url, token);
  await Deno.mkdir(OUT, { recursive: true });
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  await page.goto(`${server.url}/console/login`);
  await page.getByLabel("Admin or viewer token").fill(token);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${server.url}/console/`);
  const paths = NAV.flatMap((p) => [p.path, ...(p.screenshots ?? [])]);
  for (const path of paths) {
    const answer = await page.goto(`${server.url}/console/${path}`);
    if (answer?.status() !== 200) throw new Error(`console/${path} answered ${answer?.status()}`);
    const file = new URL(fileName(path), OUT);
    await page.screenshot({ path: file.pathname, fullPage: true });
    console.log(`saved ${file.pathname}`);
  }
} finally {
  await browser.close();
  await server.stop();
}
