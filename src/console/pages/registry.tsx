/**
 * The registry browser, per served registry: search by id, identifier value or family name (src/registry/
 * browse.ts), one record as a readable form and as the JSON-LD the API returns, and the recent change events.
 */
import type { Hono } from "hono";
import type { Deps } from "../../deps.ts";
import { type ConsoleEnv, href } from "../context.ts";
import { Field, FilterForm, Table } from "../components.tsx";
import { servedRegistries } from "../../actions/registries.ts";
import type { RegistryProfile } from "../../registries/profile.ts";
import { BrowseTooBroad } from "../../registry/browse.ts";
import type { StoredRegistrant } from "../../registry/store.ts";
import { viewedRecordOf } from "../../registries/records.ts";
import type { RegistryEvent } from "../../registry/events.ts";

const ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** GET /console/registry[/:registry[/records/:id]] */
export function registryPages(app: Hono<ConsoleEnv>, deps: Deps): void {
  const served = () => servedRegistries(deps.config, deps.extensions?.registries).served;
  const find = (name: string) => served().find((p) => p.name === name);

  app.get("/registry", (c) => c.redirect(href(c, `registry/${served()[0].name}`), 303));

  app.get("/registry/:registry", async (c) => {
    const profile = find(c.req.param("registry"));
    if (!profile) return notFound(c, "No such registry.");
    const q = c.req.query("q")?.trim().slice(0, 100) ?? "";
    let tooBroad: string | undefined;
    const page = q
      ? await deps.storage.registry.browse(profile, q, {
        after: c.req.query("after"),
        limit: 50,
        budgetMs: deps.config.searchBudgetMs,
      }).catch((err) => {
        if (!(err instanceof BrowseTooBroad)) throw err;
        tooBroad = `Not searched: ${err.message}.`;
        return undefined;
      })
      : undefined;
    const events = await deps.storage.registry.recentEvents(profile.name, { limit: 20 });
    return c.render(
      <>
        <nav aria-label="Registries" class="filters">
          {served().map((p) => (
            <a href={href(c, `registry/${p.name}`)} aria-current={p === profile ? "page" : undefined}>
              {p.name}
            </a>
          ))}
        </nav>
        <p>
          <a href={href(c, `registry/${profile.name}/imports`)}>Import records into {profile.name}</a>
        </p>
        <FilterForm label={`Search the ${profile.name} registry`}>
          <Field
            label="Search"
            name="q"
            value={q}
            hint="id, identifier value, or family name"
            maxlength={100}
          />
        </FilterForm>
        {tooBroad && <p class="warning" role="alert">{tooBroad}</p>}
        {page && (
          <Table<StoredRegistrant>
            caption="Matching records"
            rows={page.items}
            next={page.next_after ? `?${new URLSearchParams({ q, after: page.next_after })}` : undefined}
            empty="No record matches."
            columns={recordColumns(c, profile)}
          />
        )}
        <h2>Recent changes</h2>
        <EventTable events={events} />
      </>,
      { title: `Registry ${profile.name}` },
    );
  });

  app.get("/registry/:registry/records/:id", async (c) => {
    const profile = find(c.req.param("registry"));
    const id = c.req.param("id");
    const reg = profile && ID.test(id) ? await deps.storage.registry.get(id, profile.name) : undefined;
    if (!profile || !reg) return notFound(c, "No such record.");
    const record = await viewedRecordOf(deps.storage.registry, reg);
    return c.render(
      <>
        <dl class="props" id="record-props">
          {readable(reg).map(([k, v]) => (
            <>
              <dt>{k}</dt>
              <dd>{v}</dd>
            </>
          ))}
        </dl>
        <h2>JSON-LD</h2>
        <pre class="json" tabindex={0} id="record-jsonld">{JSON.stringify(record, null, 2)}</pre>
      </>,
      { title: `Record ${reg.externalId}` },
    );
  });
}

function recordColumns(c: Parameters<typeof href>[0], profile: RegistryProfile) {
  return [
    {
      title: "Id",
      cell: (r: StoredRegistrant) => (
        <a href={href(c, `registry/${profile.name}/records/${encodeURIComponent(r.externalId)}`)}>
          {r.externalId}
        </a>
      ),
    },
    { title: "Type", cell: (r: StoredRegistrant) => r.recordType },
    { title: "Name", cell: (r: StoredRegistrant) => nameOf(r) },
    {
      title: "Identifiers",
      cell: (r: StoredRegistrant) => r.identifiers.map((i) => `${i.type} ${i.value}`).join(", "),
    },
    { title: "Birth date", cell: (r: StoredRegistrant) => r.birthDate ?? "" },
  ];
}

function EventTable(props: { events: RegistryEvent[] }) {
  return (
    <Table<RegistryEvent>
      caption="Recent change events, newest first"
      rows={props.events}
      empty="No change yet."
      columns={[
        { title: "Event", cell: (e) => e.id, numeric: true },
        { title: "Type", cell: (e) => e.eventType },
        { title: "Record type", cell: (e) => e.recordType },
        { title: "Record", cell: (e) => String((e.record as { "@id"?: unknown })["@id"] ?? e.registrantId) },
        { title: "When", cell: (e) => e.createdAt },
      ]}
    />
  );
}

function readable(r: StoredRegistrant): Array<[string, string]> {
  const rows: Array<[string, string | undefined | null]> = [
    ["Id", r.externalId],
    ["Record type", r.recordType],
    ["Name", nameOf(r)],
    ["Sex", r.sex],
    ["Birth date", r.birthDate],
    ["Death date", r.deathDate],
    ["Identifiers", r.identifiers.map((i) => `${i.type} ${i.value}`).join(", ")],
    ["Household", r.groupRef],
    ["Registered", r.registrationDate],
    ["Deleted", r.deletedAt],
  ];
  return rows.filter(([, v]) => v !== undefined && v !== null && v !== "") as Array<[string, string]>;
}

function nameOf(r: StoredRegistrant): string {
  const n = (r.name ?? {}) as Record<string, unknown>;
  return [n.given_name, n.second_name, n.surname].filter((x) => typeof x === "string" && x).join(" ");
}

function notFound(c: Parameters<typeof href>[0], text: string) {
  c.status(404);
  return c.render(<p class="flash error" role="alert">{text}</p>, { title: "Not found" });
}
