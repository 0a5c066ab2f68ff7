// Sign up, sign in, forgot and reset password, verify email.

import { ApiError, api, session, startSession } from "../api.js";
import { h, takeFragmentParams, toast } from "../dom.js";
import { field, formAlert, formValues, submitting } from "../forms.js";
import { navigate, takeAfterLogin } from "../router.js";

const PASSWORD_HINT =
  "At least 10 characters. Avoid common passwords and the part of your email before the @.";

function authCard(title, intro, ...content) {
  return h(
    "section",
    { class: "auth-card card" },
    h("h1", { tabindex: "-1" }, title),
    intro ? h("p", { class: "muted" }, intro) : null,
    ...content,
  );
}

export async function loginView(ctx) {
  ctx.setTitle("Sign in");
  const form = h(
    "form",
    { class: "stack", novalidate: true },
    formAlert(),
    field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true }),
    field({ label: "Password", name: "password", type: "password", autocomplete: "current-password", required: true }),
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Sign in"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, async () => {
      const { email, password } = formValues(form);
      if (!email || !password) throw new ApiError({ detail: "Enter your email and password." });
      await startSession(await api.post("/auth/login", { email, password }, { auth: false }));
      await navigate(takeAfterLogin(), { replace: true });
    });
  });
  ctx.root.append(
    authCard(
      "Sign in",
      "Welcome back. Practise an interview, then read what to improve.",
      form,
      h(
        "p",
        { class: "auth-links" },
        h("a", { href: "/forgot-password" }, "Forgot your password?"),
        h("span", { "aria-hidden": "true" }, " · "),
        h("a", { href: "/register" }, "Create an account"),
      ),
    ),
  );
}

export async function registerView(ctx) {
  ctx.setTitle("Create an account");
  const form = h(
    "form",
    { class: "stack", novalidate: true },
    formAlert(),
    field({ label: "Full name", name: "full_name", autocomplete: "name", required: true, maxlength: 200 }),
    field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true }),
    field({
      label: "Password",
      name: "password",
      type: "password",
      autocomplete: "new-password",
      required: true,
      minlength: 10,
      hint: PASSWORD_HINT,
    }),
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Create account"),
  );
  const card = authCard(
    "Create an account",
    "Free practice interviews with feedback on every answer.",
    form,
    h("p", { class: "auth-links" }, "Already have an account? ", h("a", { href: "/login" }, "Sign in")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, async () => {
      const values = formValues(form);
      const user = await api.post(
        "/auth/register",
        { full_name: values.full_name.trim(), email: values.email.trim(), password: values.password },
        { auth: false },
      );
      try {
        await startSession(
          await api.post("/auth/login", { email: values.email.trim(), password: values.password }, { auth: false }),
        );
      } catch (error) {
        if (error instanceof ApiError && error.code === "email_not_verified") {
          card.replaceChildren(
            h("h1", { tabindex: "-1" }, "Check your inbox"),
            h(
              "p",
              {},
              `We sent a confirmation link to ${user.email}. Open it to finish creating your account, then sign in.`,
            ),
            h("p", {}, h("a", { class: "btn btn-secondary", href: "/login" }, "Go to sign in")),
          );
          card.querySelector("h1").focus();
          return;
        }
        throw error;
      }
      toast(`Welcome, ${user.full_name}.`, "success");
      await navigate(takeAfterLogin(), { replace: true });
    });
  });
  ctx.root.append(card);
}

export async function forgotPasswordView(ctx) {
  ctx.setTitle("Forgot password");
  const form = h(
    "form",
    { class: "stack", novalidate: true },
    formAlert(),
    field({ label: "Email", name: "email", type: "email", autocomplete: "email", required: true }),
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Send reset link"),
  );
  const card = authCard(
    "Reset your password",
    "Enter the email of your account and we will send you a link to choose a new password.",
    form,
    h("p", { class: "auth-links" }, h("a", { href: "/login" }, "Back to sign in")),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, async () => {
      const email = formValues(form).email.trim();
      if (!email) throw new ApiError({ detail: "Enter the email of your account." });
      await api.post("/auth/password/forgot", { email }, { auth: false });
      form.replaceWith(
        h(
          "p",
          { class: "alert alert-success", role: "status" },
          `If an account exists for ${email}, a reset link is on its way. It works for 30 minutes.`,
        ),
      );
    });
  });
  ctx.root.append(card);
}

export async function resetPasswordView(ctx) {
  ctx.setTitle("Choose a new password");
  const token = takeFragmentParams().get("token");
  if (!token) {
    ctx.root.append(
      authCard(
        "Choose a new password",
        null,
        h(
          "p",
          { class: "alert alert-error", role: "alert" },
          "This page needs the link from the password reset email. Ask for a new link if it expired.",
        ),
        h("p", {}, h("a", { class: "btn btn-secondary", href: "/forgot-password" }, "Ask for a new link")),
      ),
    );
    return;
  }
  const form = h(
    "form",
    { class: "stack", novalidate: true },
    formAlert(),
    field({
      label: "New password",
      name: "new_password",
      type: "password",
      autocomplete: "new-password",
      required: true,
      minlength: 10,
      hint: PASSWORD_HINT,
    }),
    field({ label: "Repeat the new password", name: "confirm", type: "password", autocomplete: "new-password", required: true }),
    h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Set new password"),
  );
  const card = authCard("Choose a new password", null, form);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    submitting(form, async () => {
      const values = formValues(form);
      if (values.new_password !== values.confirm) {
        throw new ApiError({ detail: "The two passwords differ.", errors: [{ field: "confirm", message: "does not match the new password" }] });
      }
      await api.post("/auth/password/reset", { token, new_password: values.new_password }, { auth: false });
      // Every session of the account has just ended, this tab's included.
      session.clear();
      card.replaceChildren(
        h("h1", { tabindex: "-1" }, "Password changed"),
        h("p", { class: "alert alert-success", role: "status" }, "Your password is changed. Sign in with the new one."),
        h("p", {}, h("a", { class: "btn btn-primary", href: "/login" }, "Sign in")),
      );
      card.querySelector("h1").focus();
    });
  });
  ctx.root.append(card);
}

export async function verifyEmailView(ctx) {
  ctx.setTitle("Confirm your email");
  const token = takeFragmentParams().get("token");
  const status = h("p", { role: "status" }, token ? "Confirming your email…" : "");
  const card = authCard("Confirm your email", null, status);
  ctx.root.append(card);
  if (!token) {
    status.replaceWith(
      h("p", { class: "alert alert-error", role: "alert" }, "This page needs the link from the confirmation email."),
    );
    return;
  }
  try {
    const user = await api.post("/auth/verify-email", { token }, { auth: false });
    if (session.user?.id === user.id) session.setUser(user);
    status.replaceWith(
      h("p", { class: "alert alert-success", role: "status" }, `Thank you: ${user.email} is confirmed.`),
      h(
        "p",
        {},
        h("a", { class: "btn btn-primary", href: session.signedIn ? "/" : "/login" }, session.signedIn ? "Continue" : "Sign in"),
      ),
    );
  } catch (error) {
    const message =
      error instanceof ApiError && error.code === "invalid_token"
        ? "This link is not valid any more: it was used already or it expired."
        : error.userMessage ?? String(error);
    status.replaceWith(h("p", { class: "alert alert-error", role: "alert" }, message));
  }
}
