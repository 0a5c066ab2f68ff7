// The candidate's live interview page, and the finished interview's report and transcript.

import { api, session, trackName } from "../api.js";
import { formatDate, h, humanize, randomId, toast } from "../dom.js";
import { LiveChannel } from "../live.js";
import { renderReport } from "./report.js";
import { createTranscript } from "./transcript.js";
import { connectionIndicator, presenceText, progressIndicator } from "./live-ui.js";

const MAX_ANSWER_CHARS = 10_000;
const OBSERVER_LINK_SECONDS = 4 * 3600;

function pendingStore(interviewId) {
  const key = `interviewace.pending-answers:${interviewId}`;
  const load = () => {
    try {
      return new Map(JSON.parse(sessionStorage.getItem(key) ?? "[]"));
    } catch {
      return new Map();
    }
  };
  const pending = load();
  return {
    pending,
    save: () => {
      if (pending.size) sessionStorage.setItem(key, JSON.stringify([...pending]));
      else sessionStorage.removeItem(key);
    },
  };
}

function draftKey(interviewId, questionId) {
  return `interviewace.draft:${interviewId}:${questionId}`;
}

function summaryLine(interview, name) {
  const parts = [name, `difficulty ${interview.difficulty}`, `${interview.question_count} questions`];
  if (interview.company_style) parts.push(`${humanize(interview.company_style)} style`);
  return parts.join(" · ");
}

export async function interviewView(ctx) {
  const interviewId = ctx.params.id;
  ctx.setTitle("Interview");
  const interview = await api.get(`/interviews/${interviewId}`);
  const name = await trackName(interview.track);
  if (!ctx.isCurrent()) return;
  ctx.setTitle(`${name} interview`);
  const header = h(
    "div",
    { class: "page-head" },
    h("div", {}, h("h1", { tabindex: "-1" }, `${name} interview`), h("p", { class: "muted" }, summaryLine(interview, name), " · created ", formatDate(interview.created_at))),
  );
  ctx.root.append(header);
  if (interview.status === "completed" || interview.status === "abandoned") {
    await finishedInterview(ctx, interview);
    return;
  }
  liveInterview(ctx, interview);
}

async function finishedInterview(ctx, interview) {
  const [transcript, report] = await Promise.all([
    api.get(`/interviews/${interview.id}/transcript`),
    interview.status === "completed" ? api.get(`/interviews/${interview.id}/report`) : Promise.resolve(null),
  ]);
  if (!ctx.isCurrent()) return;
  if (report) ctx.root.append(renderReport(report));
  else ctx.root.append(h("p", { class: "alert alert-warning" }, "This interview was abandoned before it finished, so it has no report."));
  const list = createTranscript({ role: "candidate" });
  for (const item of transcript.items) list.add(item);
  ctx.root.append(
    h("section", { class: "stack transcript-section", "aria-labelledby": "transcript-title" }, h("h2", { id: "transcript-title" }, "Transcript"), list.node),
    h("p", {}, h("a", { class: "btn btn-secondary", href: "/interviews/new" }, "Practise again"), " ", h("a", { class: "btn btn-ghost", href: "/history" }, "See your progress")),
  );
}

