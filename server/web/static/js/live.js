// The live interview channel (websocket.md, protocol 1): hello with the highest seq held,
// durable events deduplicated by seq, streamed text rebuilt from deltas, pings, and automatic
// reconnection with exponential backoff that resumes from `last_seq` so nothing is lost.

const DURABLE = new Set([
  "interview.started",
  "question",
  "answer",
  "evaluation",
  "interview.completed",
  "interview.abandoned",
]);
const FINAL = new Set(["interview.completed", "interview.abandoned"]);
// The server closes sockets that stay silent for 60 s; a ping every 20 s keeps this one alive.
export const PING_INTERVAL_MS = 20_000;
// No frame at all this long after a ping: the connection is dead even if the browser thinks not.
const PONG_TIMEOUT_MS = 10_000;
const BACKOFF_BASE_MS = 500;
const BACKOFF_MAX_MS = 15_000;

const FATAL_CLOSES = {
  4403: "You are not allowed to join this interview.",
  4404: "This interview does not exist or was deleted.",
  1009: "A message was too large for the server.",
};

function streamKey(frame) {
  if (frame.type === "question" || frame.type === "question.delta") return `question:${frame.question_id}`;
  if (frame.type === "evaluation" || frame.type === "evaluation.delta") return `evaluation:${frame.answer_id}`;
  return null;
}

export class LiveChannel {
  /**
   * @param {object} options
   * @param {string} options.interviewId
   * @param {() => Promise<string|null>} options.getToken access or observer token for `hello`
   * @param {() => Promise<boolean>} [options.renewToken] after a 4401: true when a retry may work
   * @param {(frame) => void} options.onEvent each durable event, once, in seq order
   * @param {(stream) => void} options.onStream {kind, key, text, frame}: the text so far
   * @param {(frame) => void} [options.onWelcome]
   * @param {(frame) => void} [options.onFrame] presence, note, error and other frames
   * @param {(frame) => void} [options.onAnswerSeen] every answer event, duplicates included
   * @param {(status) => void} [options.onStatus] {state, attempt, delay, message}
   */
  constructor(options) {
    this.options = options;
    this.lastSeq = 0;
    this.socket = null;
    this.welcomed = false;
    this.attempt = 0;
    this.stopped = false;
    this.finished = false;
    this.authRetries = 0;
    this.streams = new Map();
    this.finishedStreams = new Set();
    this.reconnectTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.lastHeard = 0;
    this.onOnline = () => this.#online();
    this.onOffline = () => this.#offline();
  }

  start() {
    window.addEventListener("online", this.onOnline);
    window.addEventListener("offline", this.onOffline);
    this.#open();
  }

  stop() {
    this.stopped = true;
    window.removeEventListener("online", this.onOnline);
    window.removeEventListener("offline", this.onOffline);
    clearTimeout(this.reconnectTimer);
    this.#detach(1000);
  }

  /** Send a frame on the live socket; false when there is none right now. */
  send(frame) {
    if (!this.socket || this.socket.readyState !== WebSocket.OPEN || !this.welcomed) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  get connected() {
    return Boolean(this.socket && this.welcomed && this.socket.readyState === WebSocket.OPEN);
  }

  /** Connect again now (after being replaced by another tab, or from a "retry" button). */
  reconnectNow() {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    this.attempt = 0;
    this.authRetries = 0;
    this.#detach(1000);
    this.#open();
  }

  #status(state, extra = {}) {
    this.state = state;
    this.options.onStatus?.({ state, attempt: this.attempt, ...extra });
  }

