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
