// Time-series charts with uPlot: several metrics of one host, aligned on their timestamps,
// hover values in each chart's legend, drag to zoom (double-click to zoom out), cursors in sync.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { SeriesResponse } from "../../collector/src/http/api-types.ts";
import { getJson } from "./api.ts";
import { h } from "./dom.ts";
import { formatTimestamp, formatUnit } from "./format.ts";

export type ChartUnit = "ratio" | "bytes" | "bytes_per_second" | "seconds" | "1";

/** One metric query of a chart; `label` names its series (the series' own label is appended when it has several). */
export interface ChartMetric {
  metric: string;
  label: string;
  params?: Record<string, string>;
}

export interface ChartSpec {
  id: string;
  title: string;
  unit: ChartUnit;
  metrics: ChartMetric[];
}

/** The chart's element; `chart` is the uPlot instance, `from`/`to` the range it was asked for (Unix s). */
export interface ChartElement extends HTMLElement {
  chart?: uPlot;
}

const PALETTE = ["#3d8bfd", "#e5a50a", "#26a269", "#e01b24", "#9141ac", "#2ec27e", "#c64600", "#1c71d8"];
const sync = uPlot.sync("netmap-host");

async function fetchMetric(hostId: number, m: ChartMetric, from: number, to: number): Promise<Array<{ label: string; points: Array<[number, number]> }>> {
  const params = new URLSearchParams({ metric: m.metric, from: String(from), to: String(to), ...m.params });
  const body = await getJson<SeriesResponse>(`/api/v1/hosts/${hostId}/series?${params}`);
  return body.series.map((s) => {
    const extra = Object.values(s.labels).join(" ");
    return { label: extra && extra !== m.label ? `${m.label} ${extra}`.trim() : m.label, points: s.points };
  });
}

/** Series on the union of their timestamps (uPlot's one x axis), null where one has no sample. */
export function align(series: Array<{ points: Array<[number, number]> }>): [number[], ...Array<Array<number | null>>] {
  const xs = [...new Set(series.flatMap((s) => s.points.map(([t]) => t)))].sort((a, b) => a - b);
  const at = new Map(xs.map((t, i) => [t, i]));
  const ys = series.map((s) => {
    const y: Array<number | null> = new Array(xs.length).fill(null);
    for (const [t, v] of s.points) y[at.get(t)!] = v;
    return y;
  });
  return [xs, ...ys];
}

/** Draws (or redraws) one chart into `figure` for [from, to]. */
export async function drawChart(figure: ChartElement, hostId: number, spec: ChartSpec, from: number, to: number): Promise<void> {
  const fetched = (await Promise.all(spec.metrics.map((m) => fetchMetric(hostId, m, from, to)))).flat();
  figure.chart?.destroy();
  figure.chart = undefined;
  figure.dataset.from = String(from);
  figure.dataset.to = String(to);
  const plot = figure.querySelector<HTMLElement>(".chart-plot")!;
  if (fetched.every((s) => s.points.length === 0)) {
    plot.replaceChildren(h("p", { class: "chart-empty muted" }, "No samples in this range."));
    return;
  }
  plot.replaceChildren();
  const dark = window.matchMedia?.("(prefers-color-scheme: dark)").matches ?? false;
  const ink = dark ? "#aab1bb" : "#57606a";
  const grid = dark ? "#2a2f36" : "#e5e8eb";
  const value = (_u: uPlot, v: number | null) => formatUnit(v, spec.unit);
  figure.chart = new uPlot(
    {
      width: Math.max(260, plot.clientWidth),
      height: 180,
      cursor: { sync: { key: sync.key }, drag: { x: true, y: false } },
      // The whole range asked for, so 1 h of a fresh host reads as 1 h with its samples at the end.
      scales: { x: { time: true, range: () => [from, to] }, y: spec.unit === "ratio" ? { range: (_u, _min, max) => [0, Math.max(max ?? 0, 0.05)] } : { range: (_u, _min, max) => [0, max || 1] } },
      axes: [
        { stroke: ink, grid: { stroke: grid }, ticks: { stroke: grid } },
        { stroke: ink, grid: { stroke: grid }, ticks: { stroke: grid }, size: 84, values: (_u, splits) => splits.map((v) => formatUnit(v, spec.unit)) },
      ],
      series: [
        { value: (_u, t) => (t === null ? "" : formatTimestamp(t * 1000)) },
        ...fetched.map((s, i) => ({ label: s.label, stroke: PALETTE[i % PALETTE.length]!, width: 1.5, value, points: { show: false } })),
      ],
    },
    align(fetched) as uPlot.AlignedData,
    plot,
  );
}

export function chartFigure(spec: ChartSpec): ChartElement {
  return h("figure", { class: "chart", "data-chart": spec.id }, h("figcaption", { class: "panel-title" }, spec.title), h("div", { class: "chart-plot" }));
}

/** Keeps every chart as wide as its panel. */
export function resizeCharts(root: ParentNode): void {
  for (const figure of root.querySelectorAll<ChartElement>("figure.chart")) {
    const plot = figure.querySelector<HTMLElement>(".chart-plot");
    if (figure.chart && plot) figure.chart.setSize({ width: Math.max(260, plot.clientWidth), height: 180 });
  }
}
