/**
 * Server-rendered SVG line charts for the dashboard: no chart script, nothing the CSP has to allow (colours are
 * SVG presentation attributes, not style). Each chart has a title, a text summary for screen readers and a legend.
 */

/** Series colours (Okabe-Ito: distinguishable with the common colour-vision deficiencies). */
const COLOURS = [
  "#0072B2",
  "#D55E00",
  "#009E73",
  "#CC79A7",
  "#E69F00",
  "#56B4E9",
  "#000000",
  "#F0E442",
  "#999999",
];

const W = 560;
const H = 160;
const PAD = { left: 40, right: 8, top: 8, bottom: 20 };

/** One line chart of series sharing the buckets (labels are bucket start times, ISO). */
export function LineChart(
  props: { title: string; series: Record<string, number[]>; buckets: string[]; unit: string },
) {
  const entries = Object.entries(props.series).filter(([, v]) => v.length === props.buckets.length);
  const max = Math.max(1, ...entries.flatMap(([, v]) => v));
  const n = props.buckets.length;
  const x = (i: number) => PAD.left + (n <= 1 ? 0 : (i * (W - PAD.left - PAD.right)) / (n - 1));
  const y = (v: number) => PAD.top + (H - PAD.top - PAD.bottom) * (1 - v / max);
  const totals = entries.map(([name, v]) => `${name} ${v.reduce((a, b) => a + b, 0)}`).join(", ");
  const id = `chart-${props.title.toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
  return (
    <figure class="chart" aria-labelledby={id}>
      <figcaption id={id}>{props.title}</figcaption>
      <svg
        viewBox={`0 0 ${W} ${H}`}
        role="img"
        aria-label={`${props.title}: ${entries.length ? totals : "no data"} (${props.unit})`}
        width="100%"
      >
        <line x1={PAD.left} y1={H - PAD.bottom} x2={W - PAD.right} y2={H - PAD.bottom} stroke="#767676" />
        <line x1={PAD.left} y1={PAD.top} x2={PAD.left} y2={H - PAD.bottom} stroke="#767676" />
        <text x={PAD.left - 4} y={PAD.top + 8} text-anchor="end" font-size="10" fill="#333">{fmt(max)}</text>
        <text x={PAD.left - 4} y={H - PAD.bottom} text-anchor="end" font-size="10" fill="#333">0</text>
        <text x={PAD.left} y={H - 4} font-size="10" fill="#333">{time(props.buckets[0])}</text>
        <text x={W - PAD.right} y={H - 4} text-anchor="end" font-size="10" fill="#333">
          {time(props.buckets[n - 1])}
        </text>
        {entries.map(([name, values], i) => (
          <polyline
            data-series={name}
            fill="none"
            stroke={COLOURS[i % COLOURS.length]}
            stroke-width="1.5"
            points={values.map((v, j) => `${x(j).toFixed(1)},${y(v).toFixed(1)}`).join(" ")}
          />
        ))}
      </svg>
      {entries.length === 0 ? <p class="hint">No data in this window.</p> : (
        <ul class="legend">
          {entries.map(([name, values], i) => (
            <li>
              <svg width="12" height="12" aria-hidden="true">
                <rect width="12" height="12" fill={COLOURS[i % COLOURS.length]} />
              </svg>{" "}
              {name}: {values.reduce((a, b) => a + b, 0)}
            </li>
          ))}
        </ul>
      )}
    </figure>
  );
}

function fmt(v: number): string {
  return v >= 1000 ? `${(v / 1000).toFixed(1)}k` : String(Math.round(v));
}

function time(iso: string | undefined): string {
  return iso ? iso.slice(11, 16) : "";
}
