// byoc console: small enhancements over forms that work without JavaScript.
// - Quick Find filters the Setup tree as you type.
// - [data-confirm] submit buttons ask before submitting (Setup's confirmation dialogs).
// - Available/Selected pickers ([data-picker]) move options between two lists and select the
//   chosen ones on submit.
(function () {
  "use strict";

  function quickFind() {
    var input = document.querySelector("[data-quick-find]");
    if (!input) return;
    var empty = document.querySelector("[data-quick-find-empty]");
    function apply() {
      var q = input.value.trim().toLowerCase();
      var shown = 0;
      document.querySelectorAll("[data-section]").forEach(function (section) {
        var any = false;
        section.querySelectorAll("[data-item]").forEach(function (item) {
          var hit = q === "" || (item.getAttribute("data-keywords") || "").toLowerCase().indexOf(q) !== -1;
          item.hidden = !hit;
          if (hit) { any = true; shown++; }
        });
        section.hidden = !any;
      });
      if (empty) empty.hidden = shown !== 0;
    }
    input.addEventListener("input", apply);
    // Enter on Quick Find opens the only match, as Setup does; otherwise the form's results page.
    input.form && input.form.addEventListener("submit", function (e) {
      var visible = Array.prototype.filter.call(document.querySelectorAll("[data-item]"), function (i) { return !i.hidden; });
      if (visible.length === 1 && input.value.trim() !== "") {
        e.preventDefault();
        window.location.href = visible[0].querySelector("a").href;
      }
    });
  }

  function confirmations() {
    document.addEventListener("submit", function (e) {
      var button = e.submitter;
      var form = e.target;
      var message = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      var guard = form.getAttribute("data-confirm-when");
      if (guard) {
        var parts = guard.split("=");
        var field = form.elements[parts[0]];
        if (!field || field.value !== parts[1]) message = null;
      }
      if (message && !window.confirm(message)) e.preventDefault();
    });
  }

  function pickers() {
    document.querySelectorAll("[data-picker]").forEach(function (picker) {
      var available = picker.querySelector("[data-picker-available]");
      var selected = picker.querySelector("[data-picker-selected]");
      function move(from, to) {
        Array.prototype.slice.call(from.selectedOptions).forEach(function (o) { o.selected = false; to.appendChild(o); });
      }
      picker.querySelector("[data-picker-add]").addEventListener("click", function () { move(available, selected); });
      picker.querySelector("[data-picker-remove]").addEventListener("click", function () { move(selected, available); });
      var form = picker.closest("form");
      if (form) form.addEventListener("submit", function () {
        Array.prototype.forEach.call(selected.options, function (o) { o.selected = true; });
        Array.prototype.forEach.call(available.options, function (o) { o.selected = false; });
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { quickFind(); confirmations(); pickers(); });
})();