  async #open() {
    if (this.stopped || this.socket) return;
    if (!navigator.onLine) {
      this.#status("offline");
      return;
    }
    this.#status(this.attempt ? "reconnecting" : "connecting");
    let token;
    try {
      token = await this.options.getToken();
    } catch {
      token = null;
    }
    if (this.stopped || this.socket) return;
    if (!token) {
      this.#status("failed", { message: "You are signed out. Sign in again to continue." });
      return;
    }
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws/interviews/${encodeURIComponent(this.options.interviewId)}`);
    this.socket = socket;
    this.welcomed = false;
    socket.addEventListener("open", () => {
      if (socket !== this.socket) return;
      socket.send(JSON.stringify({ type: "hello", token, last_seq: this.lastSeq }));
    });
    socket.addEventListener("message", (message) => {
      if (socket !== this.socket) return;
      this.lastHeard = Date.now();
      let frame;
      try {
        frame = JSON.parse(message.data);
      } catch {
        return;
      }
      this.#receive(frame);
    });
    socket.addEventListener("close", (event) => {
      if (socket !== this.socket) return;
      this.socket = null;
      this.welcomed = false;
      this.#stopPing();
      this.#closed(event.code);
    });
  }

  /** Let go of the current socket at once; its late events are ignored. */
  #detach(code) {
    const socket = this.socket;
    this.socket = null;
    this.welcomed = false;
    this.#stopPing();
    if (socket && socket.readyState <= WebSocket.OPEN) {
      try {
        socket.close(code);
      } catch {
        // Already closing.
      }
    }
  }

  #receive(frame) {
    switch (frame.type) {
      case "welcome":
        this.welcomed = true;
        this.attempt = 0;
        this.authRetries = 0;
        // Any stream still running is re-sent whole (offset 0) after the replay.
        this.streams.clear();
        this.#status("live");
        this.#startPing();
        this.options.onWelcome?.(frame);
        return;
      case "pong":
        return;
      case "question.delta":
      case "evaluation.delta":
        this.#delta(frame);
        return;
      default:
        if (DURABLE.has(frame.type)) this.#durable(frame);
        else this.options.onFrame?.(frame);
    }
  }

  #durable(frame) {
    if (frame.type === "answer") this.options.onAnswerSeen?.(frame);
    if (!Number.isInteger(frame.seq) || frame.seq <= this.lastSeq) return; // held already
    if (frame.seq !== this.lastSeq + 1) {
      // Something was missed: start over from what is held; the server replays the rest.
      this.#detach(4000);
      this.#schedule();
      return;
    }
    this.lastSeq = frame.seq;
    const key = streamKey(frame);
    if (key) {
      this.streams.delete(key);
      this.finishedStreams.add(key);
    }
    if (FINAL.has(frame.type)) this.finished = true;
    this.options.onEvent(frame);
  }

  #delta(frame) {
    const key = streamKey(frame);
    if (!key || this.finishedStreams.has(key)) return;
    const held = this.streams.get(key);
    let text;
    if (frame.offset === 0) text = frame.text; // a new run (or a provider fallback) replaces the old
    else if (held !== undefined && frame.offset === held.length) text = held + frame.text;
    else return; // a piece of a run whose start we lack; the next offset-0 frame repairs it
    this.streams.set(key, text);
    this.options.onStream({ kind: frame.type === "question.delta" ? "question" : "evaluation", key, text, frame });
  }

  #startPing() {
    this.#stopPing();
    this.pingTimer = setInterval(() => {
      const sentAt = Date.now();
      if (!this.send({ type: "ping", nonce: String(sentAt) })) return;
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => {
        if (this.lastHeard < sentAt && this.socket) {
          this.#detach(4000);
          this.#schedule();
        }
      }, PONG_TIMEOUT_MS);
    }, PING_INTERVAL_MS);
  }

  #stopPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }

  async #closed(code) {
    if (this.stopped) return;
    if (this.finished && code === 1000) {
      this.#status("ended");
      return;
    }
    if (code in FATAL_CLOSES) {
      this.#status("failed", { code, message: FATAL_CLOSES[code] });
      return;
    }
    if (code === 4409) {
      this.#status("replaced", { message: "This interview was opened in another tab or window." });
      return;
    }
    if (code === 4401) {
      // One renewal per welcome: a token that fails again right after renewal is not coming back.
      const renewed = this.authRetries === 0 && (await this.options.renewToken?.());
      if (this.stopped) return;
      if (!renewed) {
        this.#status("failed", { code, message: "Your access to this interview has ended." });
        return;
      }
      this.authRetries += 1;
      this.#open();
      return;
    }
    if (!navigator.onLine) {
      this.#status("offline");
      return;
    }
    this.#schedule();
  }

  #schedule() {
    if (this.stopped) return;
    clearTimeout(this.reconnectTimer);
    const ceiling = Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** this.attempt);
    const delay = Math.round(ceiling / 2 + Math.random() * (ceiling / 2));
    this.attempt += 1;
    this.#status("reconnecting", { delay });
    this.reconnectTimer = setTimeout(() => this.#open(), delay);
  }

  #offline() {
    if (this.stopped || this.finished) return;
    clearTimeout(this.reconnectTimer);
    this.#detach(1000);
    this.#status("offline");
  }

  #online() {
    if (this.stopped || this.socket || this.state === "failed" || this.state === "replaced" || this.state === "ended") {
      return;
    }
    clearTimeout(this.reconnectTimer);
    this.attempt = Math.max(this.attempt, 1);
    this.#open();
  }
}
