/* Live plan preview for any form marked data-plan-form (plan page, order entry).
 *
 * On input (debounced 300 ms) the form is collected into the SPEC 2.3 JSON, posted to
 * data-plan-api (POST /api/v1/plan, session + X-CSRFToken) and then to data-plan-preview,
 * whose HTML fragment replaces [data-plan-output]. Field errors come back keyed by JSON
 * path (phases[1].count) and are shown next to the matching input (phases-1-count).
 * The form also fires a "plan:updated" event carrying the plan JSON, for pages that want it.
 */
(function () {
  "use strict";

  var DELAY_MS = 300;
  var SCALARS = ["start_date", "concentration_mcg_per_ml", "vial_volume_ml", "container", "route",
    "in_use_days", "days_supply", "fills", "refills", "bud_days"];
  var WHOLE = /^[+-]?\d+$/;

  function csrfToken() {
    var meta = document.querySelector("meta[name='csrf-token']");
    return meta ? meta.getAttribute("content") : "";
  }

  function value(text) {
    if (text === null || text === undefined) return null;
    var trimmed = String(text).trim();
    if (trimmed === "") return null;
    // Whole numbers as JSON numbers; other text as-is, so the server names what is wrong.
    return WHOLE.test(trimmed) ? parseInt(trimmed, 10) : trimmed;
  }

  function field(scope, name) {
    return scope.querySelector("[name='" + name + "']");
  }

  function collectPhases(form) {
    var rows = form.querySelectorAll("[data-phase-row]");
    return Array.prototype.map.call(rows, function (row) {
      function get(suffix) {
        var el = row.querySelector("[name$='-" + suffix + "']");
        return el ? value(el.value) : null;
      }
      var phase = { dose_mcg: get("dose_mcg"), every: get("every"), unit: get("unit"), count: get("count") };
      var days = Array.prototype.filter.call(row.querySelectorAll("[name$='-weekdays']"), function (box) {
        return box.checked;
      }).map(function (box) { return box.value; });
      if (days.length && phase.unit === "week") phase.weekdays = days;
      return phase;
    });
  }

  function collect(form) {
    var body = { phases: collectPhases(form) };
    SCALARS.forEach(function (name) {
      var el = field(form, name);
      if (!el) return;
      var v = value(el.value);
      if (v !== null) body[name] = v;
    });
    if (!field(form, "fills") && field(form, "refills")) {
      // Order entry asks for refills; the plan API counts fills (1 + refills).
      var refills = body.refills;
      delete body.refills;
      if (typeof refills === "number") body.fills = refills + 1;
      else if (refills !== undefined) body.fills = refills;
    }
    var ticked = Array.prototype.filter.call(form.querySelectorAll("[name='vial_options']"), function (box) {
      return box.checked;
    });
    if (ticked.length) {
      // The typed vial comes first, as the server-side form does (it wins ties).
      var options = [{ vial_volume_ml: body.vial_volume_ml, container: body.container }];
      ticked.forEach(function (box) {
        var parts = box.value.split("|");
        var option = { vial_volume_ml: value(parts[0]), container: parts[1] };
        var seen = options.some(function (o) {
          return String(o.vial_volume_ml) === String(option.vial_volume_ml) && o.container === option.container;
        });
        if (!seen) options.push(option);
      });
      delete body.vial_volume_ml;
      delete body.container;
      body.vial_options = options;
    }
    return body;
  }

  function withNames(form, body) {
    // Order entry: the preview also checks that the labels can print the patient's name.
    var first = field(form, "patient_first_name");
    var last = field(form, "patient_last_name");
    if (!first && !last) return body;
    var copy = JSON.parse(JSON.stringify(body));
    copy.label_check = { first_name: first ? first.value : "", last_name: last ? last.value : "" };
    return copy;
  }

  function nameForPath(form, path) {
    var name = path.replace(/^vial_options\[0\]\./, "").replace(/\[(\d+)\]\.?/g, "-$1-").replace(/-$/, "");
    if (name === "fills" && !field(form, "fills")) name = "refills";
    return name;
  }

  function clearErrors(form) {
    form.querySelectorAll(".error").forEach(function (el) { el.remove(); });
    form.querySelectorAll(".has-error").forEach(function (el) { el.classList.remove("has-error"); });
    form.querySelectorAll("[aria-invalid]").forEach(function (el) { el.removeAttribute("aria-invalid"); });
  }

  function showErrors(form, fields) {
    clearErrors(form);
    Object.keys(fields || {}).forEach(function (path) {
      var name = nameForPath(form, path);
      var el = field(form, name) || field(form, name.split("-")[0].split("[")[0]);
      if (!el && name.indexOf("-") !== -1) el = field(form, name.replace(/-\d+-.*$/, ""));
      if (!el) return;
      var box = el.closest(".field") || el.parentNode;
      box.classList.add("has-error");
      el.setAttribute("aria-invalid", "true");
      var note = document.createElement("small");
      note.className = "error";
      note.setAttribute("data-live-error", path);
      note.textContent = fields[path];
      box.appendChild(note);
    });
  }

  function setStatus(form, text, busy) {
    var status = form.querySelector("[data-plan-status]");
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("busy", !!busy);
  }

  function post(url, body, accept) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": accept, "X-CSRFToken": csrfToken() },
      body: JSON.stringify(body)
    });
  }

  function bind(form) {
    var output = document.querySelector(form.getAttribute("data-plan-target") || "[data-plan-output]");
    var apiUrl = form.getAttribute("data-plan-api");
    var previewUrl = form.getAttribute("data-plan-preview");
    var timer = null;
    var sequence = 0;

    function update() {
      var mine = ++sequence;
      var body = collect(form);
      setStatus(form, "Updating preview…", true);
      if (output && output.firstElementChild) output.firstElementChild.classList.add("stale");
      var planCall = apiUrl ? post(apiUrl, body, "application/json").then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) {
          return { status: response.status, json: json };
        });
      }) : Promise.resolve(null);
      planCall.then(function (plan) {
        if (mine !== sequence) return null;
        if (plan && plan.status === 200) {
          showErrors(form, {});
          form.dispatchEvent(new CustomEvent("plan:updated", { detail: plan.json }));
        } else if (plan && plan.json && plan.json.error) {
          showErrors(form, plan.json.error.fields || {});
        }
          if (!previewUrl) return null;
        return post(previewUrl, withNames(form, body), "text/html").then(function (response) {
          return response.text().then(function (html) {
            return { status: response.status, html: html };
          });
        });
      }).then(function (preview) {
        if (!preview || mine !== sequence) return;
        if (output) output.innerHTML = preview.html;
        if (!apiUrl && preview.status === 422 && output) {
          var errors = output.querySelector("[data-fields]");
          showErrors(form, errors ? JSON.parse(errors.getAttribute("data-fields")) : {});
        }
        setStatus(form, preview.status === 200 ? "Preview up to date." : "Fix the highlighted fields.", false);
      }).catch(function () {
        if (mine === sequence) setStatus(form, "Preview unavailable; use the button to calculate.", false);
      });
    }

    function schedule() {
      window.clearTimeout(timer);
      timer = window.setTimeout(update, DELAY_MS);
    }

    form.addEventListener("input", schedule);
    form.addEventListener("change", schedule);
  }

  function init() {
    document.querySelectorAll("form[data-plan-form]").forEach(bind);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
