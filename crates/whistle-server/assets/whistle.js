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
    var form = target ? target.closest("form") : null;
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
