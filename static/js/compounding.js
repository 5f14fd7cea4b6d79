// Compounding pages: choose a formulation without an extra click; print the worksheet.
(function () {
  "use strict";
  document.querySelectorAll("select.autosubmit").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  document.querySelectorAll("button.print-page").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
