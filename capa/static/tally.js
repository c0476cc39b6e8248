// The tally sheet's taps: a button with data-tally-for="<input id>" and data-step="1" (or -1, or 10) adds its step
// to that input's whole number, never below 0: one tap per defect found. Without JavaScript the buttons stay
// hidden and the counts are typed in.
//
// An input marked data-now-if-empty (the moment the check was saved) left empty is set, as the form is sent, to
// the phone's time with its UTC offset: a check the outbox keeps while the network is gone still counts in the
// shift it was made in. Emptied with its form (the outbox empties the form for the next check).
(() => {
  "use strict";

  document.querySelectorAll("button[data-tally-for]").forEach((button) => (button.hidden = false));

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-tally-for]");
    if (!button) return;
    const input = document.getElementById(button.dataset.tallyFor);
    if (!input) return;
    const count = Number.parseInt(input.value, 10);
    const next = Math.max(0, (Number.isNaN(count) ? 0 : count) + Number(button.dataset.step || 1));
    input.value = next ? String(next) : "";
    input.dispatchEvent(new Event("input", { bubbles: true }));
  });

  const two = (number) => String(number).padStart(2, "0");
  function nowWithOffset() {
    const now = new Date();
    const offset = -now.getTimezoneOffset();
    const sign = offset < 0 ? "-" : "+";
    const date = `${now.getFullYear()}-${two(now.getMonth() + 1)}-${two(now.getDate())}`;
    const time = `${two(now.getHours())}:${two(now.getMinutes())}:${two(now.getSeconds())}`;
    return `${date}T${time}${sign}${two(Math.floor(Math.abs(offset) / 60))}:${two(Math.abs(offset) % 60)}`;
  }

  const stamped = (form) => (form.querySelectorAll ? form.querySelectorAll("input[data-now-if-empty]") : []);

  // In the capture phase: before outbox.js reads the form.
  document.addEventListener(
    "submit",
    (event) => {
      stamped(event.target).forEach((input) => {
        if (!input.value) input.value = nowWithOffset();
      });
    },
    true,
  );
  document.addEventListener("reset", (event) => stamped(event.target).forEach((input) => (input.value = "")), true);
})();
