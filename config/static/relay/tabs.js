// The inbox's tabs: what each lists (GET /api/inbox filters), what it counts
// (GET /api/inbox/counts?tabs=<name>:<filter>, kept per event type on the server, so a badge
// costs the same at any inbox size) and which bulk actions apply to its messages.

const MAX_TYPE_TABS = 4;

export function humanize(eventType) {
  const words = eventType.replace(/[._-]+/g, " ").trim();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export function buildTabs(eventTypes) {
  const inboxBulk = ["read", "archive", "delete"];
  return [
    { id: "all", label: "All", query: { status: "inbox" }, count: "all", bulk: inboxBulk },
    ...eventTypes.slice(0, MAX_TYPE_TABS).map((type, index) => ({
      id: `type${index}`,
      label: humanize(type),
      query: { status: "inbox", eventType: type },
      count: `type=${type}`,
      bulk: inboxBulk,
    })),
    { id: "snoozed", label: "Snoozed", query: { status: "snoozed" }, bulk: ["delete"] },
    { id: "archived", label: "Archived", query: { status: "archived" }, bulk: ["unarchive", "delete"] },
  ];
}

// Whether a message pushed live belongs in the tab's list.
export function tabShows(tab, message) {
  return tab.query.status === "inbox" && (!tab.query.eventType || tab.query.eventType === message.eventType);
}

export function listPath(tab, limit = 50) {
  return `/api/inbox?${new URLSearchParams({ ...tab.query, limit: String(limit) })}`;
}

export function countsPath(tabs) {
  const counted = tabs.filter((tab) => tab.count).map((tab) => `${tab.id}:${tab.count}`);
  return `/api/inbox/counts?${new URLSearchParams({ tabs: counted.join(",") })}`;
}
