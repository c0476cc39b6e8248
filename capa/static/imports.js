// The progress of an import of earlier NCs (templates/capas/import.html): while the import runs, asks the page's
// progress address (`data-import-progress`, a small JSON answer) every second how far it is, moves the progress
// bar and says it in words (`data-checking`, `data-storing`: "{done} of {total}" in the page's language); when the
// import is no longer running, loads the page again, which then shows the result. A static file loaded with
// defer, never an inline script. Without JavaScript the page's "Look again" link does the same by hand.
(() => {
  "use strict";

  const card = document.querySelector("[data-import-progress]");
  if (!card) {
    return;
  }
  const bar = card.querySelector("progress");
  const status = card.querySelector("[data-import-status]");
  const address = card.dataset.importProgress;

  const ask = async () => {
    let answer;
    try {
      const response = await fetch(address, { credentials: "same-origin", headers: { Accept: "application/json" } });
      answer = await response.json();
    } catch (error) {
      window.setTimeout(ask, 3000); // the network or the server is away for a moment: ask again later
      return;
    }
    if (answer.state !== "running") {
      window.location.reload();
      return;
    }
    const template = card.dataset[answer.stage];
    if (template && answer.total > 0) {
      bar.max = answer.total;
      bar.value = answer.done;
      bar.textContent = String(answer.done);
      status.textContent = template
        .replace("{done}", answer.done.toLocaleString())
        .replace("{total}", answer.total.toLocaleString());
    }
    window.setTimeout(ask, 1000);
  };
  window.setTimeout(ask, 1000);
})();
