// The live inbox: a WebSocket client for /ws/inbox/ and the bell, badge and list it drives.
// Protocol (README "In-app inbox"): hello, notification, counts, error from the server;
// mark_read, mark_seen, archive, mark_all_read, ping from the client.

const CLOSE_UNAUTHORIZED = 4401;
const MAX_BACKOFF_MS = 30000;

// One socket per tab, reconnecting with backoff; emits the server's messages as DOM events.
export class InboxSocket extends EventTarget {
  constructor(token) {
    super();
    this.token = token;
    this.attempt = 0;
    this.socket = null;
    this.stopped = false;
  }

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    // The token travels as a subprotocol, so it stays out of URLs and access logs.
    const socket = new WebSocket(`${scheme}://${location.host}/ws/inbox/`, [`token.${this.token}`]);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
    });
    socket.addEventListener("message", (event) => {
      const message = JSON.parse(event.data);
      this.dispatchEvent(new CustomEvent(message.type, { detail: message }));
    });
    socket.addEventListener("close", (event) => {
      this.dispatchEvent(new CustomEvent("disconnected", { detail: { code: event.code } }));
      if (event.code === CLOSE_UNAUTHORIZED) {
        this.dispatchEvent(new CustomEvent("unauthorized"));
      } else if (!this.stopped) {
        const delay = Math.min(MAX_BACKOFF_MS, 500 * 2 ** this.attempt++);
        setTimeout(() => this.connect(), delay * (0.5 + Math.random() / 2));
      }
    });
  }

  send(type, fields = {}) {
    if (this.socket && this.socket.readyState === WebSocket.OPEN) {
      this.socket.send(JSON.stringify({ type, ...fields }));
      return true;
    }
    return false;
  }

  close() {
    this.stopped = true;
    if (this.socket) this.socket.close();
  }
}

