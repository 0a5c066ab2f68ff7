// History: score trends per criterion (GET /me/progress) and every past interview.

import { api, loadTracks } from "../api.js";
import { orderedCriteria, trendChart } from "../charts.js";
import { formatDate, formatScore, h, humanize, scoreClass } from "../dom.js";

const TREND_POINTS = 100; // the API's page limit: enough for a readable chart
const PAGE_SIZE = 20;
const STATUS_LABELS = { created: "Not started", in_progress: "In progress", completed: "Completed", abandoned: "Abandoned" };

/** The most recent points, oldest first: the first page tells the total, then the tail. */
async function recentProgress() {
  const first = await api.get(`/me/progress?limit=${TREND_POINTS}`);
  if (!first.has_more) return first.items;
  const tail = await api.get(`/me/progress?skip=${first.total - TREND_POINTS}&limit=${TREND_POINTS}`);
  return tail.items;
}

function trends(points) {
  if (!points.length) {
    return h("p", { class: "muted empty" }, "Complete an interview to see your scores over time.");
  }
  const criteria = orderedCriteria(new Set(points.flatMap((point) => Object.keys(point.criteria))));
  const series = [
    { name: "overall", label: "Overall", values: points.map((point) => ({ at: point.completed_at, score: point.overall_score })) },
    ...criteria.map((name) => ({
      name,
      label: humanize(name),
      values: points.filter((point) => name in point.criteria).map((point) => ({ at: point.completed_at, score: point.criteria[name] })),
    })),
  ];
  return h(
    "ul",
    { class: "trend-grid" },
    series.map(({ name, label, values }) => {
      const latest = values[values.length - 1]?.score;
      const previous = values.length > 1 ? values[values.length - 2].score : null;
      const change = previous === null ? "" : latest - previous;
      return h(
        "li",
        { class: "card trend-card", "data-criterion": name },
        h(
          "div",
          { class: "trend-head" },
          h("h3", {}, label),
          h("span", { class: `score-chip ${scoreClass(latest)}` }, formatScore(latest)),
        ),
        change === "" ? null : h("p", { class: `muted small trend-change ${change > 0 ? "up" : change < 0 ? "down" : ""}` }, change === 0 ? "No change since last time" : `${change > 0 ? "+" : "−"}${Math.abs(change).toFixed(1)} since last time`),
        trendChart(values, { label }),
      );
    }),
  );
}

export async function historyView(ctx) {
  ctx.setTitle("History");
  const [points, overview] = await Promise.all([recentProgress(), loadTracks().catch(() => ({ tracks: [] }))]);
  if (!ctx.isCurrent()) return;
  const names = Object.fromEntries(overview.tracks.map((track) => [track.id, track.name]));
  const rows = h("tbody", {});
  const table = h(
    "table",
    { class: "table" },
    h("caption", { class: "visually-hidden" }, "Your interviews, newest first"),
    h("thead", {}, h("tr", {}, ["Date", "Track", "Difficulty", "Questions", "Status", "Score"].map((title) => h("th", { scope: "col" }, title)))),
    rows,
  );
  const more = h("button", { type: "button", class: "btn btn-secondary", hidden: true }, "Show more");
  const emptyList = h("p", { class: "muted empty", hidden: true }, "No interviews yet. ", h("a", { href: "/interviews/new" }, "Start your first one"), ".");
  let skip = 0;

  async function loadPage() {
    more.disabled = true;
    try {
      const page = await api.get(`/interviews?skip=${skip}&limit=${PAGE_SIZE}`);
      for (const interview of page.items) {
        rows.append(
          h(
            "tr",
            { "data-interview-id": interview.id },
            h("td", {}, h("a", { href: `/interviews/${interview.id}` }, formatDate(interview.completed_at ?? interview.created_at))),
            h("td", {}, names[interview.track] ?? interview.track),
            h("td", {}, String(interview.difficulty)),
            h("td", {}, String(interview.question_count)),
            h("td", {}, h("span", { class: `badge badge-${interview.status}` }, STATUS_LABELS[interview.status] ?? interview.status)),
            h("td", {}, interview.overall_score === null ? "–" : h("span", { class: `score-chip ${scoreClass(interview.overall_score)}` }, formatScore(interview.overall_score))),
          ),
        );
      }
      skip += page.items.length;
      more.hidden = !page.has_more;
      emptyList.hidden = page.total > 0;
      table.hidden = page.total === 0;
    } finally {
      more.disabled = false;
    }
  }
  more.addEventListener("click", loadPage);

  ctx.root.append(
    h("div", { class: "page-head" }, h("div", {}, h("h1", { tabindex: "-1" }, "History"), h("p", { class: "muted" }, "How your scores move from one interview to the next.")), h("a", { class: "btn btn-primary", href: "/interviews/new" }, "New interview")),
    h("section", { class: "stack", "aria-labelledby": "trends-title" }, h("h2", { id: "trends-title" }, "Scores over time"), trends(points)),
    h("section", { class: "stack", "aria-labelledby": "past-title" }, h("h2", { id: "past-title" }, "Past interviews"), emptyList, h("div", { class: "table-wrap" }, table), h("div", {}, more)),
  );
  await loadPage();
}
