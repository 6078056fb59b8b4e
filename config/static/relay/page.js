// The page at /: finds a subscriber token (demo session, #token=..., or the form), then
// starts the live inbox, the preference center and, in demo mode, the sample-event form.

import { RelayApi } from "./api.js";
import { DemoForm, startDemoSession } from "./demo.js";
import { InboxSocket, InboxView } from "./inbox.js";
import { PreferenceCenter } from "./preferences.js";

const CHANNELS = ["in_app", "email", "sms", "push"];
const demo = document.body.dataset.demo === "1";
const status = document.getElementById("session-status");

function tokenFromFragment() {
  const token = new URLSearchParams(location.hash.slice(1)).get("token");
  if (token) history.replaceState(null, "", location.pathname + location.search);
  return token;
}

async function start(session) {
  const api = new RelayApi(session.token);
  const socket = new InboxSocket(session.token);
  const eventTypes = new Set(session.eventTypes || []);
  const preferences = new PreferenceCenter(api, { channels: session.channels || CHANNELS, eventTypes: [...eventTypes] });
  const inbox = new InboxView(socket, { api, eventTypes: [...eventTypes] });
  socket.addEventListener("hello", (event) => {
    status.textContent = `Signed in as ${event.detail.userId}; live.`;
    const seen = event.detail.messages.map((m) => m.eventType);
    if (!demo && seen.some((type) => !eventTypes.has(type))) {
      seen.forEach((type) => eventTypes.add(type));
      preferences.eventTypes = [...eventTypes];
      preferences.render();
      inbox.setTabs([...eventTypes]);
    }
  });
  socket.addEventListener("disconnected", () => {
    status.textContent = "Connection lost; reconnecting…";
  });
  socket.addEventListener("unauthorized", async () => {
    status.textContent = "The subscriber token is invalid or expired.";
    if (demo) {
      // A demo session simply starts over with a fresh token.
      const fresh = await startDemoSession();
      socket.token = api.token = fresh.token;
      socket.connect();
    } else {
      document.getElementById("token-form").hidden = false;
    }
  });
  socket.connect();
  if (demo) new DemoForm(api, { eventTypes: session.eventTypes });
  try {
    await preferences.load();
  } catch (error) {
    document.getElementById("prefs-result").textContent = `Preferences unavailable: ${error.message}`;
  }
}

async function main() {
  const token = tokenFromFragment();
  if (token) return start({ token });
  if (demo) return start(await startDemoSession());
  status.textContent = "Paste a subscriber token to open its inbox.";
  document.getElementById("token-form").hidden = false;
}

// A pasted token starts the page afresh, as if it had come in the URL fragment.
document.getElementById("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  location.hash = `token=${encodeURIComponent(document.getElementById("token-input").value.trim())}`;
  location.reload();
});

main().catch((error) => {
  status.textContent = `Could not start the inbox: ${error.message}`;
});