function liveInterview(ctx, interview) {
  const interviewId = interview.id;
  const total = interview.question_count;
  const { pending, save: savePending } = pendingStore(interviewId);
  const transcript = createTranscript({ role: "candidate" });
  const progress = progressIndicator();
  const presence = h("p", { class: "presence muted small" }, "No observers");
  const announcer = h("p", { class: "visually-hidden", "aria-live": "polite" });
  let channel = null;
  const connection = connectionIndicator({ onRetry: () => channel?.reconnectNow() });
  ctx.cleanup(() => connection.dispose());

  let currentQuestion = null;
  const answeredQuestions = new Set();
  let finished = false;
  let started = interview.status !== "created";
  let replayUntil = 0; // events up to the server's seq at welcome are history, not news

  // ---- start panel -------------------------------------------------------------------------
  const startButton = h("button", { type: "button", class: "btn btn-primary btn-large" }, "Start interview");
  const startPanel = h(
    "section",
    { class: "card start-panel stack", hidden: started },
    h("h2", {}, "Ready when you are"),
    h("p", {}, `${total} question${total === 1 ? "" : "s"}, with follow-ups when an answer leaves something open. Each answer gets feedback and rubric scores as soon as you send it. Take your time: nothing is timed.`),
    h("p", { class: "muted small" }, "Want a coach to watch? Invite an observer first; they can follow along and leave private notes."),
    h("div", {}, startButton),
  );
  startButton.addEventListener("click", () => {
    if (!channel.send({ type: "start" })) {
      toast("Not connected yet. Wait for the connection, then start.", "error");
      return;
    }
    startButton.disabled = true;
  });

  // ---- answer form -------------------------------------------------------------------------
  const answerId = "answer-text";
  const counter = h("span", { class: "muted small", id: "answer-count" }, `0 / ${MAX_ANSWER_CHARS}`);
  const textarea = h("textarea", {
    id: answerId,
    name: "answer",
    rows: "7",
    maxlength: String(MAX_ANSWER_CHARS),
    "aria-describedby": "answer-hint answer-count",
    disabled: true,
  });
  const sendButton = h("button", { type: "submit", class: "btn btn-primary", disabled: true }, "Send answer");
  const answerError = h("p", { class: "field-error", role: "alert", hidden: true, id: "answer-error" });
  const answerStatus = h("p", { class: "muted small answer-status", "aria-live": "polite" });
  const answerForm = h(
    "form",
    { class: "card answer-form stack", hidden: true, novalidate: true },
    h("label", { for: answerId, class: "answer-label" }, "Your answer"),
    h("p", { class: "field-hint", id: "answer-hint" }, "Press Ctrl+Enter (⌘+Enter on a Mac) to send."),
    textarea,
    answerError,
    h("div", { class: "answer-actions" }, counter, answerStatus, sendButton),
  );
  textarea.addEventListener("input", () => {
    counter.textContent = `${textarea.value.length} / ${MAX_ANSWER_CHARS}`;
    if (currentQuestion) sessionStorage.setItem(draftKey(interviewId, currentQuestion.question_id), textarea.value);
  });
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      answerForm.requestSubmit();
    }
  });
  answerForm.addEventListener("submit", (event) => {
    event.preventDefault();
    sendAnswer();
  });

  function pendingFor(questionId) {
    return [...pending.values()].some((answer) => answer.question_id === questionId);
  }

  function awaitingAnswer() {
    return Boolean(currentQuestion) && !finished && !answeredQuestions.has(currentQuestion.question_id);
  }

  function refreshAnswerForm() {
    const awaiting = awaitingAnswer();
    answerForm.hidden = finished || !started;
    const sending = awaiting && pendingFor(currentQuestion.question_id);
    textarea.disabled = !awaiting || sending;
    sendButton.disabled = !awaiting || sending;
    if (finished) answerStatus.textContent = "";
    else if (sending) answerStatus.textContent = channel?.connected ? "Sending…" : "Will send when the connection is back.";
    else if (awaiting) answerStatus.textContent = "";
    else if (currentQuestion) answerStatus.textContent = "Evaluating your answer…";
    else answerStatus.textContent = "The first question is on its way…";
  }

  function showAnswerError(message) {
    answerError.textContent = message;
    answerError.hidden = !message;
    if (message) textarea.setAttribute("aria-invalid", "true");
    else textarea.removeAttribute("aria-invalid");
  }

  function sendAnswer() {
    if (!awaitingAnswer()) return;
    const text = textarea.value.trim();
    if (!text) {
      showAnswerError("Write an answer before sending.");
      textarea.focus();
      return;
    }
    if (text.length > MAX_ANSWER_CHARS) {
      showAnswerError(`Answers can be at most ${MAX_ANSWER_CHARS} characters.`);
      return;
    }
    showAnswerError("");
    const clientId = randomId();
    const answer = { question_id: currentQuestion.question_id, text };
    pending.set(clientId, answer);
    savePending();
    transcript.addPending(clientId, text);
    sessionStorage.removeItem(draftKey(interviewId, currentQuestion.question_id));
    textarea.value = "";
    counter.textContent = `0 / ${MAX_ANSWER_CHARS}`;
    channel.send({ type: "answer", client_id: clientId, ...answer });
    refreshAnswerForm();
  }

  // ---- side panel --------------------------------------------------------------------------
  const inviteOutput = h("div", { class: "invite-output stack", hidden: true });
  const inviteButton = h("button", { type: "button", class: "btn btn-secondary btn-block" }, "Invite an observer");
  inviteButton.addEventListener("click", async () => {
    inviteButton.disabled = true;
    try {
      const invitation = await api.post(`/interviews/${interviewId}/observers`, { expires_in: OBSERVER_LINK_SECONDS });
      const link = `${location.origin}/watch/${interviewId}#token=${encodeURIComponent(invitation.observer_token)}`;
      const input = h("input", { type: "text", readonly: true, value: link, id: "observer-link", class: "mono" });
      const copy = h("button", { type: "button", class: "btn btn-small btn-secondary" }, "Copy link");
      copy.addEventListener("click", async () => {
        try {
          await navigator.clipboard.writeText(link);
          toast("Observer link copied.", "success");
        } catch {
          input.select();
          toast("Select the link and copy it with Ctrl+C.", "info");
        }
      });
      inviteOutput.replaceChildren(
        h("label", { for: "observer-link" }, "Share this link with your observer"),
        input,
        h("div", { class: "row" }, copy, h("span", { class: "muted small" }, `Valid until ${formatDate(invitation.expires_at)}`)),
      );
      inviteOutput.hidden = false;
      input.focus();
      input.select();
    } catch (error) {
      toast(error.userMessage ?? String(error), "error");
    } finally {
      inviteButton.disabled = false;
    }
  });

  const endButton = h("button", { type: "button", class: "btn btn-danger-outline btn-block" }, "End interview");
  const confirmEnd = h("button", { type: "button", class: "btn btn-danger" }, "End now");
  const cancelEnd = h("button", { type: "button", class: "btn btn-ghost" }, "Keep going");
  const endConfirm = h(
    "div",
    { class: "end-confirm stack", hidden: true, role: "group", "aria-label": "Confirm ending the interview" },
    h("p", { class: "small" }, "End the interview now? Questions not yet asked are skipped and your report is built from the answers so far."),
    h("div", { class: "row" }, confirmEnd, cancelEnd),
  );
  endButton.addEventListener("click", () => {
    endConfirm.hidden = false;
    endButton.hidden = true;
    confirmEnd.focus();
  });
  cancelEnd.addEventListener("click", () => {
    endConfirm.hidden = true;
    endButton.hidden = false;
    endButton.focus();
  });
  confirmEnd.addEventListener("click", () => {
    if (!channel.send({ type: "end" })) {
      toast("Not connected right now. Try again when the connection is back.", "error");
      return;
    }
    confirmEnd.disabled = true;
    answerStatus.textContent = "Ending the interview…";
  });

  const sideActions = h("div", { class: "side-actions stack" }, inviteButton, inviteOutput, endButton, endConfirm);
  const side = h(
    "aside",
    { class: "live-side card stack", "aria-label": "Interview status" },
    connection.node,
    progress.node,
    presence,
    sideActions,
  );
  const reportSlot = h("div", { class: "report-slot" });
  const transcriptTitle = h("h2", { hidden: true }, "Transcript");
  const main = h("div", { class: "live-main stack" }, startPanel, reportSlot, transcriptTitle, transcript.node, answerForm);
  ctx.root.append(announcer, h("div", { class: "live-layout" }, side, main));
  progress.notStarted(total);
  progress.difficulty(interview.current_difficulty);

  // ---- the channel -------------------------------------------------------------------------
  function finish(frame) {
    finished = true;
    startPanel.hidden = true;
    sideActions.replaceChildren(
      h("a", { class: "btn btn-primary btn-block", href: "/interviews/new" }, "Practise again"),
      h("a", { class: "btn btn-secondary btn-block", href: "/history" }, "See your progress"),
    );
    transcriptTitle.hidden = false;
    progress.finished(total);
    refreshAnswerForm();
    if (frame.type === "interview.completed") {
      reportSlot.replaceChildren(renderReport(frame.report));
      announcer.textContent = "The interview is complete. Your report is below.";
      reportSlot.querySelector("#report-title")?.focus();
    } else {
      reportSlot.replaceChildren(h("p", { class: "alert alert-warning", role: "alert" }, `The interview was abandoned (${frame.reason ?? "no reason given"}).`));
    }
  }

  channel = new LiveChannel({
    interviewId,
    getToken: () => session.accessToken(),
    renewToken: () => session.refresh(),
    onWelcome(frame) {
      if (frame.role !== "candidate") {
        toast("You are watching this interview as an observer.", "info");
      }
      transcript.clearStreams();
      replayUntil = frame.last_seq ?? 0;
      const status = frame.interview?.status;
      started = status !== "created";
      startPanel.hidden = started || finished;
      startButton.disabled = false;
      progress.difficulty(frame.interview?.current_difficulty);
      // Answers sent but not confirmed go again under the same client_id: the server records
      // each client_id once and answers a repeat with the stored event.
      for (const [clientId, answer] of pending) channel.send({ type: "answer", client_id: clientId, ...answer });
      refreshAnswerForm();
    },
    onEvent(frame) {
      const replaying = frame.seq <= replayUntil;
      transcript.add(frame);
      switch (frame.type) {
        case "interview.started":
          started = true;
          startPanel.hidden = true;
          break;
        case "question":
          currentQuestion = frame;
          progress.question(frame);
          progress.difficulty(frame.difficulty);
          textarea.value = sessionStorage.getItem(draftKey(interviewId, frame.question_id)) ?? "";
          counter.textContent = `${textarea.value.length} / ${MAX_ANSWER_CHARS}`;
          announcer.textContent = `Question ${frame.index} of ${frame.total}`;
          break;
        case "answer":
          answeredQuestions.add(frame.question_id);
          break;
        case "evaluation":
          announcer.textContent = `Feedback received: score ${frame.score} of 10.`;
          break;
        case "interview.completed":
        case "interview.abandoned":
          finish(frame);
          break;
        default:
          break;
      }
      refreshAnswerForm();
      if (frame.type === "question" && !finished && !replaying) {
        answerForm.scrollIntoView({ block: "nearest", behavior: "smooth" });
        if (document.activeElement === document.body || document.activeElement === textarea) textarea.focus({ preventScroll: true });
      }
    },
    onAnswerSeen(frame) {
      if (pending.delete(frame.client_id)) {
        savePending();
        // A repeat of an answer already on the page: its "sending" placeholder just goes.
        if (transcript.hasSeq(frame.seq)) transcript.dropPending(frame.client_id);
      }
    },
    onStream(stream) {
      transcript.stream(stream);
      if (stream.kind === "question") progress.question({ index: stream.frame.index, total, kind: null });
    },
    onFrame(frame) {
      if (frame.type === "presence") presence.textContent = presenceText(frame, "candidate");
      else if (frame.type === "error") handleError(frame);
    },
    onStatus(status) {
      connection.update(status);
      refreshAnswerForm();
    },
  });

  function handleError(frame) {
    if (frame.code === "already_started") return;
    if (frame.ref && pending.has(frame.ref)) {
      const answer = pending.get(frame.ref);
      pending.delete(frame.ref);
      savePending();
      transcript.dropPending(frame.ref);
      if (currentQuestion && answer.question_id === currentQuestion.question_id && !textarea.value) textarea.value = answer.text;
      showAnswerError(frame.message ? `The answer was not accepted: ${frame.message}` : "The answer was not accepted.");
      refreshAnswerForm();
      return;
    }
    toast(frame.message || humanize(frame.code), "error");
  }

  ctx.cleanup(() => channel.stop());
  channel.start();
}
