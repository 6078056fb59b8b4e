// The live inbox: a WebSocket client for /ws/inbox/ and the bell, badge, tabs and list it drives.
// Protocol (README "In-app inbox"): hello, notification, counts, error from the server;
// mark_read, mark_seen, archive, snooze, unsnooze, mark_all_read, ping from the client.
// Action buttons, bulk actions and the tabs' lists and counts go over the HTTP API.

import { snoozeMenu } from "./snooze.js";
import { buildTabs, countsPath, listPath, tabShows } from "./tabs.js";

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

// Changes a counts message carries that the list can apply itself; any other reloads the tab.
const REMOVES = new Set(["archive", "snooze"]);
const BULK_LABELS = { read: "Mark read", archive: "Archive", unarchive: "Unarchive", delete: "Delete" };

// The bell, its unread badge, the tabs and the message list, kept in step with the socket.
export class InboxView {
  constructor(socket, { api, eventTypes = [], root = document, onMessage = () => {} } = {}) {
    this.socket = socket;
    this.api = api;
    this.onMessage = onMessage;
    this.messages = new Map(); // id -> message of the current tab
    this.order = [];
    this.selected = new Set();
    this.menuFor = null; // the message whose snooze menu is open
    this.counts = { unreadCount: 0, unseenCount: 0 };
    this.tabCounts = {};
    this.bell = root.getElementById("bell");
    this.badge = root.getElementById("badge");
    this.panel = root.getElementById("inbox-panel");
    this.list = root.getElementById("messages");
    this.empty = root.getElementById("inbox-empty");
    this.announcer = root.getElementById("announcer");
    this.tabBar = root.getElementById("inbox-tabs");
    this.bulkBar = root.getElementById("bulk-actions");
    this.selectAll = root.getElementById("select-all");
    this.status = root.getElementById("inbox-status");
    this.setTabs(eventTypes);
    root.getElementById("bell-wrap").hidden = false;
    this.bell.addEventListener("click", () => this.toggle());
    document.addEventListener("keydown", (event) => {
      if (event.key !== "Escape") return;
      if (this.menuFor !== null) this.openMenu(null);
      else if (!this.panel.hidden) this.toggle(false);
    });
    root.getElementById("mark-all-read").addEventListener("click", () => socket.send("mark_all_read"));
    this.selectAll.addEventListener("change", () => this.selectEvery(this.selectAll.checked));
    this.list.addEventListener("click", (event) => this.onListClick(event));
    this.list.addEventListener("change", (event) => this.onSelect(event));
    socket.addEventListener("hello", (event) => this.hello(event.detail));
    socket.addEventListener("notification", (event) => this.notification(event.detail));
    socket.addEventListener("counts", (event) => this.applyCounts(event.detail));
    socket.addEventListener("error", (event) => this.say(`Not done: ${event.detail.error.replace(/_/g, " ")}.`));
  }

  setTabs(eventTypes) {
    this.tabs = buildTabs(eventTypes);
    this.tab = this.tabs.find((tab) => tab.id === this.tab?.id) || this.tabs[0];
    this.renderTabs();
  }

  hello(message) {
    this.setCounts(message);
    if (this.tab.id === "all") this.replaceList(message.messages);
    else this.reload();
    this.refreshTabCounts();
  }

  notification(message) {
    const item = message.message;
    if (tabShows(this.tab, item)) this.add(item, "start");
    else this.drop([item.id]);
    this.setCounts(message);
    this.render();
    this.refreshTabCounts();
    this.announce(`${message.resurfaced ? "Back from snooze" : "New notification"}: ${item.title}`);
    this.onMessage(item);
    if (!this.panel.hidden && tabShows(this.tab, item)) this.socket.send("mark_seen", { ids: [item.id] });
  }

  // Another tab (or this one, or the API) changed state: apply it and take the new counts.
  applyCounts(message) {
    const { action, ids, at } = message.change;
    const inboxTab = this.tab.query.status === "inbox";
    if (action === "read_all" && !ids.length) {
      for (const item of this.messages.values()) this.markRead(item, at);
    } else if (action === "read" || action === "read_all" || action === "seen" || action === "action") {
      for (const id of ids) {
        const item = this.messages.get(id);
        if (!item) continue;
        if (action === "seen") item.seenAt = item.seenAt || at;
        else this.markRead(item, at);
        const done = action === "action" && (item.actions || []).find((a) => a.key === message.change.key);
        if (done) done.completedAt = done.completedAt || message.change.completedAt;
      }
    } else if (REMOVES.has(action) && inboxTab) {
      this.drop(ids);
    } else {
      this.reload();
    }
    this.setCounts(message);
    this.render();
    this.refreshTabCounts();
  }

