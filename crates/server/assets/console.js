// byoc console: small enhancements over forms that work without JavaScript.
// - Quick Find filters the Setup tree as you type.
// - [data-confirm] submit buttons ask before submitting (Setup's confirmation dialogs).
// - Available/Selected pickers ([data-picker]) turn one multi-select into Setup's two lists.
// - API Names are filled in from names; [data-ack-confirm] forms ask Setup's OK/Cancel question.
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

  // The OAuth scope picker: the page has one <select multiple data-picker-source> that works
  // alone without JavaScript; here it becomes Setup's Available / Selected lists with Add and
  // Remove buttons. The original select stays the one that is submitted (hidden, kept in step).
  function pickers() {
    document.querySelectorAll("[data-picker]").forEach(function (picker) {
      var source = picker.querySelector("select[data-picker-source]");
      if (!source) return;
      var id = source.id || "picker";
      function list(suffix, text) {
        var wrap = document.createElement("div");
        var label = document.createElement("label");
        label.setAttribute("for", id + "-" + suffix);
        label.textContent = text;
        var select = document.createElement("select");
        select.id = id + "-" + suffix;
        select.multiple = true;
        select.size = 10;
        wrap.appendChild(label);
        wrap.appendChild(select);
        return { wrap: wrap, select: select };
      }
      function button(text) {
        var b = document.createElement("button");
        b.type = "button";
        b.className = "button";
        b.textContent = text;
        return b;
      }
      var legend = picker.querySelector("label[for='" + id + "']");
      var name = legend ? legend.textContent.replace(/^Selected\s+/, "") : "Options";
      var available = list("available", "Available " + name);
      var selected = list("selected", "Selected " + name);
      Array.prototype.forEach.call(source.options, function (o) {
        var copy = new Option(o.text, o.value);
        (o.selected ? selected : available).select.appendChild(copy);
      });
      var add = button("Add");
      var remove = button("Remove");
      var buttons = document.createElement("div");
      buttons.className = "picker-buttons";
      buttons.appendChild(add);
      buttons.appendChild(remove);
      var ui = document.createElement("div");
      ui.className = "picker";
      ui.appendChild(available.wrap);
      ui.appendChild(buttons);
      ui.appendChild(selected.wrap);
      // Keep the submitted select in step with the Selected list.
      function sync() {
        var chosen = {};
        Array.prototype.forEach.call(selected.select.options, function (o) { chosen[o.value] = true; });
        Array.prototype.forEach.call(source.options, function (o) { o.selected = !!chosen[o.value]; });
      }
      function move(from, to) {
        Array.prototype.slice.call(from.selectedOptions).forEach(function (o) { o.selected = false; to.appendChild(o); });
        sync();
      }
      add.addEventListener("click", function () { move(available.select, selected.select); });
      remove.addEventListener("click", function () { move(selected.select, available.select); });
      available.select.addEventListener("dblclick", function () { move(available.select, selected.select); });
      selected.select.addEventListener("dblclick", function () { move(selected.select, available.select); });
      source.hidden = true;
      source.tabIndex = -1;
      if (legend) legend.hidden = true;
      var hint = picker.querySelector("[data-picker-hint]");
      if (hint) hint.hidden = true;
      picker.appendChild(ui);
      var form = picker.closest("form");
      if (form) form.addEventListener("submit", sync);
    });
  }

  // API Name filled in from the name as it is typed (until the API Name is edited by hand), the
  // way Setup fills it: letters and digits kept, everything else one underscore.
  function apiNames() {
    document.querySelectorAll("[data-api-name-source]").forEach(function (source) {
      var form = source.form;
      var target = form && form.querySelector("[data-api-name-target]");
      if (!target) return;
      function derive(label) {
        var out = label.replace(/[^A-Za-z0-9]+/g, "_").replace(/^_+|_+$/g, "");
        if (/^[0-9]/.test(out)) out = "X" + out;
        return out;
      }
      var last = derive(source.value);
      source.addEventListener("input", function () {
        if (target.value === "" || target.value === last) {
          last = derive(source.value);
          target.value = last;
        }
      });
    });
  }

  // Areas that expand when their checkbox is selected (Setup's "The OAuth Settings area
  // expands"): [data-shown-when="checkbox id"]. Without script they are always shown.
  function expanders() {
    document.querySelectorAll("[data-shown-when]").forEach(function (area) {
      var box = document.getElementById(area.getAttribute("data-shown-when"));
      if (!box) return;
      function apply() { area.hidden = !box.checked; }
      box.addEventListener("change", apply);
      apply();
    });
  }

  // Setup's OK/Cancel dialog before a change that needs it (Permitted Users becoming admin
  // approved): [data-ack-confirm] forms ask when [data-ack-when] "field=value" holds and, on OK,
  // mark the [data-ack] field so the server skips its own confirmation page.
  function acknowledgements() {
    document.querySelectorAll("form[data-ack-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (e) {
        var when = (form.getAttribute("data-ack-when") || "").split("=");
        var field = form.elements[when[0]];
        if (when.length === 2 && (!field || field.value !== when[1])) return;
        if (!window.confirm(form.getAttribute("data-ack-confirm"))) {
          e.preventDefault();
          return;
        }
        var ack = form.querySelector("[data-ack]");
        if (ack) ack.value = "1";
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { quickFind(); confirmations(); pickers(); apiNames(); acknowledgements(); expanders(); });
})();
