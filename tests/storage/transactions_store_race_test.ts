/**
 * Several instances on one PostgreSQL database (each its own pool) racing the transaction store's claims: exactly
 * one wins each claim, and a repeated accept stores one transaction.
 */
import { deepEqual, equal } from "node:assert/strict";
import { withPgInstances } from "../helpers/pg_instances.ts";
import { iso, newTxn, processed, scope, T0 } from "../helpers/txn_rows.ts";

const N = 40;

Deno.test("transaction store [postgres]: two instances racing each processing claim, exactly one wins", async () => {
  await withPgInstances(2, async ([a, b]) => {
    const ids: number[] = [];
    for (let i = 0; i < N; i++) ids.push((await a.transactions.insert(newTxn("s1", `tx-${i}`))).row.id);
    // Every claim of every id at once: two from each instance.
    const claims = await Promise.all(ids.flatMap((id) =>
      [a, a, b, b].map(async (s, k) => ({
        id,
        owner: `o${k}`,
        row: await s.transactions.claimProcessing(id, `o${k}`, iso(T0 + 1), iso(T0 + 60_000)),
      }))
    ));
    const won = claims.filter((c) => c.row !== undefined);
    deepEqual(won.map((c) => c.id).sort((x, y) => x - y), ids);
    for (const c of won) {
      const row = (await b.transactions.get(c.id))!;
      equal(row.lease_owner, c.owner);
      equal(row.process_attempts, 1, "the attempt was counted once");
    }
  });
});

Deno.test("transaction store [postgres]: two instances racing each callback claim, exactly one wins", async () => {
  await withPgInstances(2, async ([a, b]) => {
    const ids: number[] = [];
    for (let i = 0; i < N; i++) {
      const id = (await a.transactions.insert(newTxn("s1", `tx-${i}`))).row.id;
      await processed(a, id);
      ids.push(id);
    }
    const claims = await Promise.all(
      ids.flatMap((id) =>
        [a, b, a, b].map(async (s, k) =>
          (await s.transactions.claimCallback(id, `o${k}`, iso(T0 + 1), iso(T0 + 60_000)))?.id
        )
      ),
    );
    deepEqual(claims.filter((id) => id !== undefined).sort((x, y) => x! - y!), ids);
    for (const id of ids) equal((await a.transactions.get(id))!.attempts, 1);
  });
});

Deno.test("transaction store [postgres]: a sweep on two instances at once runs each due transaction once", async () => {
  await withPgInstances(3, async (instances) => {
    for (let i = 0; i < N; i++) await instances[0].transactions.insert(newTxn(`s${i % 3}`, `tx-${i}`));
    const sweep = async (k: number) => {
      const s = instances[k].transactions;
      const mine: number[] = [];
      for (const id of (await instances[k].dueWork.due(iso(T0 + 1), iso(T0 + 1), 500)).transactions) {
        if (await s.claimProcessing(id, `w${k}`, iso(T0 + 1), iso(T0 + 60_000))) mine.push(id);
      }
      return mine;
    };
    const all = (await Promise.all(instances.map((_, k) => sweep(k)))).flat();
    equal(all.length, N);
    equal(new Set(all).size, N);
  });
});

Deno.test("transaction store [postgres]: one accept repeated on two instances at once stores one transaction", async () => {
  await withPgInstances(2, async ([a, b]) => {
    for (let i = 0; i < 20; i++) {
      const t = newTxn("s1", `dup-${i}`, 0, ["r1", "r2"]);
      const results = await Promise.all([
        a.transactions.insert(t),
        b.transactions.insert({ ...t, correlation_id: `${t.correlation_id}-b` }),
        a.transactions.insert({ ...t, correlation_id: `${t.correlation_id}-c` }),
      ]);
      equal(results.filter((r) => r.created).length, 1);
      equal(new Set(results.map((r) => r.row.id)).size, 1);
      equal(new Set(results.map((r) => r.row.correlation_id)).size, 1, "every caller gets the stored ACK");
      equal(
        (await a.transactions.findByReferenceIds(scope("s1"), ["r1"])).filter((r) =>
          r.transaction_id === t.transaction_id
        ).length,
        1,
      );
    }
  });
});
