// A new interview: track, difficulty, company style, resume, job description, question count.

import { ApiError, api, loadTracks, session } from "../api.js";
import { h, humanize } from "../dom.js";
import { field, formAlert, formValues, submitting } from "../forms.js";
import { navigate } from "../router.js";

const DIFFICULTY_NAMES = { 1: "Gentle", 2: "Standard", 3: "Challenging", 4: "Hard", 5: "Expert" };
const LANGUAGE_NAMES = new Intl.DisplayNames(undefined, { type: "language" });

export async function newInterviewView(ctx) {
  ctx.setTitle("New interview");
  const [overview, resumes] = await Promise.all([
    loadTracks(),
    api.get("/resumes?limit=100").catch((error) => {
      // The interview works without a resume; say so rather than failing the page.
      console.warn("resumes unavailable", error);
      return { items: [] };
    }),
  ]);
  if (!ctx.isCurrent()) return;
  const preferences = session.user?.preferences ?? {};
  const parsedResumes = resumes.items.filter((resume) => resume.status === "parsed");
  const wantedResume = ctx.query.get("resume");
  const { min, max } = overview.difficulty;
  const difficulties = [];
  for (let level = min; level <= max; level += 1) {
    difficulties.push({ value: String(level), label: `${level} · ${DIFFICULTY_NAMES[level] ?? "Level " + level}` });
  }

  const form = h(
    "form",
    { class: "stack", novalidate: true },
    formAlert(),
    h(
      "div",
      { class: "grid-2" },
      field({
        label: "Track",
        name: "track",
        control: "select",
        required: true,
        options: overview.tracks.map((track) => ({ value: track.id, label: `${track.name} (${track.questions} questions)` })),
        value: preferences.default_track ?? overview.tracks[0]?.id,
      }),
      field({
        label: "Difficulty",
        name: "difficulty",
        control: "select",
        hint: "Where to start; it adapts to your answers.",
        options: difficulties,
        value: String(preferences.default_difficulty ?? 2),
      }),
      field({
        label: "Company style",
        name: "company_style",
        control: "select",
        options: [{ value: "", label: "Any" }, ...overview.company_styles.map((style) => ({ value: style, label: humanize(style) }))],
        value: "",
      }),
      field({
        label: "Number of questions",
        name: "question_count",
        type: "number",
        min: "1",
        max: "20",
        value: "5",
        inputmode: "numeric",
        hint: "1 to 20, not counting follow-ups.",
      }),
      field({
        label: "Resume",
        name: "resume_id",
        control: "select",
        hint: parsedResumes.length ? "Questions can draw on your experience." : "Upload a resume to get questions about your experience.",
        options: [{ value: "", label: "No resume" }, ...parsedResumes.map((resume) => ({ value: resume.id, label: resume.filename }))],
        value: parsedResumes.some((resume) => resume.id === wantedResume) ? wantedResume : parsedResumes[0]?.id ?? "",
      }),
      overview.languages.length > 1
        ? field({
            label: "Language",
            name: "language",
            control: "select",
            options: overview.languages.map((code) => ({ value: code, label: LANGUAGE_NAMES.of(code) ?? code })),
            value: preferences.language && overview.languages.includes(preferences.language) ? preferences.language : overview.languages[0],
          })
        : null,
    ),
    field({
      label: "Job description (optional)",
      name: "job_description",
      control: "textarea",
      rows: "6",
      maxlength: "20000",
      hint: "Paste the posting to focus the questions on what the role asks for.",
    }),
    h("div", { class: "row" }, h("button", { type: "submit", class: "btn btn-primary" }, "Create interview"), h("a", { href: "/resumes", class: "btn btn-ghost" }, "Manage resumes")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, async () => {
      const values = formValues(form);
      const count = Number.parseInt(values.question_count, 10);
      if (!Number.isInteger(count) || count < 1 || count > 20) {
        throw new ApiError({ detail: "Choose between 1 and 20 questions.", errors: [{ field: "question_count", message: "must be a whole number from 1 to 20" }] });
      }
      const body = {
        track: values.track,
        difficulty: Number.parseInt(values.difficulty, 10),
        question_count: count,
      };
      if (values.company_style) body.company_style = values.company_style;
      if (values.resume_id) body.resume_id = values.resume_id;
      if (values.language) body.language = values.language;
      if (values.job_description?.trim()) body.job_description = values.job_description.trim();
      const interview = await api.post("/interviews", body);
      await navigate(`/interviews/${interview.id}`);
    });
  });

  ctx.root.append(
    h("div", { class: "page-head" }, h("div", {}, h("h1", { tabindex: "-1" }, "New interview"), h("p", { class: "muted" }, "Choose what to practise. You start the interview on the next page."))),
    h("section", { class: "card" }, form),
  );
}
