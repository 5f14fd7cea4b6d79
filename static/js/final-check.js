// Final check: collect keyboard-wedge scans one per Enter, show each one read, then send them
// all to the check endpoint. Without JavaScript the page posts a textarea of scans instead.
(function () {
  "use strict";
  var form = document.getElementById("check-form");
  if (!form) { return; }
  var input = document.getElementById("scan-input");
  var list = document.getElementById("scan-list");
  var textarea = form.querySelector("textarea[name=scans]");
  var verdict = document.getElementById("verdict");
  var dispensePanel = document.getElementById("dispense-panel");
  var status = document.getElementById("fill-status");
  var clear = document.getElementById("scan-clear");
  var expectedRx = form.dataset.expectedRx;
  var lots = (form.dataset.lots || "").split(" ").filter(Boolean);
  var scans = [];

  form.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  form.querySelector(".nojs-scans").hidden = true;
  input.focus();

  function csrf() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  // Read a scan for display only; the server decides.
  function describe(raw) {
    var text = raw.trim();
    var gs1 = text.replace(/^\]C1/, "").replace(/\x1d/g, "");
    var paren = gs1.match(/^\(01\)(\d{14})\(17\)(\d{6})\(10\)(.+)$/);
    var plain = gs1.match(/^01(\d{14})17(\d{6})10(.+)$/);
    var m = paren || plain;
    if (m) {
      var lot = m[3].toUpperCase();
      var known = lots.indexOf(lot) >= 0;
      return { kind: "lot", key: lot, ok: known,
        text: "vial lot " + lot + " (GS1, BUD 20" + m[2].slice(0, 2) + "-" + m[2].slice(2, 4) + "-" +
          m[2].slice(4, 6) + ")" + (known ? "" : " - not allocated to this fill") };
    }
    var upper = text.replace(/^\]C0/, "").toUpperCase();
    if (/^RX[A-Z0-9-]+-\d+$/.test(upper)) {
      return upper === expectedRx
        ? { kind: "rx", key: upper, ok: true, text: "Rx " + upper + " ok" }
        : { kind: "rx", key: upper, ok: false, text: "Rx " + upper + " is another fill's label" };
    }
    if (/^[A-Z0-9][A-Z0-9-]{2,19}$/.test(upper)) {
      var allocated = lots.indexOf(upper) >= 0;
      return { kind: "lot", key: upper, ok: allocated,
        text: "vial lot " + upper + (allocated ? "" : " - not allocated to this fill") };
    }
    return { kind: "unknown", key: "", ok: false, text: "not a barcode this pharmacy prints" };
  }

  function tally() {
    var counts = {};
    scans.forEach(function (s) { var d = describe(s); counts[d.key] = (counts[d.key] || 0) + 1; });
    document.querySelectorAll(".expected li[data-key]").forEach(function (li) {
      var got = counts[li.dataset.key] || 0;
      var span = li.querySelector(".got");
      var need = parseInt(span.dataset.need, 10);
      span.textContent = got + " / " + need;
      li.classList.toggle("complete", got === need);
      li.classList.toggle("over", got > need);
    });
  }

  function render() {
    list.textContent = "";
    scans.forEach(function (raw, i) {
      var d = describe(raw);
      var li = document.createElement("li");
      li.className = d.ok ? "ok" : "bad";
      var code = document.createElement("code");
      code.textContent = raw;
      var what = document.createElement("span");
      what.textContent = d.text;
      var remove = document.createElement("button");
      remove.type = "button";
      remove.className = "small remove";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", "Remove scan " + (i + 1));
      remove.addEventListener("click", function () {
        scans.splice(i, 1);
        render();
        input.focus();
      });
      li.append(code, " ", what, " ", remove);
      list.appendChild(li);
    });
    list.hidden = scans.length === 0;
    textarea.value = scans.join("\n");
    tally();
  }

  input.addEventListener("keydown", function (event) {
    if (event.key !== "Enter") { return; }
    event.preventDefault();
    var value = input.value.trim();
    input.value = "";
    if (value) {
      scans.push(value);
      render();
    }
  });

  clear.addEventListener("click", function () {
    scans = [];
    render();
    verdict.hidden = true;
    input.focus();
  });

  function showVerdict(ok, reasons) {
    verdict.hidden = false;
    verdict.className = "verdict " + (ok ? "verdict-pass" : "verdict-fail");
    verdict.textContent = "";
    var title = document.createElement("p");
    title.className = "verdict-title";
    title.textContent = ok ? "PASS" : "FAIL";
    verdict.appendChild(title);
    if (ok) {
      var p = document.createElement("p");
      p.textContent = "Every label scanned matches this fill. It can be dispensed.";
      verdict.appendChild(p);
    } else {
      var ul = document.createElement("ul");
      ul.className = "reasons";
      reasons.forEach(function (r) {
        var li = document.createElement("li");
        li.textContent = r;
        ul.appendChild(li);
      });
      verdict.appendChild(ul);
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (input.value.trim()) { scans.push(input.value.trim()); input.value = ""; render(); }
    if (!scans.length) {
      showVerdict(false, ["Scan the prescription label and every vial first."]);
      input.focus();
      return;
    }
    var button = document.getElementById("check-submit");
    button.disabled = true;
    fetch(form.dataset.api, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: JSON.stringify({ scans: scans })
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; });
    }).then(function (r) {
      if (r.status === 200 && r.body.ok) {
        showVerdict(true, []);
        dispensePanel.hidden = false;
        status.textContent = "checked";
        status.className = "badge status-checked";
        document.getElementById("pharmacist_initials").focus();
      } else {
        var reasons = r.body.reasons || [r.body.error ? r.body.error.message : "The check could not run."];
        showVerdict(false, reasons);
        dispensePanel.hidden = true;
        status.textContent = "allocated";
        status.className = "badge status-allocated";
        input.focus();
      }
    }).catch(function () {
      showVerdict(false, ["The check could not reach the server; nothing was recorded. Try again."]);
    }).finally(function () {
      button.disabled = false;
    });
  });
})();
