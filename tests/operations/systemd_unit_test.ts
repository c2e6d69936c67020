import { equal, ok } from "node:assert/strict";

const UNIT = Deno.readTextFileSync(new URL("../../packaging/dci-server.service", import.meta.url));
const SYSTEMD_ANALYZE = "/usr/bin/systemd-analyze";

/** Runs systemd-analyze; a missing command fails the test with the package to install (never a silent skip). */
async function analyze(args: string[]): Promise<{ code: number; out: string }> {
  let res;
  try {
    res = await new Deno.Command(SYSTEMD_ANALYZE, { args, stdout: "piped", stderr: "piped" }).output();
  } catch (err) {
    throw new Error(
      `${SYSTEMD_ANALYZE} is needed to check packaging/dci-server.service (apt-get install systemd): ${err}`,
    );
  }
  const dec = new TextDecoder();
  return { code: res.code, out: dec.decode(res.stdout) + dec.decode(res.stderr) };
}

/** A copy of the unit in a temp dir, its ExecStart pointed at an existing executable (verify checks it). */
async function unitCopy(edit: (text: string) => string = (t) => t): Promise<{ dir: string; path: string }> {
  const dir = await Deno.makeTempDir({ prefix: "dci-unit-" });
  const path = `${dir}/dci-server.service`;
  await Deno.writeTextFile(
    path,
    edit(UNIT.replace("ExecStart=/usr/local/bin/dci-server", `ExecStart=${Deno.execPath()}`)),
  );
  return { dir, path };
}

/** The unit's `Key=value` lines (comments dropped), by key; repeated keys keep every value. */
function directives(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const line of text.split("\n")) {
    const m = line.match(/^([A-Za-z]+)=(.*)$/);
    if (m) out.set(m[1], [...(out.get(m[1]) ?? []), m[2]]);
  }
  return out;
}

Deno.test("packaging/dci-server.service passes systemd-analyze verify with no warning; a misspelt key is reported", async () => {
  const good = await unitCopy();
  const bad = await unitCopy((t) => t.replace("PrivateTmp=yes", "PrivateTmpp=yes"));
  try {
    const ok1 = await analyze(["verify", good.path]);
    equal(ok1.code, 0, ok1.out);
    equal(ok1.out.trim(), "");
    const ko = await analyze(["verify", bad.path]);
    ok(/Unknown key 'PrivateTmpp'/.test(ko.out), ko.out);
  } finally {
    await Deno.remove(good.dir, { recursive: true });
    await Deno.remove(bad.dir, { recursive: true });
  }
});

Deno.test("packaging/dci-server.service: systemd-analyze security rates its exposure OK (at most 2.0)", async () => {
  const unit = await unitCopy();
  try {
    const r = await analyze(["security", "--offline=true", "--no-pager", unit.path]);
    const level = Number(r.out.match(/Overall exposure level for \S+: ([\d.]+)/)?.[1]);
    ok(level <= 2.0, `exposure ${level}:\n${r.out}`);
  } finally {
    await Deno.remove(unit.dir, { recursive: true });
  }
});

Deno.test("packaging/dci-server.service: hardened as Deno allows (no MemoryDenyWriteExecute, which breaks V8's JIT)", () => {
  const d = directives(UNIT);
  const one = (k: string) => d.get(k)?.join(" ");
  equal(one("DynamicUser"), "yes");
  equal(one("StateDirectory"), "dci-server");
  equal(one("ProtectSystem"), "strict");
  equal(one("ProtectHome"), "yes");
  equal(one("PrivateTmp"), "yes");
  equal(one("NoNewPrivileges"), "yes");
  equal(one("CapabilityBoundingSet"), "");
  equal(one("RestrictAddressFamilies"), "AF_INET AF_INET6 AF_UNIX");
  equal(one("SystemCallFilter"), "@system-service");
  equal(d.has("MemoryDenyWriteExecute"), false);
  // The data dir is the state directory, and SIGHUP (the TLS reload) is the unit's reload.
  ok(d.get("Environment")?.includes("DCI_DATA_DIR=%S/dci-server"));
  equal(one("ExecReload"), "/bin/kill -HUP $MAINPID");
  equal(one("ExecStart"), "/usr/local/bin/dci-server serve");
});

Deno.test("packaging/dci-server.service: its commented backup dir on another disk and TLS files' group, uncommented, verify", async () => {
  const example = [
    "ReadWritePaths=/srv/dci-backups",
    "SupplementaryGroups=dci-backup",
    "SupplementaryGroups=dci-tls",
  ];
  for (const line of example) ok(UNIT.includes(`\n#${line}\n`), `the unit shows #${line}`);
  // The dir itself is set in the env file, which the CLI's --env-file reads too (a unit Environment= it would not).
  ok(
    UNIT.includes("put DCI_BACKUP_DIR=/srv/dci-backups in\n# /etc/dci-server/env"),
    "the unit says where the dir is set",
  );
  ok(!/^#?Environment=DCI_BACKUP_DIR=\/srv/m.test(UNIT), "no unit-only backup dir example");
  // TLS files through a group, not LoadCredential= (a copy made once per start, which a reload would re-read).
  ok(
    !/^LoadCredential/m.test(UNIT) && UNIT.includes("Not\n# LoadCredential=:"),
    "the unit warns off LoadCredential=",
  );
  const unit = await unitCopy((t) => t.replace(/^#((?:ReadWritePaths|SupplementaryGroups)=.*)$/gm, "$1"));
  try {
    const d = directives(await Deno.readTextFile(unit.path));
    equal(d.get("ReadWritePaths")?.join(" "), "/srv/dci-backups");
    equal(d.get("SupplementaryGroups")?.join(" "), "dci-backup dci-tls");
    const r = await analyze(["verify", unit.path]);
    equal(r.code, 0, r.out);
    equal(r.out.trim(), "");
  } finally {
    await Deno.remove(unit.dir, { recursive: true });
  }
});
