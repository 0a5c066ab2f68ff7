// History-API routing for the page paths the server serves the shell at (server/web/routes.py).

import { h } from "./dom.js";

const routes = [];
let cleanups = [];
let renderCount = 0;
const AFTER_LOGIN_KEY = "interviewace.after-login";

/** route("/interviews/:id", view, {auth: true}) */
export function route(pattern, view, options = {}) {
  const names = [];
  const source = pattern.replace(/:([a-z_]+)/g, (_, name) => {
    names.push(name);
    return "([^/]+)";
  });
  routes.push({ regex: new RegExp(`^${source}/?$`), names, view, ...options });
}

function match(pathname) {
  for (const candidate of routes) {
    const found = candidate.regex.exec(pathname);
    if (found) {
      const params = Object.fromEntries(candidate.names.map((name, i) => [name, decodeURIComponent(found[i + 1])]));
      return { route: candidate, params };
    }
  }
  return null;
}

export function navigate(path, { replace = false } = {}) {
  if (replace) history.replaceState(null, "", path);
  else history.pushState(null, "", path);
  return renderAgain();
}

/** Where to go after signing in: the page that asked for it, else home. */
export function takeAfterLogin() {
  const path = sessionStorage.getItem(AFTER_LOGIN_KEY);
  sessionStorage.removeItem(AFTER_LOGIN_KEY);
  return path && path.startsWith("/") && !path.startsWith("//") ? path : "/";
}

export function rememberAfterLogin(path) {
  sessionStorage.setItem(AFTER_LOGIN_KEY, path);
}

function runCleanups() {
  for (const cleanup of cleanups) {
    try {
      cleanup();
    } catch (error) {
      console.error(error);
    }
  }
  cleanups = [];
}

export async function render({ isSignedIn, onRendered }) {
  const current = ++renderCount;
  runCleanups();
  const main = document.getElementById("main");
  const root = h("div", { class: "view" });
  main.replaceChildren(root);
  const found = match(location.pathname);
  const ctx = {
    root,
    params: found?.params ?? {},
    query: new URLSearchParams(location.search),
    cleanup: (fn) => cleanups.push(fn),
    isCurrent: () => current === renderCount,
    setTitle: (title) => {
      if (current === renderCount) document.title = title ? `${title} · InterviewAce` : "InterviewAce";
    },
  };
  if (!found) {
    ctx.setTitle("Page not found");
    root.append(
      h("h1", { tabindex: "-1" }, "Page not found"),
      h("p", {}, "There is nothing at this address. ", h("a", { href: "/" }, "Go to the start page"), "."),
    );
  } else if (found.route.auth && !isSignedIn()) {
    rememberAfterLogin(location.pathname + location.search);
    history.replaceState(null, "", "/login");
    return renderAgain();
  } else if (found.route.guestOnly && isSignedIn()) {
    history.replaceState(null, "", "/");
    return renderAgain();
  } else {
    try {
      await found.route.view(ctx);
    } catch (error) {
      console.error(error);
      if (ctx.isCurrent()) {
        root.replaceChildren(
          h("h1", { tabindex: "-1" }, "Something went wrong"),
          h("p", { class: "alert alert-error", role: "alert" }, error?.userMessage ?? String(error?.message ?? error)),
        );
      }
    }
  }
  if (current === renderCount) onRendered?.(root);
  return undefined;
}

let renderAgain = () => Promise.resolve();

/** Wire links and back/forward to the router. `rerender` renders the current location. */
export function startRouter(rerender) {
  renderAgain = rerender;
  document.addEventListener("click", (event) => {
    if (event.defaultPrevented || event.button !== 0) return;
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    const link = event.target.closest?.("a[href]");
    if (!link || link.target || link.hasAttribute("download")) return;
    const url = new URL(link.href, location.href);
    if (url.origin !== location.origin || !match(url.pathname)) return;
    event.preventDefault();
    if (url.pathname === location.pathname && url.search === location.search && url.hash) return;
    history.pushState(null, "", url.pathname + url.search + url.hash);
    rerender();
  });
  window.addEventListener("popstate", () => rerender());
}
