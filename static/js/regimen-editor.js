/* Regimen editor: presets, add / remove / reorder phases (templates/plan/_regimen_editor.html).
 *
 * Field names follow WTForms FieldList(FormField) naming (phases-0-dose_mcg ...), so after
 * every change the rows are renumbered and the server reads them in order. Each change
 * fires an "input" event on the form, which the live preview (plan.js) listens to.
 */
(function () {
  "use strict";

  var PHASE_NAME = /^phases-\d+-/;

  function rows(editor) {
    return Array.prototype.slice.call(editor.querySelectorAll("[data-phase-row]"));
  }

  function renameAttr(el, attr, index) {
    var value = el.getAttribute(attr);
    if (value && PHASE_NAME.test(value)) {
      el.setAttribute(attr, value.replace(PHASE_NAME, "phases-" + index + "-"));
    }
  }

  function syncWeekdays(row) {
    var unit = row.querySelector("[data-phase-unit]");
    var box = row.querySelector("[data-phase-weekdays]");
    if (unit && box) {
      box.hidden = unit.value !== "week";
    }
  }

  function renumber(editor) {
    var all = rows(editor);
    all.forEach(function (row, index) {
      row.querySelectorAll("[name], [id], label[for]").forEach(function (el) {
        renameAttr(el, "name", index);
        renameAttr(el, "id", index);
        renameAttr(el, "for", index);
      });
      var number = row.querySelector("[data-phase-number]");
      if (number) number.textContent = String(index + 1);
      var swatch = row.querySelector("[data-phase-swatch]");
      if (swatch) swatch.className = "phase-swatch phase-bg-" + ((index % 5) + 1);
      var labels = { "data-phase-up": "up", "data-phase-down": "down", "data-phase-remove": null };
      Object.keys(labels).forEach(function (attr) {
        var button = row.querySelector("[" + attr + "]");
        if (!button) return;
        var word = labels[attr];
        button.setAttribute("aria-label", word ? "Move phase " + (index + 1) + " " + word
          : "Remove phase " + (index + 1));
      });
      row.querySelector("[data-phase-up]").disabled = index === 0;
      row.querySelector("[data-phase-down]").disabled = index === all.length - 1;
      row.querySelector("[data-phase-remove]").disabled = all.length === 1;
      syncWeekdays(row);
    });
  }

  function clearErrors(row) {
    row.querySelectorAll(".error").forEach(function (el) { el.remove(); });
    row.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
  }

  function setValue(row, suffix, value) {
    var input = row.querySelector("[name$='-" + suffix + "']");
    if (input) input.value = value === null || value === undefined ? "" : String(value);
  }

  function fillRow(row, phase) {
    setValue(row, "dose_mcg", phase.dose_mcg);
    setValue(row, "every", phase.every);
    setValue(row, "unit", phase.unit);
    setValue(row, "count", phase.count);
    var days = phase.weekdays || [];
    row.querySelectorAll("[name$='-weekdays']").forEach(function (box) {
      box.checked = days.indexOf(box.value) !== -1;
    });
  }

  function addRow(editor, after) {
    var list = editor.querySelector("[data-phase-list]");
    var all = rows(editor);
    var source = after || all[all.length - 1];
    var copy = source.cloneNode(true);
    // cloneNode copies attributes, not what was typed or picked: carry the live values over.
    var from = source.querySelectorAll("input, select");
    copy.querySelectorAll("input, select").forEach(function (el, i) {
      if (el.type === "checkbox") el.checked = from[i].checked;
      else el.value = from[i].value;
    });
    clearErrors(copy);
    setValue(copy, "count", "");
    if (source.nextSibling) list.insertBefore(copy, source.nextSibling);
    else list.appendChild(copy);
    return copy;
  }

  function changed(editor) {
    renumber(editor);
    var form = editor.closest("form");
    if (form) form.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function applyPreset(editor, phases) {
    var all = rows(editor);
    while (all.length > phases.length) {
      all.pop().remove();
    }
    while (all.length < phases.length) {
      all.push(addRow(editor, all[all.length - 1]));
    }
    renumber(editor);
    rows(editor).forEach(function (row, i) {
      clearErrors(row);
      fillRow(row, phases[i]);
    });
    changed(editor);
  }

  function bind(editor) {
    editor.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button || !editor.contains(button)) return;
      var row = button.closest("[data-phase-row]");
      if (button.hasAttribute("data-preset")) {
        applyPreset(editor, JSON.parse(button.getAttribute("data-phases")));
        editor.querySelectorAll("[data-preset]").forEach(function (b) {
          b.setAttribute("aria-pressed", b === button ? "true" : "false");
        });
      } else if (button.hasAttribute("data-phase-add")) {
        var copy = addRow(editor);
        changed(editor);
        var first = copy.querySelector("input");
        if (first) first.focus();
      } else if (row && button.hasAttribute("data-phase-remove")) {
        if (rows(editor).length > 1) {
          row.remove();
          changed(editor);
        }
      } else if (row && button.hasAttribute("data-phase-up")) {
        var prev = row.previousElementSibling;
        if (prev) {
          row.parentNode.insertBefore(row, prev);
          changed(editor);
          row.querySelector("[data-phase-up]").focus();
        }
      } else if (row && button.hasAttribute("data-phase-down")) {
        var next = row.nextElementSibling;
        if (next) {
          row.parentNode.insertBefore(next, row);
          changed(editor);
          row.querySelector("[data-phase-down]").focus();
        }
      }
    });
    editor.addEventListener("change", function (event) {
      if (event.target.hasAttribute("data-phase-unit")) {
        syncWeekdays(event.target.closest("[data-phase-row]"));
      }
    });
    renumber(editor);
  }

  function init() {
    document.querySelectorAll("[data-regimen-editor]").forEach(bind);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
