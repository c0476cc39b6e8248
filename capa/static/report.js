// The 8D report's Print button (templates/capas/report.html): hidden until this script runs, then it opens the
// browser's print dialog. A static file loaded with defer (the page is parsed when it runs), never an inline
// handler, so the page needs no inline script. Without JavaScript the browser's own Print does the same.
(() => {
  "use strict";

  for (const button of document.querySelectorAll("button[data-print]")) {
    button.hidden = false;
    button.addEventListener("click", () => window.print());
  }
})();
