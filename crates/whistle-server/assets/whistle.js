// Whistle's keys, shared by every page (WEB.md §2.1). Bound: Ctrl+Enter submits the form the
// focus is in; on the intake page Ctrl+Shift+Enter saves as answered now and F8 starts a new
// call; Esc closes an open popup (<details open> or <dialog>). Never Alt+digit, Ctrl+1..9 or
// Ctrl+N/T/W: the browser owns those.
"use strict";
function submit(form) {
  if (form.requestSubmit) { form.requestSubmit(); } else { form.submit(); }
}
document.addEventListener("keydown", function (event) {
  var target = event.target && event.target.closest ? event.target : null;
  var intake = document.querySelector("form[data-page=intake]");
  if (event.key === "Enter" && event.ctrlKey && !event.altKey) {
    // The form the focus is in; on the visit desk, its one form wherever the focus is.
    var form = (target ? target.closest("form") : null) || document.querySelector("form[data-action=visit]");
    if (event.shiftKey && intake) {
      event.preventDefault();
      intake.querySelector("#disposition").value = "answer_now";
      submit(intake);
    } else if (form && !event.shiftKey) {
      event.preventDefault();
      submit(form);
    }
  } else if (event.key === "F2" && intake) {
    // Into the hints: the first "record as a repeat" (then Tab/↓ between them, Enter takes one).
    event.preventDefault();
    var first = document.querySelector("#hints [data-repeat]") || document.getElementById("hints");
    if (first) { first.focus(); }
  } else if ((event.key === "ArrowDown" || event.key === "ArrowUp") && target && target.dataset && target.dataset.repeat) {
    event.preventDefault();
    var all = Array.prototype.slice.call(document.querySelectorAll("#hints [data-repeat]"));
    var next = all[all.indexOf(target) + (event.key === "ArrowDown" ? 1 : -1)];
    if (next) { next.focus(); }
  } else if (event.key === "F8" && intake) {
    event.preventDefault();
    var text = intake.querySelector("#text");
    if (!text.value.trim() || window.confirm(text.dataset.confirm || "放弃未保存的内容？")) {
      try { window.sessionStorage.removeItem("whistle.intake.draft"); } catch (ignored) { /* off */ }
      window.location.assign("/ui/intake");
    }
  } else if (event.key === "Escape") {
    document.querySelectorAll("details[open]").forEach(function (d) { d.open = false; });
    document.querySelectorAll("dialog[open]").forEach(function (d) { d.close(); });
  }
});
// "Record as a repeat": the disposition and the earlier order filled in, the text kept.
document.addEventListener("click", function (event) {
  var button = event.target && event.target.closest ? event.target.closest("[data-repeat]") : null;
  var intake = document.querySelector("form[data-page=intake]");
  if (!button || !intake) { return; }
  intake.querySelector("#disposition").value = "repeat_no_new";
  intake.querySelector("#earlier").value = button.dataset.repeat;
  document.querySelectorAll("#hints li.chosen").forEach(function (li) { li.classList.remove("chosen"); });
  var item = button.closest("li");
  if (item) { item.classList.add("chosen"); }
  intake.querySelector("#text").focus();
});
// After a save, the focus goes back to the caller number for the next call.
document.addEventListener("DOMContentLoaded", function () {
  if (document.getElementById("saved")) {
    var phone = document.getElementById("phone");
    if (phone) { phone.focus(); }
  }
});
// The return-visit desk's keys (outside a text field): 1/2/3 the satisfaction, Y/N answer
// "contacted?" and then "resolved?" in turn.
var visitAnswers = 0;
document.addEventListener("keydown", function (event) {
  var form = document.querySelector("form[data-action=visit]");
  var target = event.target;
  if (!form || event.ctrlKey || event.altKey || event.metaKey) { return; }
  if (target && (target.tagName === "TEXTAREA" || (target.tagName === "INPUT" && target.type === "text"))) { return; }
  var key = event.key.toLowerCase();
  if (key === "1" || key === "2" || key === "3") {
    event.preventDefault();
    var select = form.querySelector("select[name=satisfaction]");
    select.selectedIndex = Number(key) - 1;
    form.querySelector("select[name=invalid]").value = "";
  } else if (key === "y" || key === "n") {
    event.preventDefault();
    var name = visitAnswers % 2 === 0 ? "contacted" : "resolved";
    visitAnswers += 1;
    var radio = form.querySelector("input[name=" + name + "][value=" + (key === "y" ? "yes" : "no") + "]");
    if (radio) { radio.checked = true; }
  }
});
// Queues: ↑/↓ move between the rows' main buttons (Enter presses the focused one).
document.addEventListener("keydown", function (event) {
  var target = event.target;
  if ((event.key !== "ArrowDown" && event.key !== "ArrowUp") || !target || !target.hasAttribute || !target.hasAttribute("data-row-action")) { return; }
  event.preventDefault();
  var all = Array.prototype.slice.call(document.querySelectorAll("[data-row-action]"));
  var next = all[all.indexOf(target) + (event.key === "ArrowDown" ? 1 : -1)];
  if (next) { next.focus(); }
});
// A standard reply text (select[data-fill]): fills its form's outcome and text, to be edited.
document.addEventListener("change", function (event) {
  var select = event.target;
  if (!select || !select.dataset || !select.dataset.fill || !select.value) { return; }
  var form = select.closest("form");
  var cut = select.value.indexOf("|");
  var outcome = form.querySelector("select[name=outcome]");
  var text = form.querySelector("textarea[name=actions]");
  if (outcome) { outcome.value = select.value.slice(0, cut); }
  if (text) { text.value = select.value.slice(cut + 1); text.focus(); }
});
// The intake's draft survives a reload or a server restart: what is typed is kept in this tab's
// sessionStorage (gone when the tab closes) and put back into an empty form; a save clears it.
(function () {
  var KEY = "whistle.intake.draft";
  var SKIP = { csrf: true, key: true };
  function form() { return document.querySelector("form[data-page=intake]"); }
  document.addEventListener("input", function (event) {
    var intake = form();
    if (!intake || !intake.contains(event.target)) { return; }
    var draft = {};
    Array.prototype.forEach.call(intake.elements, function (e) {
      if (e.name && !SKIP[e.name] && e.type !== "hidden" && e.value) { draft[e.name] = e.value; }
    });
    try { window.sessionStorage.setItem(KEY, JSON.stringify(draft)); } catch (ignored) { /* storage full or off */ }
  });
  document.addEventListener("DOMContentLoaded", function () {
    var intake = form();
    if (!intake) { return; }
    if (document.getElementById("saved")) {
      try { window.sessionStorage.removeItem(KEY); } catch (ignored) { /* off */ }
      return;
    }
    var text = intake.querySelector("#text");
    var draft = null;
    try { draft = JSON.parse(window.sessionStorage.getItem(KEY) || "null"); } catch (ignored) { draft = null; }
    if (!draft || !text || text.value) { return; }
    Object.keys(draft).forEach(function (name) {
      var field = intake.elements[name];
      if (field && field.tagName !== "SELECT" && !field.value) { field.value = draft[name]; }
      if (field && field.tagName === "SELECT" && Array.prototype.some.call(field.options, function (o) { return o.value === draft[name]; })) { field.value = draft[name]; }
    });
    var note = document.getElementById("draft-restored");
    if (note) { note.hidden = false; }
    text.focus();
  });
})();
