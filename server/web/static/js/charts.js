// Charts as inline SVG built here: presentation attributes and CSS classes only, so the
// strict CSP (no inline styles) holds. Every chart has a text alternative.

import { formatScore, formatShortDate, humanize, s } from "./dom.js";

let chartCounter = 0;

// The rubric's own order (server/llm/types.py CRITERIA); JSONB does not keep key order.
export const CRITERIA_ORDER = ["relevance", "depth", "structure", "communication", "specificity"];

export function orderedCriteria(names) {
  const rank = (name) => (CRITERIA_ORDER.includes(name) ? CRITERIA_ORDER.indexOf(name) : CRITERIA_ORDER.length);
  return [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Horizontal bars, one per criterion, on a 0..max scale. */
export function scoreBars(criteria, { max = 10, caption = "Scores by criterion" } = {}) {
  const entries = orderedCriteria(Object.keys(criteria ?? {})).map((name) => [name, criteria[name]]);
  const width = 360;
  const labelWidth = 126;
  const valueWidth = 40;
  const barWidth = width - labelWidth - valueWidth;
  const row = 30;
  const height = Math.max(row, entries.length * row);
  const titleId = `chart-${++chartCounter}`;
  const summary = entries.map(([name, score]) => `${humanize(name)} ${formatScore(score)} of ${max}`).join(", ");
  const svg = s(
    "svg",
    {
      class: "chart chart-bars",
      viewBox: `0 0 ${width} ${height}`,
      role: "img",
      "aria-labelledby": titleId,
      preserveAspectRatio: "xMinYMin meet",
    },
    s("title", { id: titleId }, `${caption}: ${summary}`),
  );
  entries.forEach(([name, score], index) => {
    const y = index * row;
    const value = Math.max(0, Math.min(max, Number(score) || 0));
    svg.append(
      s("text", { class: "chart-label", x: 0, y: y + 19 }, humanize(name)),
      s("rect", { class: "chart-track", x: labelWidth, y: y + 9, width: barWidth, height: 12, rx: 6 }),
      s("rect", {
        class: `chart-bar ${barClass(value, max)}`,
        x: labelWidth,
        y: y + 9,
        width: Math.max(value > 0 ? 4 : 0, (barWidth * value) / max),
        height: 12,
        rx: 6,
        dataset: { criterion: name, score: String(value) },
      }),
      s("text", { class: "chart-value", x: width, y: y + 19, "text-anchor": "end" }, formatScore(value)),
    );
  });
  return svg;
}

function barClass(value, max) {
  const ratio = value / max;
  if (ratio >= 0.75) return "bar-high";
  if (ratio >= 0.5) return "bar-mid";
  return "bar-low";
}

/** A small line chart of scores (0..10) in interview order, dated on the x axis. */
export function trendChart(points, { label, max = 10 } = {}) {
  const width = 320;
  const height = 150;
  const pad = { left: 26, right: 14, top: 12, bottom: 24 };
  const plotWidth = width - pad.left - pad.right;
  const plotHeight = height - pad.top - pad.bottom;
  const titleId = `chart-${++chartCounter}`;
  const values = points.map((point) => Math.max(0, Math.min(max, Number(point.score) || 0)));
  const first = values[0];
  const last = values[values.length - 1];
  const summary =
    values.length === 1
      ? `${label}: ${formatScore(last)} in your only completed interview`
      : `${label} over ${values.length} interviews: from ${formatScore(first)} to ${formatScore(last)}`;
  const x = (index) => pad.left + (values.length === 1 ? plotWidth / 2 : (plotWidth * index) / (values.length - 1));
  const y = (value) => pad.top + plotHeight - (plotHeight * value) / max;
  const svg = s(
    "svg",
    { class: "chart chart-trend", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": titleId },
    s("title", { id: titleId }, summary),
  );
  for (const tick of [0, max / 2, max]) {
    svg.append(
      s("line", { class: "chart-grid", x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick) }),
      s("text", { class: "chart-axis", x: pad.left - 6, y: y(tick) + 4, "text-anchor": "end" }, String(tick)),
    );
  }
  if (values.length > 1) {
    const path = values.map((value, index) => `${index ? "L" : "M"}${x(index).toFixed(1)},${y(value).toFixed(1)}`).join(" ");
    svg.append(s("path", { class: "chart-line", d: path }));
  }
  values.forEach((value, index) => {
    svg.append(
      s(
        "circle",
        { class: "chart-point", cx: x(index), cy: y(value), r: index === values.length - 1 ? 4.5 : 3 },
        s("title", {}, `${formatShortDate(points[index].at)}: ${formatScore(value)}`),
      ),
    );
  });
  const firstDate = formatShortDate(points[0]?.at);
  const lastDate = formatShortDate(points[points.length - 1]?.at);
  svg.append(s("text", { class: "chart-axis", x: pad.left, y: height - 6 }, firstDate));
  if (values.length > 1) {
    svg.append(s("text", { class: "chart-axis", x: width - pad.right, y: height - 6, "text-anchor": "end" }, lastDate));
  }
  return svg;
}
