// credfed console: auto-refresh (body data-refresh="SECONDS", paused while a form field has
// focus or the tab is hidden) and client-side filtering of tables on the current page.
(function () {
  "use strict";
  var body = document.body;
  var secs = parseInt(body.getAttribute("data-refresh") || "0", 10);
  if (secs > 0) {
    setInterval(function () {
      var a = document.activeElement;
      var typing = a && (a.tagName === "INPUT" || a.tagName === "SELECT" || a.tagName === "TEXTAREA");
      if (!typing && !document.hidden) { window.location.reload(); }
    }, secs * 1000);
  }
  document.querySelectorAll("input.tablefilter").forEach(function (input) {
    input.addEventListener("input", function () {
      var needle = input.value.toLowerCase();
      document.querySelectorAll("table.filterable tbody tr").forEach(function (tr) {
        tr.hidden = needle !== "" && tr.textContent.toLowerCase().indexOf(needle) < 0;
      });
    });
  });
})();
