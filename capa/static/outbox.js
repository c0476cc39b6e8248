// The phone's outbox: a filing (an NC, a line check) that cannot be sent for lack of network is kept on the phone
// and sent when the network returns, exactly once.
//
// - A form marked data-outbox (the NC filing form, the line check tally) is sent by this script, to its own
//   address (each entry keeps it). Online, it behaves as without it: the page the server sends to on success
//   (the NC's, the next check's), the form with its errors on a refusal. When there is no network (the browser
//   says it is offline, or the request fails), the entry is kept in IndexedDB with its photos (as Blobs, the
//   shrunk ones photos.js put in the input) and its idempotency key, and the form is emptied for the next one
//   under a new key.
// - On every page of the app, and whenever the network returns (the "online" event), the kept entries of the
//   user logged in are sent one by one: a fresh CSRF token from the filing page first (the one the entry was
//   written with may belong to an earlier session), then the form. The server files each key once, so an entry
//   sent twice (its answer lost, two tabs at once) is still one NC; an entry is dropped only once filed.
// - An entry the server refuses (a field to correct) stays, with the errors, and a link that reopens it in the
//   filing form, filled in, the errors beside their fields.
// - Each entry's state is shown in #outbox (role="status"), in the texts the page gives in #outbox-texts.
// Without JavaScript, IndexedDB or fetch, the form is the plain form the server handles alone.
(() => {
  "use strict";

  const box = document.getElementById("outbox");
  if (!box || !window.indexedDB || !window.fetch || !window.FormData) return;
  const TEXTS = JSON.parse(document.getElementById("outbox-texts").textContent);
  const FILE_URL = new URL(box.dataset.fileUrl, location.href);
  const USER = box.dataset.user;
  const PAGE_TIMEOUT = 20000;
  const SEND_TIMEOUT = 90000; // photos go up slowly on a poor network
  const WAITING = "waiting";
  const REFUSED = "refused";

  // IndexedDB: one store of entries, keyed by their idempotency key --------------------------------------------

  function openStore() {
    return new Promise((resolve, reject) => {
      const request = indexedDB.open("capa-outbox", 1);
      request.onupgradeneeded = () => request.result.createObjectStore("entries", { keyPath: "key" });
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });
  }

  async function inStore(mode, work) {
    const db = await openStore();
    try {
      return await new Promise((resolve, reject) => {
        const transaction = db.transaction("entries", mode);
        const request = work(transaction.objectStore("entries"));
        transaction.oncomplete = () => resolve(request.result);
        transaction.onerror = transaction.onabort = () => reject(transaction.error);
      });
    } finally {
      db.close();
    }
  }

  const keep = (entry) => inStore("readwrite", (store) => store.put(entry));
  const drop = (key) => inStore("readwrite", (store) => store.delete(key));
  const find = (key) => inStore("readonly", (store) => store.get(key));
  // Only this user's entries: another person's, on a shared phone, wait for them to log in.
  const mine = async () => (await inStore("readonly", (store) => store.getAll())).filter((entry) => entry.user === USER);

  // Whether entries can be kept here (not in some private windows): if not, the form is left to the browser.
  let storeWorks = false;
  openStore().then(
    (db) => {
      db.close();
      storeWorks = true;
    },
    () => {},
  );

  // Entries -----------------------------------------------------------------------------------------------------

  // A random key of 32 hex digits (crypto.randomUUID needs HTTPS; a factory's network often has none).
  function newKey() {
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (byte) => byte.toString(16).padStart(2, "0")).join("");
  }

  // The form as an entry: where it goes, its fields (but the CSRF token, which will be stale) and its photos, read
  // now, so the photos are the ones photos.js shrank.
  function entryFrom(form) {
    const url = new URL(form.getAttribute("action") || location.href, location.href);
    url.hash = "";
    const entry = { key: "", user: USER, url: url.href, title: "", savedAt: Date.now(), state: WAITING, fields: [], photos: [] };
    for (const [name, value] of new FormData(form)) {
      if (value instanceof File) {
        if (value.name || value.size) entry.photos.push({ name: value.name, type: value.type, blob: value });
      } else if (name !== "csrf_token") {
        entry.fields.push([name, value]);
      }
    }
    const field = (name) => (entry.fields.find(([given]) => given === name) || [name, ""])[1];
    entry.key = field("idempotency_key");
    if (!entry.key) {
      entry.key = newKey();
      entry.fields.push(["idempotency_key", entry.key]);
    }
    // A form without a title names its entries by its data-outbox-title and the fields it lists.
    entry.title = field("title") || [form.dataset.outboxTitle, ...(form.dataset.outboxTitleFields || "").split(" ").filter(Boolean).map(field)].filter(Boolean).join(" ");
    return entry;
  }

  function within(ms) {
    const controller = new AbortController();
    setTimeout(() => controller.abort(), ms);
    return controller.signal;
  }

  // A fresh CSRF token from the filing page (the session's token, good for every form), or null when the session
  // is gone (the page sent us to log in). Rejects when there is no network.
  async function freshToken() {
    const response = await fetch(FILE_URL, { headers: { Accept: "text/html" }, cache: "no-store", signal: within(PAGE_TIMEOUT) });
    if (response.redirected || !response.ok) return null;
    const page = new DOMParser().parseFromString(await response.text(), "text/html");
    const token = page.querySelector('input[name="csrf_token"]');
    return token ? token.value : "";
  }

  // Where an entry goes: its form's address on this site (entries kept before they knew it were all filings).
  function addressOf(entry) {
    const url = entry.url ? new URL(entry.url, location.href) : FILE_URL;
    return url.origin === location.origin ? url : FILE_URL;
  }

  // Sends an entry. Resolves to {sent: {number, url, replayed}}, {loggedOut: true} or {refused: html}; rejects
  // when there is no network or the server failed, so the entry waits for the next chance.
  async function send(entry) {
    const token = await freshToken();
    if (token === null) return { loggedOut: true };
    const body = new FormData();
    entry.fields.forEach(([name, value]) => body.append(name, value));
    if (token) body.append("csrf_token", token);
    entry.photos.forEach((photo) => body.append("photos", photo.blob, photo.name));
    const response = await fetch(addressOf(entry), {
      method: "POST",
      body,
      headers: { Accept: "application/json" },
      signal: within(SEND_TIMEOUT),
    });
    if (response.redirected) return { loggedOut: true };
    if (response.ok && (response.headers.get("Content-Type") || "").startsWith("application/json")) {
      return { sent: await response.json() };
    }
    if (response.status >= 500) throw new Error(`the server answered ${response.status}`);
    return { refused: await response.text() };
  }

  // What a refusal says: each field's errors by the field's id, and the errors of the whole form.
  function refusalIn(html) {
    const page = new DOMParser().parseFromString(html, "text/html");
    const errors = {};
    page.querySelectorAll(".field.has-error").forEach((block) => {
      const label = block.querySelector("label[for]");
      if (label) errors[label.htmlFor] = Array.from(block.querySelectorAll("p.error"), (p) => p.textContent.trim());
    });
    const general = Array.from(page.querySelectorAll(".form-errors p.error"), (p) => p.textContent.trim());
    if (!general.length && !Object.keys(errors).length) {
      // Not the form again but an error page (403, 413…): its heading and explanation.
      general.push(Array.from(page.querySelectorAll("main h1, main h1 + p"), (node) => node.textContent.trim()).join(": "));
    }
    return { errors, general };
  }

  // The status line of each entry, in #outbox ---------------------------------------------------------------------

  const shown = new Map(); // key -> its line

  function show(entry, state, detail = {}) {
    let line = shown.get(entry.key);
    if (!line) {
      line = document.createElement("li");
      shown.set(entry.key, line);
      (box.querySelector("ul") || box.appendChild(document.createElement("ul"))).append(line);
    }
    line.dataset.state = state;
    const status = document.createElement("span");
    status.className = "outbox-status";
    if (state === "sent") {
      const [before, after] = TEXTS.sent.split("{number}");
      const link = Object.assign(document.createElement("a"), { href: detail.url, textContent: detail.number });
      status.append(before, link, after || "");
    } else {
      status.textContent = TEXTS[state];
    }
    const title = Object.assign(document.createElement("q"), { textContent: entry.title || TEXTS.untitled });
    line.replaceChildren(status, " ", title);
    if (state === REFUSED) {
      const reopen = Object.assign(document.createElement("a"), {
        href: `${addressOf(entry).pathname}#outbox=${encodeURIComponent(entry.key)}`,
        textContent: TEXTS.reopen,
      });
      const remove = Object.assign(document.createElement("button"), { type: "button", className: "link", textContent: TEXTS.remove });
      remove.addEventListener("click", async () => {
        if (!confirm(TEXTS.confirmRemove)) return;
        await drop(entry.key);
        line.remove();
        shown.delete(entry.key);
      });
      line.append(" ", reopen, " ", remove);
    }
  }

  // Sending what is kept ------------------------------------------------------------------------------------------

  let flushing = false;

  async function flushOnce() {
    for (const entry of await mine()) {
      if (entry.state !== WAITING) {
        show(entry, entry.state);
        continue;
      }
      show(entry, "sending");
      let outcome;
      try {
        outcome = await send(entry);
      } catch {
        show(entry, WAITING); // still no network: the next "online" or page load tries again
        return;
      }
      if (outcome.loggedOut) {
        show(entry, "login");
        return;
      }
      if (outcome.sent) {
        await drop(entry.key);
        show(entry, "sent", outcome.sent);
      } else {
        Object.assign(entry, { state: REFUSED }, refusalIn(outcome.refused));
        await keep(entry);
        show(entry, REFUSED);
      }
    }
  }

  // Sends every waiting entry once; one sender at a time (across tabs too, where the browser has Web Locks; the
  // server's idempotency keys make a second sender harmless anyway).
  async function flush() {
    if (flushing) return;
    flushing = true;
    try {
      if (!navigator.onLine) (await mine()).forEach((entry) => show(entry, entry.state)); // shown, sent later
      else await (navigator.locks ? navigator.locks.request("capa-outbox", flushOnce) : flushOnce());
    } catch {
      // IndexedDB unavailable: nothing was kept here
    } finally {
      flushing = false;
    }
  }

  // The filing form -----------------------------------------------------------------------------------------------

  function emptyForNext(form) {
    form.reset();
    // Photos kept on the server from an earlier refusal went with the entry.
    form.querySelectorAll("fieldset.kept-photos").forEach((node) => node.remove());
    form.querySelectorAll('input[name="idempotency_key"]').forEach((input) => (input.value = newKey()));
    // photos.js redraws its thumbnails for the emptied input.
    form.querySelectorAll("input[type=file]").forEach((input) => input.dispatchEvent(new Event("change")));
  }

  async function keepOnPhone(form, entry) {
    entry.state = WAITING;
    try {
      await keep(entry);
    } catch {
      show(entry, "unsaved"); // no room on the phone: the form keeps what was typed
      return;
    }
    show(entry, WAITING);
    emptyForNext(form);
    box.scrollIntoView({ block: "nearest" });
  }

  // The page the server answered with, shown as if the browser had loaded it (the form and its errors).
  function showPage(html) {
    document.open();
    document.write(html);
    document.close();
  }

  async function submit(form) {
    const entry = entryFrom(form);
    if (!navigator.onLine) return keepOnPhone(form, entry);
    const buttons = form.querySelectorAll("button[type=submit], button:not([type])");
    buttons.forEach((button) => (button.disabled = true));
    show(entry, "sending");
    let outcome;
    try {
      outcome = await send(entry);
    } catch {
      return keepOnPhone(form, entry);
    } finally {
      buttons.forEach((button) => (button.disabled = false));
    }
    if (outcome.sent) {
      await drop(entry.key); // when it was a kept entry, reopened
      location.assign(outcome.sent.url);
    } else if (outcome.loggedOut) {
      await keep(entry);
      show(entry, "login");
    } else {
      // A kept entry, reopened and refused again, stays kept (with the new errors) until it is filed.
      if (await find(entry.key)) await keep(Object.assign(entry, { state: REFUSED }, refusalIn(outcome.refused)));
      showPage(outcome.refused);
    }
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-outbox") || !storeWorks) return;
    event.preventDefault();
    submit(form);
  });

  // Reopening a refused entry in the filing form --------------------------------------------------------------------

  function fill(form, entry) {
    const values = new Map();
    entry.fields.forEach(([name, value]) => values.set(name, [...(values.get(name) || []), value]));
    for (const element of form.elements) {
      if (!element.name || element.type === "file" || element.name === "csrf_token") continue;
      const given = values.get(element.name) || [];
      if (element.type === "checkbox" || element.type === "radio") element.checked = given.includes(element.value);
      else if (element instanceof HTMLSelectElement) Array.from(element.options).forEach((option) => (option.selected = given.includes(option.value)));
      else if (element.type !== "submit") element.value = given[0] ?? "";
      values.delete(element.name);
    }
    // Fields the form has not rendered (photos kept on the server from an earlier refusal): sent as they were.
    values.forEach((given, name) =>
      given.forEach((value) => form.append(Object.assign(document.createElement("input"), { type: "hidden", name, value }))),
    );
    const input = form.querySelector("input[type=file]");
    if (input && entry.photos.length) {
      const transfer = new DataTransfer();
      entry.photos.forEach((photo) => transfer.items.add(new File([photo.blob], photo.name, { type: photo.type })));
      input.files = transfer.files;
      input.dispatchEvent(new Event("change"));
    }
  }

  function showErrors(form, entry) {
    const general = [...(entry.general || [])];
    form.querySelectorAll(".field.has-error").forEach((block) => block.classList.remove("has-error"));
    form.querySelectorAll(".field p.error").forEach((error) => error.remove());
    Object.entries(entry.errors || {}).forEach(([id, messages]) => {
      const block = document.getElementById(id)?.closest(".field");
      if (!block) return general.push(...messages);
      block.classList.add("has-error");
      messages.forEach((message) => block.append(Object.assign(document.createElement("p"), { className: "error", role: "alert", textContent: message })));
    });
    document.querySelectorAll(".form-errors").forEach((node) => node.remove());
    const summary = Object.assign(document.createElement("div"), { className: "form-errors" });
    summary.setAttribute("role", "alert");
    [TEXTS.reopened, ...general].forEach((message) =>
      summary.append(Object.assign(document.createElement("p"), { className: "error", textContent: message })),
    );
    form.before(summary);
  }

  async function reopen() {
    const match = location.hash.match(/^#outbox=(.+)$/);
    const form = document.querySelector("form[data-outbox]");
    if (!match || !form) return;
    const entry = await find(decodeURIComponent(match[1]));
    if (!entry || entry.user !== USER) return;
    fill(form, entry);
    showErrors(form, entry);
  }

  window.addEventListener("online", flush);
  window.addEventListener("hashchange", () => reopen().catch(() => {}));
  reopen()
    .catch(() => {})
    .then(flush);
})();
