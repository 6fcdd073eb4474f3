// A sparkline: one host's last hour of a percentage as a small line, for the hosts list. An
// inline SVG polyline per run of points (a gap where the host sent nothing), scaled 0–100 %, so
// two hosts' lines compare at a glance. Built from numbers only; no data reaches markup.

import { sparklineRuns } from "./format.ts";

const SVG_NS = "http://www.w3.org/2000/svg";

export function sparkline(values: ReadonlyArray<number | null> | undefined, what: string): SVGSVGElement | null {
  if (!values || values.every((v) => v === null)) return null;
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("class", "sparkline");
  svg.setAttribute("viewBox", `0 0 ${Math.max(1, values.length - 1)} 100`);
  svg.setAttribute("preserveAspectRatio", "none");
  const known = values.filter((v): v is number => v !== null);
  const label = `${what}, last hour: ${Math.round(Math.min(...known))}–${Math.round(Math.max(...known))} %`;
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  const title = document.createElementNS(SVG_NS, "title");
  title.textContent = label;
  svg.append(title);
  for (const points of sparklineRuns(values)) {
    const line = document.createElementNS(SVG_NS, "polyline");
    line.setAttribute("points", points);
    svg.append(line);
  }
  return svg;
}
