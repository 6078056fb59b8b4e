// The preference center: channel x event-type switches and quiet hours, saved through the
// preferences API with the subscriber token (GET/POST /api/preferences, /api/preferences/quiet-hours).

const CHANNEL_NAMES = { in_app: "In-app", email: "Email", sms: "SMS", push: "Push" };
const ANY = "*";

export class PreferenceCenter {
  constructor(api, { channels, eventTypes, root = document }) {
    this.api = api;
    this.channels = channels;
    this.eventTypes = eventTypes;
    this.rows = new Map(); // "channel|eventType" -> preference row
    this.section = root.getElementById("preferences");
    this.head = root.getElementById("prefs-head");
    this.body = root.getElementById("prefs-body");
    this.status = root.getElementById("prefs-result");
    this.quietForm = root.getElementById("quiet-form");
    this.quietStatus = root.getElementById("quiet-result");
    this.quietStart = root.getElementById("quiet-start");
    this.quietEnd = root.getElementById("quiet-end");
    this.quietForm.addEventListener("submit", (event) => {
      event.preventDefault();
      this.saveQuietHours();
    });
    root.getElementById("quiet-clear").addEventListener("click", () => this.clearQuietHours());
    this.body.addEventListener("change", (event) => this.toggled(event.target));
  }

  async load() {
    const { preferences } = await this.api.get("/api/preferences");
    for (const row of preferences) this.rows.set(`${row.channel}|${row.eventType}`, row);
    const known = preferences.map((row) => row.eventType).filter((type) => type !== ANY);
    this.eventTypes = [...new Set([...this.eventTypes, ...known])].sort();
    this.render();
    await this.loadQuietHours();
    this.section.hidden = false;
  }

  // An explicit row decides; without one the channel is on (the server's defaults may differ).
  enabled(channel, eventType) {
    const row = this.rows.get(`${channel}|${eventType}`);
    return row ? row.enabled : true;
  }

  render() {
    this.head.replaceChildren(this.head.firstElementChild);
    for (const channel of this.channels) {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = CHANNEL_NAMES[channel] || channel;
      this.head.append(th);
    }
    this.body.replaceChildren(
      ...this.eventTypes.map((eventType) => {
        const tr = document.createElement("tr");
        const th = document.createElement("th");
        th.scope = "row";
        th.textContent = eventType;
        tr.append(th);
        for (const channel of this.channels) {
          const td = document.createElement("td");
          const input = document.createElement("input");
          input.type = "checkbox";
          input.setAttribute("role", "switch");
          input.id = `pref-${channel}-${eventType}`;
          input.dataset.channel = channel;
          input.dataset.eventType = eventType;
          input.checked = this.enabled(channel, eventType);
          input.setAttribute("aria-label", `${CHANNEL_NAMES[channel] || channel} for ${eventType}`);
          td.append(input);
          tr.append(td);
        }
        return tr;
      }),
    );
  }

  async toggled(input) {
    const { channel, eventType } = input.dataset;
    const label = input.getAttribute("aria-label");
    input.disabled = true;
    try {
      // Bulk upsert: creates the row the first time, updates it after, in one call.
      const { preferences } = await this.api.post("/api/preferences/bulk", {
        preferences: [{ channel, eventType, enabled: input.checked }],
      });
      for (const row of preferences) this.rows.set(`${row.channel}|${row.eventType}`, row);
      this.status.textContent = `Saved: ${label} ${input.checked ? "on" : "off"}.`;
    } catch (error) {
      input.checked = !input.checked;
      this.status.textContent = `Not saved: ${error.message}`;
    } finally {
      input.disabled = false;
      input.focus();
    }
  }

  async loadQuietHours() {
    try {
      const quiet = await this.api.get("/api/preferences/quiet-hours");
      this.quietStart.value = quiet.start.slice(0, 5);
      this.quietEnd.value = quiet.end.slice(0, 5);
    } catch (error) {
      if (error.status !== 404) throw error;
    }
  }

  async saveQuietHours() {
    try {
      const quiet = await this.api.put("/api/preferences/quiet-hours", {
        start: this.quietStart.value,
        end: this.quietEnd.value,
      });
      this.quietStatus.textContent = `Quiet hours saved: ${quiet.start.slice(0, 5)}–${quiet.end.slice(0, 5)} (${quiet.timezone}).`;
    } catch (error) {
      this.quietStatus.textContent = `Not saved: ${error.message}`;
    }
  }

  async clearQuietHours() {
    try {
      await this.api.delete("/api/preferences/quiet-hours");
      this.quietStart.value = "";
      this.quietEnd.value = "";
      this.quietStatus.textContent = "Quiet hours off.";
    } catch (error) {
      this.quietStatus.textContent = `Not saved: ${error.message}`;
    }
  }
}
