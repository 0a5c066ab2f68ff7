// Small DOM helpers. Everything is built with createElement and textContent: no HTML strings,
// so text from the API can never become markup, and no inline styles (the CSP forbids them).

const SVG_NS = "http://www.w3.org/2000/svg";

function setProps(el, props) {
  for (const [key, value] of Object.entries(props ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") el.setAttribute("class", value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") {
      el.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === "value" || key === "checked" || key === "selected") el[key] = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
}

function appendChildren(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** h("button", {class: "btn", onClick}, "Save") */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  appendChildren(el, children);
  setProps(el, props); // after children so that a <select>'s value can pick one of its options
  return el;
}

/** The same for SVG elements (charts). */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setProps(el, props);
  appendChildren(el, children);
  return el;
}

/** Append children, skipping null/false ones (DOM append would print them as text). */
export function append(el, ...children) {
  appendChildren(el, children);
  return el;
}

export function clear(el) {
  el.replaceChildren();
  return el;
}

/** A random id for client-chosen ids (answers, notes). Works outside secure contexts too. */
export function randomId() {
  if (globalThis.crypto?.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const dateFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });
const shortDateFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });

export function formatDate(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : dateFormat.format(date);
}

export function formatShortDate(iso) {
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? "" : shortDateFormat.format(date);
}

export function formatBytes(bytes) {
  if (!Number.isFinite(bytes)) return "";
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}

export function formatScore(score) {
  return Number.isFinite(score) ? score.toFixed(1) : "–";
}

/** "relevance" → "Relevance", "big_tech" → "Big tech". */
export function humanize(name) {
  const text = String(name ?? "").replaceAll("_", " ");
  return text.charAt(0).toUpperCase() + text.slice(1);
}

/** Read `#token=...` style fragments, then drop the fragment from the address bar and history so
 * the secret is not left where it can be copied or shared by accident. */
export function takeFragmentParams() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (location.hash) history.replaceState(history.state, "", location.pathname + location.search);
  return params;
}

let toastCounter = 0;

/** A short message in the polite live region at the bottom of the page. */
export function toast(message, kind = "info") {
  const region = document.getElementById("toasts");
  if (!region) return;
  const id = `toast-${++toastCounter}`;
  const item = h("div", { class: `toast toast-${kind}`, id }, message);
  region.append(item);
  setTimeout(() => item.remove(), 6000);
}

export function scoreClass(score) {
  if (!Number.isFinite(score)) return "score-none";
  if (score >= 7.5) return "score-high";
  if (score >= 5) return "score-mid";
  return "score-low";
}
