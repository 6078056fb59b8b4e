// Demo mode only: a subscriber token for a demo user, and a form that sends sample events.

import { request } from "./api.js";

const SETTLED = new Set(["sent", "delivered", "failed", "bounced", "suppressed", "deferred"]);

// ?user=demo-bob on the page URL picks another demo subscriber (default: demo-user).
export function startDemoSession() {
  const userId = new URLSearchParams(location.search).get("user");
  return request("POST", "/api/demo/session", { body: userId ? { userId } : {} });
}

export class DemoForm {
  constructor(api, { eventTypes, root = document }) {
    this.api = api;
    this.form = root.getElementById("demo-form");
    this.result = root.getElementById("demo-result");
    const select = root.getElementById("demo-event-type");
    select.replaceChildren(
      ...eventTypes.map((type) => {
        const option = document.createElement("option");
        option.value = option.textContent = type;
        return option;
      }),
    );
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.submit();
    });
    this.form.hidden = false;
  }

  async submit() {
    const data = new FormData(this.form);
    const channels = data.getAll("channels");
    if (!channels.length) {
      this.result.textContent = "Pick at least one channel.";
      return;
    }
    try {
      const accepted = await this.api.post("/api/demo/event", {
        eventType: data.get("eventType"),
        title: data.get("title"),
        body: data.get("body"),
        channels,
      });
      this.result.textContent = `Event ${accepted.eventId} accepted.`;
      this.result.dataset.eventId = accepted.eventId;
      await this.follow(accepted.eventId);
    } catch (error) {
      this.result.textContent = `Not sent: ${error.message}`;
    }
  }

  // Poll what became of the event per channel, so a suppressed delivery says why.
  async follow(eventId) {
    for (let tries = 0; tries < 40; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const { deliveries } = await this.api.get(`/api/demo/events/${encodeURIComponent(eventId)}`);
      if (deliveries.length && deliveries.every((d) => SETTLED.has(d.status))) {
        const parts = deliveries.map((d) => `${d.channel}: ${d.status}${d.reason ? ` (${d.reason})` : ""}`);
        this.result.textContent = `Event ${eventId}: ${parts.join(", ")}.`;
        this.result.dataset.settled = eventId;
        return;
      }
    }
  }
}
