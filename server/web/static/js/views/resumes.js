// Resumes: upload by drag and drop (or the file picker), parsing progress from the task, the
// parsed profile, and deletion.

import { ApiError, api } from "../api.js";
import { formatBytes, formatDate, h, toast } from "../dom.js";

const MAX_BYTES = 5 * 1024 * 1024;
const ACCEPT = ".pdf,.docx,application/pdf,application/vnd.openxmlformats-officedocument.wordprocessingml.document";
const POLL_MS = 700;
const STATUS_TEXT = { uploaded: "Waiting to be read", parsing: "Reading…", parsed: "Ready", failed: "Could not be read" };

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function profileView(profile) {
  const section = (title, ...content) => h("div", { class: "profile-section" }, h("h4", {}, title), ...content);
  const dates = (start, end) => [start, end ?? "present"].filter(Boolean).join(" – ");
  const contact = [profile.email, profile.phone, profile.location].filter(Boolean).join(" · ");
  return h(
    "div",
    { class: "profile stack" },
    h(
      "div",
      {},
      h("p", { class: "profile-name" }, profile.name ?? "Name not found"),
      profile.headline ? h("p", { class: "muted" }, profile.headline) : null,
      contact ? h("p", { class: "muted small" }, contact) : null,
      Number.isFinite(profile.years_experience) ? h("p", { class: "small" }, `About ${profile.years_experience} years of experience`) : null,
    ),
    profile.summary ? section("Summary", h("p", { class: "prose" }, profile.summary)) : null,
    profile.skills?.length ? section("Skills", h("ul", { class: "chips" }, profile.skills.map((skill) => h("li", { class: "chip" }, skill)))) : null,
    profile.experience?.length
      ? section(
          "Experience",
          h(
            "ul",
            { class: "timeline" },
            profile.experience.map((job) =>
              h(
                "li",
                {},
                h("p", { class: "strong" }, [job.title, job.company].filter(Boolean).join(" · ")),
                h("p", { class: "muted small" }, dates(job.start, job.end)),
                job.highlights?.length ? h("ul", { class: "bullets" }, job.highlights.map((item) => h("li", {}, item))) : null,
              ),
            ),
          ),
        )
      : null,
    profile.education?.length
      ? section(
          "Education",
          h(
            "ul",
            { class: "timeline" },
            profile.education.map((school) =>
              h("li", {}, h("p", { class: "strong" }, [school.degree, school.institution].filter(Boolean).join(" · ")), h("p", { class: "muted small" }, dates(school.start, school.end))),
            ),
          ),
        )
      : null,
  );
}

