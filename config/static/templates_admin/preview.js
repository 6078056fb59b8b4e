// Live preview on the template change form: posts the unsaved fields to the admin's
// draft-preview view and shows the result as each channel would (no build step, no library).
(function () {
  "use strict";
  const panel = document.getElementById("relay-live-preview");
  const form = panel && panel.closest("form");
  if (!form) return;
  const errors = panel.querySelector(".errorlist");
  const output = panel.querySelector(".relay-preview-output");
  let timer = null;

  function block(title, text, tag) {
    const wrap = document.createElement("div");
    const heading = document.createElement("h3");
    heading.textContent = title;
    const body = document.createElement(tag || "pre");
    body.textContent = text;
    wrap.append(heading, body);
    return wrap;
  }

  function show(content, channel) {
    output.replaceChildren();
    if (channel === "email") {
      output.append(block("Subject", content.subject, "p"));
      if (content.html) {
        const frame = document.createElement("iframe");
        frame.setAttribute("sandbox", "");
        frame.style.cssText = "width:100%;min-height:320px;border:1px solid #ccc;background:#fff";
        frame.srcdoc = content.html;
        const heading = document.createElement("h3");
        heading.textContent = "HTML";
        output.append(heading, frame);
      }
      output.append(block("Text", content.text));
    } else if (channel === "sms") {
      output.append(block("SMS", content.body));
      const plural = content.segments === 1 ? "" : "s";
      output.append(block("Length", `${content.segments} segment${plural} (${content.encoding}), ${[...content.body].length} characters`, "p"));
    } else {
      output.append(block("Title", content.title, "p"), block("Body", content.body));
    }
  }

  function showErrors(found) {
    errors.replaceChildren();
    for (const [field, messages] of Object.entries(found)) {
      for (const message of messages) {
        const item = document.createElement("li");
        item.textContent = `${field}: ${message}`;
        errors.append(item);
      }
    }
    errors.hidden = errors.children.length === 0;
  }

  async function refresh() {
    const data = new FormData(form);
    const response = await fetch(panel.dataset.url, { method: "POST", body: data, credentials: "same-origin" });
    const answer = await response.json();
    showErrors(answer.errors || {});
    if (answer.content) show(answer.content, data.get("channel"));
  }

  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 400);
  });
  refresh();
})();
