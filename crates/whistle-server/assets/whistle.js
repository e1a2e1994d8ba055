// Whistle's keys, shared by every page (WEB.md §2.1). Bound: Ctrl+Enter submits the form the
// focus is in; Esc closes an open popup (<details open> or <dialog>). Never Alt+digit,
// Ctrl+1..9 or Ctrl+N/T/W: the browser owns those.
"use strict";
document.addEventListener("keydown", function (event) {
  if (event.key === "Enter" && event.ctrlKey && !event.altKey) {
    var form = event.target && event.target.closest ? event.target.closest("form") : null;
    if (form) {
      event.preventDefault();
      if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
    }
  } else if (event.key === "Escape") {
    document.querySelectorAll("details[open]").forEach(function (d) { d.open = false; });
    document.querySelectorAll("dialog[open]").forEach(function (d) { d.close(); });
  }
});
