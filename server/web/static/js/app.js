// Entry point: the routes, the navigation bar, and reactions to the session changing.

import { session, signOut } from "./api.js";
import { h, toast } from "./dom.js";
import { navigate, render, rememberAfterLogin, route, startRouter } from "./router.js";
import { forgotPasswordView, loginView, registerView, resetPasswordView, verifyEmailView } from "./views/auth.js";
import { historyView } from "./views/history.js";
import { homeView } from "./views/home.js";
import { interviewView } from "./views/interview.js";
import { newInterviewView } from "./views/new-interview.js";
import { resumesView } from "./views/resumes.js";
import { watchView } from "./views/watch.js";

route("/", homeView);
route("/login", loginView, { guestOnly: true });
route("/register", registerView, { guestOnly: true });
route("/forgot-password", forgotPasswordView);
route("/reset-password", resetPasswordView);
route("/verify-email", verifyEmailView);
route("/resumes", resumesView, { auth: true });
route("/interviews/new", newInterviewView, { auth: true });
route("/interviews/:id", interviewView, { auth: true });
route("/watch/:id", watchView);
route("/history", historyView, { auth: true });

const nav = document.getElementById("site-nav");
const navToggle = document.querySelector(".nav-toggle");

function navLink(href, label) {
  const current = location.pathname === href || (href !== "/" && location.pathname.startsWith(`${href}/`) && href !== "/interviews/new");
  return h("a", { href, class: "nav-link", "aria-current": current ? "page" : null }, label);
}

function renderNav() {
  if (session.signedIn) {
    const signOutButton = h("button", { type: "button", class: "nav-link nav-button" }, "Sign out");
    signOutButton.addEventListener("click", async () => {
      signOutButton.disabled = true;
      await signOut();
      toast("You are signed out.", "info");
      await navigate("/login");
    });
    nav.replaceChildren(
      navLink("/interviews/new", "New interview"),
      navLink("/resumes", "Resumes"),
      navLink("/history", "History"),
      h("span", { class: "nav-user", title: session.user?.email ?? "" }, session.user?.full_name ?? ""),
      signOutButton,
    );
  } else {
    nav.replaceChildren(navLink("/login", "Sign in"), h("a", { href: "/register", class: "btn btn-small btn-primary nav-cta" }, "Create account"));
  }
}

function closeMenu() {
  nav.classList.remove("open");
  navToggle.setAttribute("aria-expanded", "false");
}

navToggle.addEventListener("click", () => {
  const open = !nav.classList.contains("open");
  nav.classList.toggle("open", open);
  navToggle.setAttribute("aria-expanded", String(open));
});

async function renderPage() {
  closeMenu();
  renderNav();
  await render({
    isSignedIn: () => session.signedIn,
    onRendered: (root) => {
      // Move focus to the new page's heading so keyboard and screen reader users start there,
      // but not on the first load, where the browser's own start position is expected.
      if (renderPage.count++ > 0) root.querySelector("h1")?.focus({ preventScroll: false });
      renderNav();
    },
  });
}
renderPage.count = 0;

window.addEventListener("session-change", renderNav);
window.addEventListener("session-ended", () => {
  const path = location.pathname;
  if (["/login", "/register", "/forgot-password", "/reset-password", "/verify-email"].includes(path)) return;
  if (path.startsWith("/watch/")) return;
  rememberAfterLogin(path + location.search);
  toast("Your session has ended. Please sign in again.", "info");
  navigate("/login", { replace: true });
});

startRouter(renderPage);
renderPage();
