// Fill page labels: after the first output (PDF or ZPL) the page asks for a reprint reason at once,
// and a ZPL download the server refuses shows its reason instead of failing silently.
(function () {
  "use strict";
  var card = document.getElementById("labels-card");
  if (!card) { return; }
  var first = document.getElementById("first-print");
  var reprint = document.getElementById("reprint-form");
  var reason = document.getElementById("reason");
  var problem = document.getElementById("print-problem");
  var printerReason = document.getElementById("printer-reason");

  function showProblem(text) {
    problem.textContent = text;
    problem.hidden = !text;
  }

  // The labels now count as printed: from here on every output is a reprint with a reason.
  function printed() {
    if (first) { first.hidden = true; }
    if (reprint) { reprint.hidden = false; }
    if (printerReason) { printerReason.required = true; printerReason.closest(".field").hidden = false; }
    card.dataset.printed = "true";
  }

  function filename(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var match = header.match(/filename="([^"]+)"/);
    return match ? match[1] : fallback;
  }

  // Fetch a ZPL file and save it; on a refusal, say why.
  function downloadZpl(url) {
    showProblem("");
    return fetch(url, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) {
        return response.json().then(function (body) {
          var message = body && body.error ? body.error.message : "The labels could not be made.";
          showProblem(message);
          if (response.status === 422 && body.error && body.error.fields && body.error.fields.reason) {
            printed();
            if (reason) { reason.focus(); }
          }
        }, function () { showProblem("The labels could not be made (HTTP " + response.status + ")."); });
      }
      return response.blob().then(function (blob) {
        var link = document.createElement("a");
        link.href = URL.createObjectURL(blob);
        link.download = filename(response, "labels.zpl");
        document.body.appendChild(link);
        link.click();
        link.remove();
        setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
        printed();
      });
    }).catch(function () {
      showProblem("The server could not be reached; nothing was printed. Try again.");
    });
  }

  if (first) {
    first.querySelectorAll("a[data-output]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (link.dataset.output === "zpl") {
          event.preventDefault();
          downloadZpl(link.href);
        } else {
          // The PDF opens in a new tab; this page asks for a reason from the next output on.
          setTimeout(printed, 0);
        }
      });
    });
  }

  if (reprint) {
    reprint.addEventListener("submit", function (event) {
      var submitter = event.submitter;
      if (!submitter || !submitter.dataset.zpl) { return; }
      event.preventDefault();
      if (!reason.value.trim()) {
        showProblem("Give the reason for the reprint.");
        reason.focus();
        return;
      }
      var url = submitter.getAttribute("formaction") + "?dpi=" + encodeURIComponent(submitter.value) +
        "&reason=" + encodeURIComponent(reason.value.trim());
      downloadZpl(url);
    });
  }
})();