  markRead(item, at) {
    item.readAt = item.readAt || at;
    item.seenAt = item.seenAt || at;
  }

  add(item, where) {
    if (this.messages.has(item.id)) return;
    this.messages.set(item.id, item);
    if (where === "start") this.order.unshift(item.id);
    else this.order.push(item.id);
  }

  drop(ids) {
    for (const id of ids) {
      this.messages.delete(id);
      this.selected.delete(id);
    }
    this.order = this.order.filter((id) => this.messages.has(id));
  }

  replaceList(items) {
    this.messages.clear();
    this.order = [];
    for (const item of items) this.add(item, "end");
    for (const id of [...this.selected]) if (!this.messages.has(id)) this.selected.delete(id);
    this.render();
  }

  async reload() {
    const tab = this.tab;
    try {
      const page = await this.api.get(listPath(tab));
      if (tab === this.tab) this.replaceList(page.messages);
    } catch (error) {
      this.say(`Could not load the list: ${error.message}`);
    }
  }

  async refreshTabCounts() {
    try {
      this.tabCounts = (await this.api.get(countsPath(this.tabs))).tabs || {};
      this.renderTabs();
    } catch (error) {
      this.say(`Could not load the counts: ${error.message}`);
    }
  }

  selectTab(tab) {
    if (tab === this.tab) return;
    this.tab = tab;
    this.selected.clear();
    this.menuFor = null;
    this.renderTabs();
    this.replaceList([]);
    this.reload();
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
      this.menuFor = null;
      this.bell.focus();
    }
  }

  // Open the snooze menu of one message (focus on its first choice), or close it (focus back
  // on its button).
  openMenu(id) {
    const previous = this.menuFor;
    this.menuFor = id;
    this.render();
    const wrap = this.list.querySelector(`[data-id="${id ?? previous}"] .menu-wrap`);
    if (wrap) wrap.querySelector(id === null ? "button" : "[role=menuitem]").focus();
  }

  onListClick(event) {
    const target = event.target.closest("[data-action], [data-complete]");
    if (!target) return;
    const id = Number(target.closest("[data-id]").dataset.id);
    if (target.dataset.complete) {
      this.completeAction(id, target.dataset.complete);
      return;
    }
    const action = target.dataset.action;
    if (action === "read" || action === "open") this.socket.send("mark_read", { id });
    if (action === "archive") this.socket.send("archive", { id });
    if (action === "unsnooze") this.socket.send("unsnooze", { id });
    if (action === "unarchive") this.bulk("unarchive", [id]);
  }

  async completeAction(id, key) {
    try {
      await this.api.post(`/api/inbox/${id}/actions/${encodeURIComponent(key)}`);
    } catch (error) {
      this.say(`Not done: ${error.message}`);
    }
  }

  snooze(id, fields) {
    this.menuFor = null;
    this.socket.send("snooze", { id, ...fields });
    document.getElementById(`tab-${this.tab.id}`).focus();
  }

  onSelect(event) {
    const box = event.target.closest("input[data-select]");
    if (!box) return;
    const id = Number(box.closest("[data-id]").dataset.id);
    if (box.checked) this.selected.add(id);
    else this.selected.delete(id);
    this.renderBulk();
  }

  selectEvery(on) {
    this.selected = new Set(on ? this.order : []);
    this.render();
  }

  async bulk(action, ids = [...this.selected]) {
    if (!ids.length) return;
    try {
      const result = await this.api.post("/api/inbox/bulk", { action, ids });
      this.say(`${BULK_LABELS[action]}: ${result.updated} changed.`);
      this.selected.clear();
      this.reload();
    } catch (error) {
      this.say(`Not done: ${error.message}`);
    }
  }

  say(text) {
    this.status.textContent = text;
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
    this.renderBulk();
  }

  renderTabs() {
    this.tabBar.replaceChildren(
      ...this.tabs.map((tab) => {
        const selected = tab === this.tab;
        const button = element("button", {
          type: "button",
          role: "tab",
          id: `tab-${tab.id}`,
          "aria-selected": String(selected),
          "aria-controls": "messages",
          tabindex: selected ? "0" : "-1",
        }, tab.label);
        const unread = this.tabCounts[tab.id]?.unreadCount || 0;
        if (unread) {
          const count = element("span", { class: "tab-count", "data-count": String(unread) }, String(unread));
          count.append(element("span", { class: "visually-hidden" }, " unread"));
          button.append(" ", count);
        }
        button.addEventListener("click", () => this.selectTab(tab));
        button.addEventListener("keydown", (event) => this.tabKey(event, tab));
        return button;
      }),
    );
    this.list.setAttribute("aria-labelledby", `tab-${this.tab.id}`);
  }

  // Arrow keys move between tabs (the ARIA tabs pattern).
  tabKey(event, tab) {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const next = this.tabs[(this.tabs.indexOf(tab) + step + this.tabs.length) % this.tabs.length];
    this.selectTab(next);
    document.getElementById(`tab-${next.id}`).focus();
  }

  renderBulk() {
    const count = this.selected.size;
    this.selectAll.checked = count > 0 && count === this.order.length;
    this.selectAll.disabled = this.order.length === 0;
    const label = this.bulkBar.querySelector("#bulk-count");
    label.textContent = count ? `${count} selected` : "";
    this.bulkBar.querySelectorAll("button[data-bulk]").forEach((button) => button.remove());
    for (const action of this.tab.bulk) {
      const button = element("button", { type: "button", "data-bulk": action }, BULK_LABELS[action]);
      button.disabled = count === 0;
      button.addEventListener("click", () => this.bulk(action));
      this.bulkBar.append(button);
    }
  }

  renderItem(item) {
    const titleId = `message-${item.id}-title`;
    const li = element("li", {
      class: `message${item.readAt ? "" : " unread"}`,
      "data-id": String(item.id),
      "aria-labelledby": titleId,
    });
    const box = element("input", { type: "checkbox", "data-select": "1", "aria-label": `Select: ${item.title || item.eventType}` });
    box.checked = this.selected.has(item.id);
    const title = element("h3", { id: titleId }, item.title || item.eventType);
    if (!item.readAt) title.prepend(element("span", { class: "visually-hidden" }, "Unread: "));
    li.append(box, title);
    if (item.body) li.append(element("p", { class: "body" }, item.body));
    const meta = element("p", { class: "meta" });
    meta.append(
      element("time", { datetime: item.createdAt }, new Date(item.createdAt).toLocaleString()),
      document.createTextNode(` · ${item.eventType}`),
    );
    if (item.snoozedUntil) {
      meta.append(document.createTextNode(` · snoozed until ${new Date(item.snoozedUntil).toLocaleString()}`));
    }
    li.append(meta);
    if (item.actions && item.actions.length) li.append(this.renderButtons(item, titleId));
    li.append(this.renderControls(item, titleId));
    return li;
  }

  // The message's own action buttons (primary, secondary); a completed one shows as done.
  renderButtons(item, titleId) {
    const row = element("div", { class: "actions message-actions" });
    for (const action of item.actions) {
      const variant = action.variant === "primary" ? "primary" : "secondary";
      if (action.completedAt) {
        const done = element("button", { type: "button", class: `${variant} done`, disabled: "" }, `${action.label} (done)`);
        row.append(done);
        continue;
      }
      const href = action.url && safeUrl(action.url);
      const control = href
        ? element("a", { href, class: `button ${variant}`, rel: "noopener", target: "_blank", "data-complete": action.key }, action.label)
        : element("button", { type: "button", class: variant, "data-complete": action.key, "aria-describedby": titleId }, action.label);
      row.append(control);
    }
    return row;
  }

  renderControls(item, titleId) {
    const actions = element("div", { class: "actions" });
    const href = item.actionUrl && safeUrl(item.actionUrl);
    if (href) {
      actions.append(element("a", { href, "data-action": "open", rel: "noopener" }, "Open"));
    }
    const button = (action, text) =>
      element("button", { type: "button", "data-action": action, "aria-describedby": titleId }, text);
    if (item.snoozedUntil) {
      actions.append(button("unsnooze", "Unsnooze"));
      return actions;
    }
    if (item.archivedAt) {
      actions.append(button("unarchive", "Unarchive"));
      return actions;
    }
    if (!item.readAt) actions.append(button("read", "Mark as read"));
    actions.append(
      snoozeMenu(element, {
        describedBy: titleId,
        open: this.menuFor === item.id,
        onToggle: (open) => this.openMenu(open ? item.id : null),
        onChoose: (fields) => this.snooze(item.id, fields),
      }),
    );
    actions.append(button("archive", "Archive"));
    return actions;
  }
}
