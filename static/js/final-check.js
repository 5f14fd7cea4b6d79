// Final check: collect keyboard-wedge scans one per Enter, show each one read, then send them
// all to the check endpoint. Enter on the empty scan field submits the check (a scanner ends
// every scan with Enter, so the pharmacist's own Enter is the one on an empty field).
// Without JavaScript the page posts a textarea of scans instead.
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
  var serials = {};
  document.querySelectorAll(".expected li[data-serials]").forEach(function (li) {
    serials[li.dataset.key] = li.dataset.serials.split(" ").filter(Boolean).map(Number);
  });
  var scans = [];

  form.querySelectorAll(".js-only").forEach(function (el) { el.hidden = false; });
  form.querySelector(".nojs-scans").hidden = true;
  input.focus();

  function csrf() {
    var meta = document.querySelector("meta[name=csrf-token]");
    return meta ? meta.content : "";
  }

  // Read a scan for display only; the server decides. Vials are told apart by serial:
  // a GS1 DataMatrix (]d2, GS separators or none, or the parenthesised form) or <lot>/<serial>.
  function vialOf(text) {
    var gs1 = text.replace(/^\](d2|C1)/, "");
    var paren = gs1.match(/^\(01\)(\d{14})\(17\)(\d{6})\(10\)([^(]+)\(21\)(\d+)$/);
    if (paren) { return { lot: paren[3].toUpperCase(), serial: parseInt(paren[4], 10) }; }
    var element = gs1.replace(/^\x1d/, "").match(/^01(\d{14})17(\d{6})10([^\x1d]+)\x1d21(\d+)$/);
    if (element) { return { lot: element[3].toUpperCase(), serial: parseInt(element[4], 10) }; }
    var joined = gs1.match(/^01(\d{14})17(\d{6})10(.+)$/);
    if (joined) {
      // The scanner dropped the GS: find the allocated lot the text starts with.
      var rest = joined[3].toUpperCase();
      for (var i = 0; i < lots.length; i++) {
        var tail = rest.slice(lots[i].length);
        if (rest.indexOf(lots[i]) === 0 && /^21\d+$/.test(tail)) {
          return { lot: lots[i], serial: parseInt(tail.slice(2), 10) };
        }
      }
      return { lot: rest, serial: null };
    }
    var plain = text.replace(/^\]d1/, "").toUpperCase().match(/^([A-Z0-9][A-Z0-9-]*)\/(\d+)$/);
    if (plain) { return { lot: plain[1], serial: parseInt(plain[2], 10) }; }
    return null;
  }

  function describe(raw, earlier) {
    var text = raw.trim();
    var vial = vialOf(text);
    if (vial) {
      var name = vial.lot + "/" + (vial.serial === null ? "?" : vial.serial);
      var mine = (serials[vial.lot] || []).indexOf(vial.serial) >= 0;
      if (earlier.indexOf(name) >= 0) {
        return { kind: "vial", key: name, lot: vial.lot, ok: false, text: name + " scanned twice" };
      }
      return { kind: "vial", key: name, lot: vial.lot, ok: mine,
        text: "vial " + name + (mine ? " ok" : " - not allocated to this fill") };
    }
    var upper = text.replace(/^\]C0/, "").toUpperCase();
    if (/^RX[A-Z0-9-]+-\d+$/.test(upper)) {
      return upper === expectedRx
        ? { kind: "rx", key: upper, ok: true, text: "Rx " + upper + " ok" }
        : { kind: "rx", key: upper, ok: false, text: "Rx " + upper + " is another fill's label" };
    }
    if (/^[A-Z0-9][A-Z0-9-]{2,19}$/.test(upper)) {
      return { kind: "lot", key: upper, ok: false,
        text: "lot " + upper + " without a serial: scan the DataMatrix on the vial label" };
    }
    return { kind: "unknown", key: "", ok: false, text: "not a vial or prescription label of this pharmacy" };
  }

  function described() {
    var names = [];
    return scans.map(function (s) {
      var d = describe(s, names);
      if (d.kind === "vial") { names.push(d.key); }
      return d;
    });
  }

  function tally() {
    var counts = {};
    described().forEach(function (d) {
      if (!d.ok) { return; }
      var key = d.kind === "vial" ? d.lot : d.key;
      counts[key] = (counts[key] || 0) + 1;
    });
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
    var all = described();
    scans.forEach(function (raw, i) {
      var d = all[i];
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
    var value = input.value.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
    input.value = "";
    if (value) {
      scans.push(value);
      render();
    } else if (typeof form.requestSubmit === "function") {
      form.requestSubmit(document.getElementById("check-submit"));
    } else {
      document.getElementById("check-submit").click();
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
    var pending = input.value.replace(/^[ \t\r\n]+|[ \t\r\n]+$/g, "");
    if (pending) { scans.push(pending); input.value = ""; render(); }
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
