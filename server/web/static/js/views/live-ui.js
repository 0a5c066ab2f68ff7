// Pieces of the live pages shared by candidate and observer: the connection indicator, the
// progress indicator and presence.

import { h } from "../dom.js";

const STATE_TEXT = {
  connecting: "Connecting…",
  live: "Live",
  offline: "Offline: waiting for the network",
  ended: "Interview finished",
};

/** Shows the channel's status; `onRetry` backs the "Reconnect now" button. */
export function connectionIndicator({ onRetry }) {
  const text = h("span", { class: "conn-text" }, "Connecting…");
  const button = h("button", { type: "button", class: "btn btn-small btn-secondary", hidden: true, onClick: () => onRetry() }, "Reconnect now");
  const node = h(
    "div",
    { class: "conn", "data-state": "connecting", role: "status", "aria-live": "polite" },
    h("span", { class: "conn-dot", "aria-hidden": "true" }),
    text,
    button,
  );
  let countdown = null;

  function update(status) {
    clearInterval(countdown);
    node.dataset.state = status.state;
    button.hidden = true;
    if (status.state === "reconnecting") {
      const until = Date.now() + (status.delay ?? 0);
      const tick = () => {
        const seconds = Math.max(0, Math.ceil((until - Date.now()) / 1000));
        text.textContent = seconds > 0 ? `Connection lost: reconnecting in ${seconds} s` : "Reconnecting…";
      };
      tick();
      countdown = setInterval(tick, 500);
      button.hidden = false;
      button.textContent = "Reconnect now";
    } else if (status.state === "replaced") {
      text.textContent = status.message;
      button.hidden = false;
      button.textContent = "Continue here";
    } else if (status.state === "failed") {
      text.textContent = status.message ?? "Disconnected.";
    } else {
      text.textContent = STATE_TEXT[status.state] ?? status.state;
    }
  }

  return { node, update, dispose: () => clearInterval(countdown) };
}

export function progressIndicator() {
  const label = h("p", { class: "progress-label", id: "progress-label" }, "Not started");
  const bar = h("progress", { max: "1", value: "0", "aria-labelledby": "progress-label" });
  const difficulty = h("p", { class: "muted small difficulty-label" });
  const node = h("div", { class: "progress-block" }, label, bar, difficulty);

  return {
    node,
    notStarted(total) {
      label.textContent = `Not started · ${total} question${total === 1 ? "" : "s"}`;
      bar.max = total;
      bar.value = 0;
    },
    question({ index, total, kind }) {
      label.textContent = `Question ${index} of ${total}${kind === "follow_up" ? " · follow-up" : ""}`;
      bar.max = total;
      bar.value = index;
    },
    difficulty(level) {
      if (Number.isFinite(level)) difficulty.textContent = `Current difficulty: ${level} of 5`;
    },
    finished(total) {
      label.textContent = "Finished";
      bar.max = total || 1;
      bar.value = total || 1;
    },
  };
}

export function presenceText(frame, role) {
  const observers = frame.observers ?? 0;
  const watching = observers === 0 ? "No observers" : observers === 1 ? "1 observer watching" : `${observers} observers watching`;
  if (role === "candidate") return watching;
  const candidate = frame.candidate_connected ? "Candidate connected" : "Candidate not connected";
  return `${candidate} · ${watching}`;
}
