// The snooze menu's choices, in the subscriber's local time: the server gets a duration or
// an absolute ISO 8601 time and wakes the message itself (the page may be closed by then).

const MONDAY = 1;

function at(date, days, hour) {
  const moment = new Date(date);
  moment.setDate(moment.getDate() + days);
  moment.setHours(hour, 0, 0, 0);
  return moment;
}

export function snoozeChoices(now = new Date()) {
  const daysToMonday = (7 + MONDAY - now.getDay()) % 7 || 7;
  const nextWeek = at(now, daysToMonday, 9);
  const weekday = nextWeek.toLocaleDateString(undefined, { weekday: "short" });
  return [
    { label: "1 hour", fields: { duration: "1h" } },
    { label: "Tomorrow 09:00", fields: { until: at(now, 1, 9).toISOString() } },
    { label: `Next week (${weekday} 09:00)`, fields: { until: nextWeek.toISOString() } },
  ];
}

// A menu button and its popup of choices; ``onChoose(fields)`` gets the snooze's request body.
export function snoozeMenu(element, { describedBy, open, onToggle, onChoose }) {
  const wrap = element("div", { class: "menu-wrap" });
  const button = element(
    "button",
    { type: "button", "aria-haspopup": "menu", "aria-expanded": String(open), "aria-describedby": describedBy },
    "Snooze",
  );
  button.addEventListener("click", () => onToggle(!open));
  wrap.append(button);
  if (open) {
    const menu = element("div", { role: "menu", class: "menu", "aria-label": "Snooze until" });
    for (const choice of snoozeChoices()) {
      const item = element("button", { type: "button", role: "menuitem" }, choice.label);
      item.addEventListener("click", () => onChoose(choice.fields));
      menu.append(item);
    }
    // Up and down move between the choices, as in any menu.
    menu.addEventListener("keydown", (event) => {
      const step = { ArrowDown: 1, ArrowUp: -1 }[event.key];
      if (!step) return;
      event.preventDefault();
      const items = [...menu.querySelectorAll("[role=menuitem]")];
      items[(items.indexOf(document.activeElement) + step + items.length) % items.length].focus();
    });
    wrap.append(menu);
  }
  return wrap;
}
