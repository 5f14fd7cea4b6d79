// Submit each form once: a double click on "Compound batch" or "Receive lot" must not
// post twice. Forms whose submit a page script handles itself (preventDefault) are left alone.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || event.defaultPrevented) {
      return;
    }
    if ((form.method || "get").toLowerCase() !== "post") {
      return;
    }
    if (form.dataset.submitting === "1") {
      event.preventDefault();
      return;
    }
    form.dataset.submitting = "1";
    form.setAttribute("aria-busy", "true");
    // Leave the flag once the page is shown again from the back/forward cache.
    window.addEventListener("pageshow", function () {
      form.dataset.submitting = "";
      form.removeAttribute("aria-busy");
    }, { once: true });
  });
})();

// A form marked data-needs-all keeps its submit button disabled until every required
// field holds more than blanks (approving an order needs a reason for each warning).
(function () {
  "use strict";
  function update(form) {
    var fields = form.querySelectorAll("[required]");
    var ready = Array.prototype.every.call(fields, function (f) { return f.value.trim() !== ""; });
    form.querySelectorAll("button[type=submit]").forEach(function (b) {
      if (b.dataset.blockedByStop !== "1") { b.disabled = !ready; }
    });
  }
  function init() {
    document.querySelectorAll("form[data-needs-all]").forEach(function (form) {
      form.querySelectorAll("button[type=submit][disabled]").forEach(function (b) {
        b.dataset.blockedByStop = "1";
      });
      update(form);
      form.addEventListener("input", function () { update(form); });
    });
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
