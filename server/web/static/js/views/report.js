// The final report of an interview (api.md "Report"), for the candidate and for observers.

import { scoreBars } from "../charts.js";
import { append, formatDate, formatScore, h, scoreClass } from "../dom.js";

function list(items, emptyText) {
  if (!items?.length) return h("p", { class: "muted" }, emptyText);
  return h("ul", { class: "bullets" }, items.map((item) => h("li", {}, item)));
}

function providerNote(report) {
  const used = report.providers_used ?? [report.provider];
  if (used.length > 1) {
    return h(
      "p",
      { class: "alert alert-warning" },
      `Some scores came from a fallback AI provider (${used.join(", ")}), so they may be less consistent than usual.`,
    );
  }
  if (report.provider === "offline") {
    return h(
      "p",
      { class: "muted small" },
      "Scored by the built-in offline evaluator (no AI provider was configured or reachable).",
    );
  }
  return h("p", { class: "muted small" }, `Scored by ${report.provider}.`);
}

function questionDetails(question) {
  return h(
    "details",
    { class: "report-question" },
    h(
      "summary",
      {},
      h("span", { class: "report-question-title" }, `Question ${question.index}${question.kind === "follow_up" ? " (follow-up)" : ""}: `, question.question),
      h("span", { class: `score-chip ${scoreClass(question.score)}` }, formatScore(question.score)),
    ),
    h("div", { class: "report-question-body stack" },
      h("h4", {}, "Your answer"),
      h("p", { class: "prose" }, question.answer ?? "Not answered."),
      question.feedback ? [h("h4", {}, "Feedback"), h("p", { class: "prose" }, question.feedback)] : null,
      question.model_answer?.length
        ? [h("h4", {}, "What a strong answer covers"), h("ul", { class: "bullets" }, question.model_answer.map((point) => h("li", {}, point)))]
        : null,
    ),
  );
}

/** The report as a section with an h2 title, placed under the page's h1. */
export function renderReport(report, { title = "Your report" } = {}) {
  const section = h("section", { class: "report card stack", "aria-labelledby": "report-title", id: "report" });
  append(
    section,
    h(
      "div",
      { class: "report-head" },
      h("div", {}, h("h2", { id: "report-title", tabindex: "-1" }, title), report.reason === "ended_by_candidate" ? h("p", { class: "muted" }, "Ended early by the candidate; unanswered questions were skipped.") : null),
      h(
        "div",
        { class: `overall-score ${scoreClass(report.overall_score)}`, "aria-label": `Overall score ${formatScore(report.overall_score)} of 10` },
        h("span", { class: "overall-value" }, formatScore(report.overall_score)),
        h("span", { class: "overall-max" }, "/ 10"),
      ),
    ),
    h("div", { class: "report-chart" }, h("h3", {}, "By criterion"), scoreBars(report.criteria, { caption: "Average score by criterion" })),
    h(
      "div",
      { class: "grid-2" },
      h("div", { class: "report-block" }, h("h3", {}, "Strengths"), list(report.strengths, "No particular strengths were recorded.")),
      h("div", { class: "report-block" }, h("h3", {}, "To improve"), list(report.improvements, "Nothing in particular to improve.")),
    ),
    report.recommended_topics?.length
      ? h("div", { class: "report-block" }, h("h3", {}, "Topics to revisit"), h("ul", { class: "chips" }, report.recommended_topics.map((topic) => h("li", { class: "chip" }, topic))))
      : null,
    h("div", { class: "report-block" }, h("h3", {}, "Questions and model answers"), (report.questions ?? []).map(questionDetails)),
    h(
      "div",
      { class: "report-block" },
      h("h3", {}, "Observer notes"),
      report.notes?.length
        ? h(
            "ul",
            { class: "notes-list" },
            report.notes.map((note) =>
              h("li", { class: "note" }, h("p", { class: "note-meta" }, `${note.author} · ${formatDate(note.at)}`), h("p", { class: "prose" }, note.text)),
            ),
          )
        : h("p", { class: "muted" }, "No observer left notes."),
    ),
    providerNote(report),
  );
  return section;
}