export async function resumesView(ctx) {
  ctx.setTitle("Resumes");
  let stopped = false;
  ctx.cleanup(() => {
    stopped = true;
  });
  const list = h("ul", { class: "resume-list", "aria-label": "Your resumes" });
  const empty = h("p", { class: "muted empty" }, "No resumes yet. Upload one to get questions about your own experience.");
  const uploadError = h("p", { class: "alert alert-error", role: "alert", hidden: true });
  const fileInput = h("input", { type: "file", id: "resume-file", name: "file", accept: ACCEPT, class: "file-input" });
  const dropzone = h(
    "div",
    { class: "dropzone", id: "dropzone" },
    h("img", { src: new URL("../../img/upload.svg", import.meta.url).href, alt: "", width: "40", height: "40" }),
    h("p", { class: "dropzone-title" }, "Drag your resume here"),
    h("p", { class: "muted small" }, "PDF or Word (.docx), up to 5 MB"),
    h("p", {}, fileInput, h("label", { for: "resume-file", class: "btn btn-secondary" }, "Choose a file")),
  );

  ctx.root.append(
    h("div", { class: "page-head" }, h("div", {}, h("h1", { tabindex: "-1" }, "Resumes"), h("p", { class: "muted" }, "Your resume lets the interviewer ask about what you have actually done."))),
    h("section", { class: "card stack", "aria-label": "Upload a resume" }, dropzone, uploadError),
    h("section", { class: "stack", "aria-labelledby": "resume-list-title" }, h("h2", { id: "resume-list-title" }, "Your resumes"), empty, list),
  );

  for (const type of ["dragenter", "dragover"]) {
    dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      dropzone.classList.add("dragging");
    });
  }
  for (const type of ["dragleave", "drop"]) {
    dropzone.addEventListener(type, (event) => {
      event.preventDefault();
      if (type === "dragleave" && dropzone.contains(event.relatedTarget)) return;
      dropzone.classList.remove("dragging");
    });
  }
  dropzone.addEventListener("drop", (event) => {
    const file = event.dataTransfer?.files?.[0];
    if (file) upload(file);
  });
  fileInput.addEventListener("change", () => {
    const file = fileInput.files?.[0];
    if (file) upload(file);
    fileInput.value = "";
  });

  function showUploadError(message) {
    uploadError.textContent = message;
    uploadError.hidden = !message;
  }

  function refreshEmpty() {
    empty.hidden = list.children.length > 0;
  }

  function card(resume) {
    const progressBar = h("progress", { max: "100", value: "0", "aria-label": `Reading ${resume.filename}` });
    const statusText = h("span", { class: "resume-status" });
    const profileBox = h("div", { class: "resume-profile", hidden: true, id: `profile-${resume.id}` });
    const toggle = h("button", { type: "button", class: "btn btn-small btn-secondary", "aria-expanded": "false", "aria-controls": profileBox.id, hidden: true }, "Show profile");
    const practise = h("a", { class: "btn btn-small btn-primary", href: `/interviews/new?resume=${resume.id}`, hidden: true }, "Practise with it");
    const remove = h("button", { type: "button", class: "btn btn-small btn-ghost danger-text" }, "Delete");
    const confirm = h(
      "span",
      { class: "row confirm", hidden: true },
      h("span", { class: "small" }, "Delete this resume?"),
      h("button", { type: "button", class: "btn btn-small btn-danger", "data-action": "confirm-delete" }, "Delete"),
      h("button", { type: "button", class: "btn btn-small btn-ghost", "data-action": "cancel-delete" }, "Cancel"),
    );
    const item = h(
      "li",
      { class: "card resume-card", "data-resume-id": resume.id },
      h(
        "div",
        { class: "resume-head" },
        h("div", {}, h("p", { class: "resume-name" }, resume.filename), h("p", { class: "muted small" }, `${formatBytes(resume.size_bytes)} · uploaded ${formatDate(resume.created_at)}`)),
        statusText,
      ),
      progressBar,
      h("p", { class: "field-error resume-error", hidden: true }),
      h("div", { class: "row resume-actions" }, toggle, practise, remove, confirm),
      profileBox,
    );
    toggle.addEventListener("click", () => {
      const open = toggle.getAttribute("aria-expanded") === "true";
      toggle.setAttribute("aria-expanded", String(!open));
      toggle.textContent = open ? "Show profile" : "Hide profile";
      profileBox.hidden = open;
    });
    remove.addEventListener("click", () => {
      remove.hidden = true;
      confirm.hidden = false;
      confirm.querySelector('[data-action="confirm-delete"]').focus();
    });
    confirm.querySelector('[data-action="cancel-delete"]').addEventListener("click", () => {
      confirm.hidden = true;
      remove.hidden = false;
      remove.focus();
    });
    confirm.querySelector('[data-action="confirm-delete"]').addEventListener("click", async () => {
      try {
        await api.delete(`/resumes/${resume.id}`);
        item.remove();
        refreshEmpty();
        toast(`${resume.filename} deleted.`, "success");
        list.closest("section")?.querySelector("h2")?.focus?.();
      } catch (error) {
        toast(error.userMessage ?? String(error), "error");
      }
    });
    item.update = (next, progress) => {
      Object.assign(resume, next);
      item.dataset.status = resume.status;
      statusText.textContent = STATUS_TEXT[resume.status] ?? resume.status;
      statusText.className = `resume-status badge badge-${resume.status}`;
      const busy = resume.status === "uploaded" || resume.status === "parsing";
      progressBar.hidden = !busy;
      if (Number.isFinite(progress)) progressBar.value = progress;
      const errorText = item.querySelector(".resume-error");
      errorText.hidden = resume.status !== "failed";
      errorText.textContent = resume.status === "failed" ? resume.error || "The file could not be read." : "";
      const parsed = resume.status === "parsed" && resume.profile;
      toggle.hidden = !parsed;
      practise.hidden = !parsed;
      if (parsed) profileBox.replaceChildren(profileView(resume.profile));
    };
    item.update(resume, resume.status === "parsed" ? 100 : 0);
    return item;
  }

  async function followTask(item, resumeId, taskId) {
    let delay = POLL_MS;
    while (!stopped) {
      await sleep(delay);
      if (stopped) return;
      try {
        const task = taskId ? await api.get(`/tasks/${taskId}`) : null;
        if (task && task.status !== "succeeded" && task.status !== "failed") {
          item.update({ status: task.status === "running" ? "parsing" : "uploaded" }, task.progress);
          delay = POLL_MS;
          continue;
        }
        const resume = await api.get(`/resumes/${resumeId}`);
        item.update(resume, task?.progress ?? 100);
        if (resume.status === "parsed" || resume.status === "failed") {
          if (resume.status === "parsed") toast(`${resume.filename} is ready.`, "success");
          return;
        }
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) {
          item.remove();
          refreshEmpty();
          return;
        }
        // Keep following through brief outages and rate limits, more slowly.
        delay = Math.min(10_000, (error?.retryAfter ?? 0) * 1000 || delay * 2);
      }
    }
  }

  async function upload(file) {
    showUploadError("");
    if (file.size > MAX_BYTES) {
      showUploadError(`${file.name} is ${formatBytes(file.size)}; resumes can be at most 5 MB.`);
      return;
    }
    const form = new FormData();
    form.append("file", file, file.name);
    dropzone.classList.add("busy");
    dropzone.setAttribute("aria-busy", "true");
    try {
      const created = await api.upload("/resumes", form);
      const item = card(created.resume);
      list.prepend(item);
      refreshEmpty();
      followTask(item, created.resume.id, created.task_id);
    } catch (error) {
      const message =
        error instanceof ApiError && error.status === 415
          ? "That file is not a PDF or a Word (.docx) document."
          : error instanceof ApiError && error.status === 413
            ? "That file is too large: resumes can be at most 5 MB."
            : error.userMessage ?? String(error);
      showUploadError(message);
    } finally {
      dropzone.classList.remove("busy");
      dropzone.removeAttribute("aria-busy");
    }
  }

  const page = await api.get("/resumes?limit=50");
  if (!ctx.isCurrent()) return;
  for (const resume of page.items) {
    const item = card(resume);
    list.append(item);
    if (resume.status === "uploaded" || resume.status === "parsing") followTask(item, resume.id, null);
  }
  refreshEmpty();
}
