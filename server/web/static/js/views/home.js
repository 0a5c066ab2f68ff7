// The start page: what InterviewAce does when signed out; where to go next when signed in.

import { api, session, trackName } from "../api.js";
import { append, formatDate, formatScore, h, scoreClass } from "../dom.js";

function landing(ctx) {
  ctx.setTitle("");
  ctx.root.append(
    h(
      "section",
      { class: "hero" },
      h("h1", { tabindex: "-1" }, "Practise interviews. Get better with every answer."),
      h(
        "p",
        { class: "lead" },
        "An AI interviewer asks questions for your track and level, follows up where your answer leaves gaps, and scores each answer on relevance, depth, structure, communication and specificity.",
      ),
      h("div", { class: "row" }, h("a", { class: "btn btn-primary btn-large", href: "/register" }, "Create a free account"), h("a", { class: "btn btn-secondary btn-large", href: "/login" }, "Sign in")),
    ),
    h(
      "ul",
      { class: "feature-grid" },
      [
        ["Questions that fit you", "Upload your resume and paste a job description: questions follow your experience and the role."],
        ["Feedback as you go", "Every answer gets streamed feedback and rubric scores, then a full report with model answers."],
        ["Bring a coach", "Share a private link: an observer follows live and leaves notes that land in your report."],
      ].map(([title, text]) => h("li", { class: "card feature" }, h("h2", {}, title), h("p", { class: "muted" }, text))),
    ),
  );
}

export async function homeView(ctx) {
  if (!session.signedIn) {
    landing(ctx);
    return;
  }
  ctx.setTitle("Home");
  const user = session.user;
  const [recent, active] = await Promise.all([
    api.get("/interviews?limit=5"),
    api.get("/interviews?status=in_progress&limit=3"),
  ]);
  if (!ctx.isCurrent()) return;
  const lastScored = recent.items.find((interview) => interview.overall_score !== null);

  const activeList = await Promise.all(
    active.items.map(async (interview) =>
      h(
        "li",
        { class: "list-row" },
        h("div", {}, h("p", { class: "strong" }, await trackName(interview.track)), h("p", { class: "muted small" }, `Question ${interview.current_question} of ${interview.question_count} · started ${formatDate(interview.started_at)}`)),
        h("a", { class: "btn btn-small btn-primary", href: `/interviews/${interview.id}` }, "Continue"),
      ),
    ),
  );
  const recentList = await Promise.all(
    recent.items.map(async (interview) =>
      h(
        "li",
        { class: "list-row" },
        h("div", {}, h("a", { href: `/interviews/${interview.id}`, class: "strong" }, await trackName(interview.track)), h("p", { class: "muted small" }, formatDate(interview.created_at))),
        interview.overall_score === null
          ? h("span", { class: `badge badge-${interview.status}` }, interview.status.replace("_", " "))
          : h("span", { class: `score-chip ${scoreClass(interview.overall_score)}` }, formatScore(interview.overall_score)),
      ),
    ),
  );
  if (!ctx.isCurrent()) return;

  append(
    ctx.root,
    h("div", { class: "page-head" }, h("div", {}, h("h1", { tabindex: "-1" }, `Hello, ${user?.full_name?.split(" ")[0] || "there"}`), h("p", { class: "muted" }, lastScored ? `Your last score: ${formatScore(lastScored.overall_score)} / 10.` : "Ready for your first practice interview?")), h("a", { class: "btn btn-primary btn-large", href: "/interviews/new" }, "New interview")),
    user && !user.email_verified
      ? h("p", { class: "alert alert-info" }, `Please confirm ${user.email}: we sent you a link when you signed up.`)
      : null,
    activeList.length
      ? h("section", { class: "card stack", "aria-labelledby": "active-title" }, h("h2", { id: "active-title" }, "In progress"), h("ul", { class: "list" }, activeList))
      : null,
    h(
      "div",
      { class: "grid-2" },
      h(
        "section",
        { class: "card stack", "aria-labelledby": "recent-title" },
        h("h2", { id: "recent-title" }, "Recent interviews"),
        recentList.length ? h("ul", { class: "list" }, recentList) : h("p", { class: "muted" }, "Nothing yet: your interviews will be listed here."),
        h("a", { href: "/history" }, "All interviews and progress"),
      ),
      h(
        "section",
        { class: "card stack", "aria-labelledby": "prepare-title" },
        h("h2", { id: "prepare-title" }, "Prepare"),
        h("p", { class: "muted" }, "Upload your resume so questions can follow your real experience, and paste a job description when you create an interview."),
        h("a", { class: "btn btn-secondary", href: "/resumes" }, "Manage resumes"),
      ),
    ),
  );
}
