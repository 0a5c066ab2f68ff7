// The interview transcript: one list item per durable event (carrying its seq), plus the text
// being streamed right now. Shared by the candidate's page and the observer's.

import { scoreBars } from "../charts.js";
import { formatDate, formatScore, h, humanize, scoreClass } from "../dom.js";

const KIND_LABELS = { warmup: "Warm-up", core: "Core", follow_up: "Follow-up" };

function questionHeading(frame) {
  const total = frame.total ? ` of ${frame.total}` : "";
  return `Question ${frame.index}${total}`;
}

function badges(frame) {
  return h(
    "span",
    { class: "badges" },
    frame.kind ? h("span", { class: `badge badge-${frame.kind}` }, KIND_LABELS[frame.kind] ?? humanize(frame.kind)) : null,
    frame.topic ? h("span", { class: "badge" }, humanize(frame.topic)) : null,
    Number.isFinite(frame.difficulty) ? h("span", { class: "badge" }, `Difficulty ${frame.difficulty}`) : null,
  );
}

function smallList(title, items) {
  if (!items?.length) return null;
  return h("div", { class: "eval-list" }, h("h4", {}, title), h("ul", { class: "bullets" }, items.map((item) => h("li", {}, item))));
}

export function createTranscript({ role }) {
  const list = h("ol", { class: "transcript", id: "transcript", "aria-label": "Transcript" });
  const answerLabel = role === "candidate" ? "Your answer" : "Candidate's answer";

  function durableItem(frame) {
    const base = { "data-seq": String(frame.seq), "data-type": frame.type };
    switch (frame.type) {
      case "interview.started":
        return h("li", { class: "t-item t-system", ...base }, h("p", { class: "item-text" }, `Interview started ${formatDate(frame.at)}`));
      case "question":
        return h(
          "li",
          { class: "t-item t-question", ...base, "data-question-id": frame.question_id },
          h("div", { class: "t-head" }, h("h3", { class: "t-title" }, questionHeading(frame)), badges(frame)),
          h("p", { class: "item-text prose" }, frame.text),
        );
      case "answer":
        return h(
          "li",
          { class: "t-item t-answer", ...base, "data-client-id": frame.client_id },
          h("div", { class: "t-head" }, h("h3", { class: "t-title" }, answerLabel)),
          h("p", { class: "item-text prose" }, frame.text),
        );
      case "evaluation":
        return h(
          "li",
          { class: "t-item t-evaluation", ...base, "data-answer-id": frame.answer_id },
          h(
            "div",
            { class: "t-head" },
            h("h3", { class: "t-title" }, "Feedback"),
            h("span", { class: `score-chip ${scoreClass(frame.score)}`, "aria-label": `Score ${formatScore(frame.score)} of 10` }, formatScore(frame.score)),
          ),
          h("p", { class: "item-text prose" }, frame.feedback),
          h("div", { class: "eval-chart" }, scoreBars(frame.criteria, { caption: "Rubric scores for this answer" })),
          h("div", { class: "grid-2 eval-lists" }, smallList("Went well", frame.strengths), smallList("Try next time", frame.improvements)),
          frame.provider && frame.provider !== "offline" ? h("p", { class: "muted small" }, `Scored by ${frame.provider}`) : null,
        );
      case "interview.completed":
        return h(
          "li",
          { class: "t-item t-system", ...base },
          h("p", { class: "item-text" }, frame.reason === "ended_by_candidate" ? "Interview ended early" : "Interview completed"),
        );
      case "interview.abandoned":
        return h("li", { class: "t-item t-system", ...base }, h("p", { class: "item-text" }, `Interview abandoned (${frame.reason ?? "no reason given"})`));
      default:
        return h("li", { class: "t-item t-system", ...base }, h("p", { class: "item-text" }, humanize(frame.type)));
    }
  }

  function streamingItem(stream) {
    if (stream.kind === "question") {
      return h(
        "li",
        { class: "t-item t-question streaming", "data-stream": stream.key, "aria-busy": "true" },
        h("div", { class: "t-head" }, h("h3", { class: "t-title" }, `Question ${stream.frame.index}`), h("span", { class: "badge badge-live" }, "Asking…")),
        h("p", { class: "stream-text prose" }),
      );
    }
    return h(
      "li",
      { class: "t-item t-evaluation streaming", "data-stream": stream.key, "aria-busy": "true" },
      h("div", { class: "t-head" }, h("h3", { class: "t-title" }, "Feedback"), h("span", { class: "badge badge-live" }, "Evaluating…")),
      h("p", { class: "stream-text prose" }),
    );
  }

  function keyOf(frame) {
    if (frame.type === "question") return `question:${frame.question_id}`;
    if (frame.type === "evaluation") return `evaluation:${frame.answer_id}`;
    return null;
  }

  return {
    node: list,

    /** A durable event: replaces its streaming item or pending answer, else goes at the end. */
    add(frame) {
      const item = durableItem(frame);
      const key = keyOf(frame);
      const streaming = key ? list.querySelector(`[data-stream="${CSS.escape(key)}"]`) : null;
      const pending =
        frame.type === "answer" && frame.client_id
          ? list.querySelector(`[data-pending="${CSS.escape(frame.client_id)}"]`)
          : null;
      const placeholder = streaming ?? pending;
      if (placeholder) placeholder.replaceWith(item);
      else list.append(item);
      return item;
    },

    stream(stream) {
      let item = list.querySelector(`[data-stream="${CSS.escape(stream.key)}"]`);
      if (!item) {
        item = streamingItem(stream);
        list.append(item);
      }
      item.querySelector(".stream-text").textContent = stream.text;
    },

    clearStreams() {
      for (const item of list.querySelectorAll("[data-stream]")) item.remove();
    },

    addPending(clientId, text) {
      list.append(
        h(
          "li",
          { class: "t-item t-answer pending", "data-pending": clientId },
          h("div", { class: "t-head" }, h("h3", { class: "t-title" }, answerLabel), h("span", { class: "badge" }, "Sending…")),
          h("p", { class: "prose" }, text),
        ),
      );
    },

    dropPending(clientId) {
      list.querySelector(`[data-pending="${CSS.escape(clientId)}"]`)?.remove();
    },

    hasSeq(seq) {
      return Boolean(list.querySelector(`[data-seq="${seq}"]`));
    },
  };
}
