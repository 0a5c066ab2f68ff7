// Labelled form fields and the display of problem-details errors next to the fields they name.

import { ApiError } from "./api.js";
import { h } from "./dom.js";

let fieldCounter = 0;

/** A labelled control. `control` is "input" (default), "textarea" or "select". */
export function field({ label, name, control = "input", hint, options, ...attrs }) {
  const id = `f-${name}-${++fieldCounter}`;
  const hintId = hint ? `${id}-hint` : null;
  let input;
  if (control === "select") {
    input = h(
      "select",
      { id, name, "aria-describedby": hintId, ...attrs },
      (options ?? []).map((option) => h("option", { value: option.value }, option.label)),
    );
  } else {
    const type = control === "input" ? attrs.type ?? "text" : undefined;
    input = h(control, { id, name, "aria-describedby": hintId, ...attrs, type });
  }
  return h(
    "div",
    { class: "field" },
    h("label", { for: id }, label),
    input,
    hint ? h("p", { class: "field-hint", id: hintId }, hint) : null,
  );
}

export function formAlert() {
  return h("div", { class: "form-alert", role: "alert", tabindex: "-1", hidden: true });
}

export function clearErrors(form) {
  for (const message of form.querySelectorAll(".field-error")) message.remove();
  for (const control of form.querySelectorAll("[aria-invalid]")) {
    control.removeAttribute("aria-invalid");
    const described = (control.getAttribute("aria-describedby") ?? "")
      .split(" ")
      .filter((id) => id && !id.endsWith("-error"))
      .join(" ");
    if (described) control.setAttribute("aria-describedby", described);
    else control.removeAttribute("aria-describedby");
  }
  const alert = form.querySelector(".form-alert");
  if (alert) {
    alert.hidden = true;
    alert.replaceChildren();
  }
}

/** Show an error: field errors next to their fields, the rest (and a summary) at the top. */
export function showError(form, error) {
  clearErrors(form);
  const alert = form.querySelector(".form-alert");
  const message = error instanceof ApiError ? error.userMessage : String(error?.message ?? error);
  let firstInvalid = null;
  const unplaced = [];
  for (const item of error instanceof ApiError ? error.errors : []) {
    const name = String(item.field ?? "").split(".").pop();
    const control = name ? form.querySelector(`[name="${CSS.escape(name)}"]`) : null;
    if (!control) {
      unplaced.push(item.message);
      continue;
    }
    const errorId = `${control.id}-error`;
    control.setAttribute("aria-invalid", "true");
    control.setAttribute(
      "aria-describedby",
      [control.getAttribute("aria-describedby"), errorId].filter(Boolean).join(" "),
    );
    control.insertAdjacentElement("afterend", h("p", { class: "field-error", id: errorId }, humanMessage(item.message)));
    firstInvalid ??= control;
  }
  if (alert) {
    const placed = Boolean(firstInvalid);
    alert.append(h("p", {}, placed && !unplaced.length ? "Please correct the highlighted field." : humanMessage(message)));
    for (const text of unplaced) alert.append(h("p", {}, humanMessage(text)));
    alert.hidden = false;
  }
  (firstInvalid ?? alert)?.focus?.();
}

function humanMessage(text) {
  const value = String(text ?? "");
  return value.charAt(0).toUpperCase() + value.slice(1);
}

/** Run `action` with the form's submit button disabled; errors are shown on the form. */
export async function submitting(form, action) {
  const button = form.querySelector('[type="submit"]');
  clearErrors(form);
  if (button) {
    button.disabled = true;
    button.setAttribute("aria-busy", "true");
  }
  try {
    return await action();
  } catch (error) {
    if (error?.name === "AbortError") return undefined;
    showError(form, error);
    return undefined;
  } finally {
    if (button) {
      button.disabled = false;
      button.removeAttribute("aria-busy");
    }
  }
}

export function formValues(form) {
  return Object.fromEntries(new FormData(form).entries());
}
