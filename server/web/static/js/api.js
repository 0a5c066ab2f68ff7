// The REST client: JSON in and out, problem details turned into ApiError, and the session's
// tokens kept in memory and sessionStorage (never in a URL), refreshed when they run out.

const API_BASE = "/api/v1";
const STORAGE_KEY = "interviewace.session";
// Refresh this long before the access token expires, so a request never races its expiry.
const EXPIRY_MARGIN_MS = 30_000;

export class ApiError extends Error {
  constructor({ status = 0, code = "error", title = "", detail = "", errors = [], retryAfter = null }) {
    super(detail || title || "Something went wrong.");
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.title = title;
    this.detail = detail;
    this.errors = Array.isArray(errors) ? errors : [];
    this.retryAfter = retryAfter;
  }

  /** A sentence for people: the server's detail, or what the status means. */
  get userMessage() {
    if (this.status === 429) {
      const wait = this.retryAfter ? ` Try again in ${this.retryAfter} s.` : " Try again shortly.";
      return `Too many requests.${wait}`;
    }
    if (this.code === "network_error") return this.message;
    if (this.status >= 500) return "The server had a problem handling this. Please try again.";
    return this.message;
  }
}

function readStored() {
  try {
    const raw = sessionStorage.getItem(STORAGE_KEY);
    return raw ? JSON.parse(raw) : null;
  } catch {
    return null;
  }
}

class Session {
  constructor() {
    const stored = readStored();
    this.tokens = stored?.tokens ?? null; // {access_token, refresh_token, expires_at}
    this.user = stored?.user ?? null;
    this.refreshing = null;
  }

  get signedIn() {
    return Boolean(this.tokens?.refresh_token);
  }

  save() {
    if (this.tokens) {
      sessionStorage.setItem(STORAGE_KEY, JSON.stringify({ tokens: this.tokens, user: this.user }));
    } else {
      sessionStorage.removeItem(STORAGE_KEY);
    }
    window.dispatchEvent(new CustomEvent("session-change"));
  }

  setTokens(pair) {
    this.tokens = {
      access_token: pair.access_token,
      refresh_token: pair.refresh_token,
      expires_at: Date.now() + pair.expires_in * 1000,
    };
    this.save();
  }

  setUser(user) {
    this.user = user;
    this.save();
  }

  clear() {
    this.tokens = null;
    this.user = null;
    this.save();
  }

  /** One refresh at a time: concurrent callers share it (a spent refresh token must not be
   * presented twice, or the server ends the whole session as a reuse). */
  refresh() {
    if (!this.refreshing) {
      this.refreshing = this.#refreshOnce().finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  async #refreshOnce() {
    const refreshToken = this.tokens?.refresh_token;
    if (!refreshToken) return false;
    try {
      const pair = await request("POST", "/auth/refresh", { body: { refresh_token: refreshToken }, auth: false });
      this.setTokens(pair);
      return true;
    } catch (error) {
      if (error instanceof ApiError && (error.status === 401 || error.status === 400)) {
        this.end();
      }
      return false;
    }
  }

  /** The session is over (expired, revoked, signed out elsewhere). */
  end() {
    this.clear();
    window.dispatchEvent(new CustomEvent("session-ended"));
  }

  async accessToken() {
    if (!this.tokens) return null;
    if (Date.now() > this.tokens.expires_at - EXPIRY_MARGIN_MS) await this.refresh();
    return this.tokens?.access_token ?? null;
  }
}

export const session = new Session();

async function problemFrom(response) {
  const retryAfter = Number.parseInt(response.headers.get("Retry-After") ?? "", 10) || null;
  let body = null;
  const type = response.headers.get("Content-Type") ?? "";
  if (type.includes("json")) {
    try {
      body = await response.json();
    } catch {
      body = null;
    }
  }
  return new ApiError({
    status: response.status,
    code: body?.code ?? "error",
    title: body?.title ?? response.statusText,
    detail: body?.detail ?? "",
    errors: body?.errors ?? [],
    retryAfter,
  });
}

async function request(method, path, { body, form, auth = true, retried = false, signal } = {}) {
  const headers = { Accept: "application/json" };
  let payload;
  if (form) payload = form;
  else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  if (auth) {
    const token = await session.accessToken();
    if (token) headers.Authorization = `Bearer ${token}`;
  }
  let response;
  try {
    response = await fetch(API_BASE + path, { method, headers, body: payload, signal, credentials: "omit" });
  } catch (error) {
    if (error?.name === "AbortError") throw error;
    throw new ApiError({
      code: "network_error",
      detail: "Cannot reach the server. Check your connection and try again.",
    });
  }
  if (response.status === 401 && auth && !retried && session.signedIn) {
    if (await session.refresh()) return request(method, path, { body, form, auth, retried: true, signal });
  }
  if (!response.ok) {
    const problem = await problemFrom(response);
    if (problem.status === 401 && auth) session.end();
    throw problem;
  }
  if (response.status === 204) return null;
  const text = await response.text();
  return text ? JSON.parse(text) : null;
}

export const api = {
  get: (path, options) => request("GET", path, options),
  post: (path, body, options) => request("POST", path, { ...options, body }),
  patch: (path, body, options) => request("PATCH", path, { ...options, body }),
  delete: (path, options) => request("DELETE", path, options),
  upload: (path, form, options) => request("POST", path, { ...options, form }),
};

/** Sign in with a token pair and load the user. */
export async function startSession(pair) {
  session.setTokens(pair);
  session.setUser(await api.get("/auth/me"));
}

export async function signOut() {
  const refreshToken = session.tokens?.refresh_token;
  try {
    if (session.signedIn) await api.post("/auth/logout", refreshToken ? { refresh_token: refreshToken } : undefined);
  } catch {
    // Signing out locally matters most; the tokens expire on their own if the call failed.
  }
  session.clear();
}

let tracksCache = null;

/** GET /interviews/tracks, once per page load. */
export function loadTracks() {
  if (!tracksCache) {
    tracksCache = api.get("/interviews/tracks").catch((error) => {
      tracksCache = null;
      throw error;
    });
  }
  return tracksCache;
}

export async function trackName(id) {
  try {
    const overview = await loadTracks();
    return overview.tracks.find((track) => track.id === id)?.name ?? id;
  } catch {
    return id;
  }
}
