const t = performance.now();
for (const m of Deno.args) await import(m);
console.log(Deno.args.join(" "), (performance.now() - t).toFixed(0), "ms");