function safeUrl(value) {
  try {
    const url = new URL(value, location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch {
    return null;
  }
}

function element(tag, attributes = {}, text) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}

// The bell, its unread badge and the message list, kept in step with the socket.
export class InboxView {
  constructor(socket, { root = document, onMessage = () => {} } = {}) {
    this.socket = socket;
    this.onMessage = onMessage;
    this.messages = new Map(); // id -> message, newest first by insertion below
    this.order = [];
    this.counts = { unreadCount: 0, unseenCount: 0 };
    this.bell = root.getElementById("bell");
    this.badge = root.getElementById("badge");
    this.panel = root.getElementById("inbox-panel");
    this.list = root.getElementById("messages");
    this.empty = root.getElementById("inbox-empty");
    this.announcer = root.getElementById("announcer");
    root.getElementById("bell-wrap").hidden = false;
    this.bell.addEventListener("click", () => this.toggle());
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && !this.panel.hidden) this.toggle(false);
    });
    root.getElementById("mark-all-read").addEventListener("click", () => socket.send("mark_all_read"));
    this.list.addEventListener("click", (event) => this.onListClick(event));
    socket.addEventListener("hello", (event) => this.hello(event.detail));
    socket.addEventListener("notification", (event) => this.notification(event.detail));
    socket.addEventListener("counts", (event) => this.applyCounts(event.detail));
  }

  hello(message) {
    this.messages.clear();
    this.order = [];
    for (const item of message.messages) this.add(item, "end");
    this.setCounts(message);
    this.render();
  }

  notification(message) {
    this.add(message.message, "start");
    this.setCounts(message);
    this.render();
    this.announce(`New notification: ${message.message.title}`);
    this.onMessage(message.message);
    if (!this.panel.hidden) this.socket.send("mark_seen", { ids: [message.message.id] });
  }

  // Another tab (or this one, or the API) changed state: apply it and take the new counts.
  applyCounts(message) {
    const { action, ids, at } = message.change;
    for (const id of ids) {
      const item = this.messages.get(id);
      if (!item) continue;
      if (action === "read" || action === "read_all") {
        item.readAt = item.readAt || at;
        item.seenAt = item.seenAt || at;
      } else if (action === "seen") {
        item.seenAt = item.seenAt || at;
      } else if (action === "archive") {
        this.messages.delete(id);
        this.order = this.order.filter((other) => other !== id);
      }
    }
    this.setCounts(message);
    this.render();
  }

  add(item, where) {
    if (this.messages.has(item.id)) return;
    this.messages.set(item.id, item);
    if (where === "start") this.order.unshift(item.id);
    else this.order.push(item.id);
  }

  setCounts({ unreadCount, unseenCount }) {
    this.counts = { unreadCount, unseenCount };
  }

  toggle(open = this.panel.hidden) {
    this.panel.hidden = !open;
    this.bell.setAttribute("aria-expanded", String(open));
    if (open) {
      const unseen = this.order.filter((id) => !this.messages.get(id).seenAt);
      if (unseen.length) this.socket.send("mark_seen", { ids: unseen.slice(0, 100) });
      const first = this.panel.querySelector("button, a");
      if (first) first.focus();
    } else {
      this.bell.focus();
    }
  }

  onListClick(event) {
    const button = event.target.closest("[data-action]");
    if (!button) return;
    const id = Number(button.closest("[data-id]").dataset.id);
    if (button.dataset.action === "read") this.socket.send("mark_read", { id });
    if (button.dataset.action === "archive") this.socket.send("archive", { id });
    if (button.dataset.action === "open") this.socket.send("mark_read", { id });
  }

  announce(text) {
    this.announcer.textContent = "";
    // A fresh text node after clearing makes screen readers announce a repeat, too.
    setTimeout(() => {
      this.announcer.textContent = text;
    }, 50);
  }

  render() {
    const unread = this.counts.unreadCount;
    this.badge.textContent = unread > 99 ? "99+" : String(unread);
    this.badge.dataset.count = String(unread);
    this.badge.hidden = unread === 0;
    this.bell.setAttribute("aria-label", unread ? `Notifications, ${unread} unread` : "Notifications");
    this.empty.hidden = this.order.length > 0;
    // Rebuilding the list must not drop keyboard focus: keep it on the same message.
    const focused = this.list.contains(document.activeElement) && document.activeElement.closest("[data-id]");
    this.list.replaceChildren(...this.order.map((id) => this.renderItem(this.messages.get(id))));
    if (focused) {
      const same = this.list.querySelector(`[data-id="${focused.dataset.id}"]`);
      const target = (same || this.list).querySelector("a, button") || this.panel.querySelector("button");
      if (target) target.focus();
    }
  }

  renderItem(item) {
    const titleId = `message-${item.id}-title`;
    const li = element("li", {
      class: `message${item.readAt ? "" : " unread"}`,
      "data-id": String(item.id),
      "aria-labelledby": titleId,
    });
    const title = element("h3", { id: titleId }, item.title || item.eventType);
    if (!item.readAt) title.prepend(element("span", { class: "visually-hidden" }, "Unread: "));
    li.append(title);
    if (item.body) li.append(element("p", { class: "body" }, item.body));
    const meta = element("p", { class: "meta" });
    meta.append(
      element("time", { datetime: item.createdAt }, new Date(item.createdAt).toLocaleString()),
      document.createTextNode(` · ${item.eventType}`),
    );
    li.append(meta);
    const actions = element("div", { class: "actions" });
    const href = item.actionUrl && safeUrl(item.actionUrl);
    if (href) {
      actions.append(element("a", { href, "data-action": "open", rel: "noopener" }, "Open"));
    }
    if (!item.readAt) {
      actions.append(
        element("button", { type: "button", "data-action": "read", "aria-describedby": titleId }, "Mark as read"),
      );
    }
    actions.append(element("button", { type: "button", "data-action": "archive", "aria-describedby": titleId }, "Archive"));
    li.append(actions);
    return li;
  }
}
