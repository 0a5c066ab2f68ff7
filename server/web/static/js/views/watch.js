// The observer's page: the live interview read-only, presence, and private coaching notes.
// The invitation token arrives in the URL fragment (never sent to the server in a URL), is
// kept in sessionStorage for reloads, and is removed from the address bar at once.

import { session } from "../api.js";
import { formatDate, h, humanize, randomId, takeFragmentParams, toast } from "../dom.js";
import { LiveChannel } from "../live.js";
import { renderReport } from "./report.js";
import { createTranscript } from "./transcript.js";
import { connectionIndicator, presenceText, progressIndicator } from "./live-ui.js";

const MAX_NOTE_CHARS = 2_000;

function storedInvitation(interviewId) {
  const key = `interviewace.watch:${interviewId}`;
  const fromLink = takeFragmentParams().get("token");
  if (fromLink) sessionStorage.setItem(key, fromLink);
  return sessionStorage.getItem(key);
}

export async function watchView(ctx) {
  const interviewId = ctx.params.id;
  ctx.setTitle("Watch an interview");
  const invitation = storedInvitation(interviewId);
  const staff = session.user && ["moderator", "admin"].includes(session.user.role);
  const title = h("h1", { tabindex: "-1" }, "Watching an interview");
  const subtitle = h("p", { class: "muted" }, "Read-only: you see questions, answers and feedback as they happen.");
  ctx.root.append(h("div", { class: "page-head" }, h("div", {}, title, subtitle)));
  if (!invitation && !staff) {
    ctx.root.append(
      h(
        "p",
        { class: "alert alert-error", role: "alert" },
        "This page needs the invitation link the candidate shared with you (it ends in #token=…). Ask them for a new one if it expired.",
      ),
    );
    return;
  }

  const transcript = createTranscript({ role: "observer" });
  const progress = progressIndicator();
  const presence = h("p", { class: "presence muted small" }, "Waiting for presence…");
  let channel = null;
  const connection = connectionIndicator({ onRetry: () => channel?.reconnectNow() });
  ctx.cleanup(() => connection.dispose());
  const reportSlot = h("div", { class: "report-slot" });
  let total = 0;
  let finished = false;

  // ---- notes -------------------------------------------------------------------------------
  const seenNotes = new Set();
  const pendingNotes = new Map(); // client_id → {text, about_seq}
  const notesList = h("ul", { class: "notes-list", id: "notes", "aria-live": "polite" });
  const emptyNotes = h("p", { class: "muted small" }, "No notes yet. Notes are private to observers and appear in the final report.");
  const noteText = h("textarea", { id: "note-text", name: "note", rows: "4", maxlength: String(MAX_NOTE_CHARS), "aria-describedby": "note-hint" });
  const aboutLatest = h("input", { type: "checkbox", id: "note-about", checked: true });
  const noteError = h("p", { class: "field-error", role: "alert", hidden: true });
  const noteForm = h(
    "form",
    { class: "stack note-form", novalidate: true },
    h("label", { for: "note-text" }, "Private note"),
    h("p", { class: "field-hint", id: "note-hint" }, "Only observers see notes. Ctrl+Enter adds it."),
    noteText,
    noteError,
    h("div", { class: "checkbox" }, aboutLatest, h("label", { for: "note-about" }, "About the latest question or answer")),
    h("button", { type: "submit", class: "btn btn-primary" }, "Add note"),
  );
  noteText.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      noteForm.requestSubmit();
    }
  });
  noteForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = noteText.value.trim();
    noteError.hidden = true;
    if (!text) {
      noteError.textContent = "Write a note first.";
      noteError.hidden = false;
      noteText.focus();
      return;
    }
    const clientId = randomId();
    const note = { text, about_seq: aboutLatest.checked && channel.lastSeq > 0 ? channel.lastSeq : null };
    if (!channel.send({ type: "note", client_id: clientId, ...note })) {
      noteError.textContent = "Not connected right now; your note is kept here. Try again when the connection is back.";
      noteError.hidden = false;
      return;
    }
    pendingNotes.set(clientId, note);
    noteText.value = "";
  });

  /** "about Question 2 of 3": what the note refers to, named as the transcript names it. */
  function aboutText(seq) {
    if (!seq) return "";
    const title = transcript.node.querySelector(`[data-seq="${seq}"] .t-title`)?.textContent;
    return title ? `about ${title.charAt(0).toLowerCase()}${title.slice(1)}` : "";
  }

  function addNote(frame) {
    if (seenNotes.has(frame.note_id)) return;
    seenNotes.add(frame.note_id);
    for (const [clientId, note] of pendingNotes) {
      if (note.text === frame.text) {
        pendingNotes.delete(clientId);
        break;
      }
    }
    emptyNotes.hidden = true;
    notesList.append(
      h(
        "li",
        { class: "note", "data-note-id": frame.note_id },
        h("p", { class: "note-meta" }, [frame.author, formatDate(frame.at), aboutText(frame.about_seq)].filter(Boolean).join(" · ")),
        h("p", { class: "prose" }, frame.text),
      ),
    );
  }

  const notesPanel = h(
    "section",
    { class: "card stack notes-panel", "aria-labelledby": "notes-title" },
    h("h2", { id: "notes-title" }, "Observer notes"),
    emptyNotes,
    notesList,
    noteForm,
  );

  const side = h("aside", { class: "live-side card stack", "aria-label": "Interview status" }, connection.node, progress.node, presence);
  const waiting = h("p", { class: "muted waiting" }, "The interview has not started yet. It appears here as soon as the candidate begins.");
  const main = h("div", { class: "live-main stack" }, waiting, reportSlot, transcript.node);
  ctx.root.append(h("div", { class: "live-layout watch-layout" }, side, notesPanel, main));

  function endOfInterview() {
    finished = true;
    noteForm.hidden = true;
    presence.textContent = "The interview is over.";
    emptyNotes.textContent = "No observer left notes.";
  }

  channel = new LiveChannel({
    interviewId,
    getToken: async () => invitation ?? (await session.accessToken()),
    renewToken: async () => (invitation ? false : session.refresh()),
    onWelcome(frame) {
      transcript.clearStreams();
      const interview = frame.interview ?? {};
      total = interview.question_count ?? total;
      subtitle.textContent = `${humanize(interview.track ?? "")} · difficulty ${interview.difficulty} · ${total} questions`;
      if (interview.status === "created") progress.notStarted(total);
      progress.difficulty(interview.current_difficulty);
      for (const [clientId, note] of pendingNotes) channel.send({ type: "note", client_id: clientId, ...note });
    },
    onEvent(frame) {
      waiting.hidden = true;
      transcript.add(frame);
      if (frame.type === "question") {
        progress.question(frame);
        progress.difficulty(frame.difficulty);
      } else if (frame.type === "interview.completed") {
        endOfInterview();
        progress.finished(total);
        // Notes are replayed only while an interview is live; afterwards the report has them.
        for (const note of frame.report?.notes ?? []) addNote(note);
        reportSlot.replaceChildren(renderReport(frame.report, { title: "Interview report" }));
      } else if (frame.type === "interview.abandoned") {
        endOfInterview();
        reportSlot.replaceChildren(h("p", { class: "alert alert-warning" }, "The interview was abandoned."));
      }
    },
    onStream(stream) {
      waiting.hidden = true;
      transcript.stream(stream);
      if (stream.kind === "question") progress.question({ index: stream.frame.index, total, kind: null });
    },
    onFrame(frame) {
      if (frame.type === "presence" && !finished) presence.textContent = presenceText(frame, "observer");
      else if (frame.type === "note") addNote(frame);
      else if (frame.type === "error") {
        if (frame.ref && pendingNotes.has(frame.ref)) {
          noteText.value ||= pendingNotes.get(frame.ref).text;
          pendingNotes.delete(frame.ref);
          noteError.textContent = `The note was not saved: ${frame.message}`;
          noteError.hidden = false;
        } else {
          toast(frame.message || humanize(frame.code), "error");
        }
      }
    },
    onStatus(status) {
      connection.update(status);
      noteForm.querySelector('[type="submit"]').disabled = finished || status.state !== "live";
    },
  });
  ctx.cleanup(() => channel.stop());
  channel.start();
}
