// Photos chosen in a form: thumbnails at once, and large photos shrunk in the browser before they are sent.
//
// Every file input with a data-photo-room attribute (the filing form, the NC page's "add photos") gets this,
// each time photos are chosen:
// - at most data-photo-room photos are kept (the limit per NC, less the photos the NC already has; a kept photo
//   whose "remove" box is ticked frees its place), and data-photo-too-many is shown when more were chosen;
// - a photo wider or taller than MAX_SIDE pixels, or larger than MAX_BYTES, is redrawn as a JPEG of at most
//   MAX_SIDE pixels (quality QUALITY): a phone's 4-6 MB photo goes up as a few hundred KB on a poor network;
// - the input then sends the photos so prepared (its files are replaced through a DataTransfer), and shows a
//   thumbnail of each.
// A photo the browser cannot decode (a HEIC outside Safari) is sent as it was chosen: the server converts it.
// Without JavaScript, or in a browser without DataTransfer, the plain input sends the photos as chosen and the
// server applies the same limits.
(() => {
  "use strict";

  const MAX_SIDE = 1600;
  const MAX_BYTES = 1.5 * 1024 * 1024;
  const QUALITY = 0.85;

  // The decoded image, turned as the photo's EXIF orientation says (browsers apply it to <img> and to drawImage),
  // or null when the browser cannot decode the file.
  function decode(file) {
    return new Promise((resolve) => {
      const url = URL.createObjectURL(file);
      const image = new Image();
      image.onload = () => {
        URL.revokeObjectURL(url);
        resolve(image);
      };
      image.onerror = () => {
        URL.revokeObjectURL(url);
        resolve(null);
      };
      image.src = url;
    });
  }

  function jpegName(name) {
    return name.replace(/\.[^./\\]*$/, "") + ".jpg";
  }

  // The photo as it will be sent: the file itself when small enough or not decodable, else a smaller JPEG.
  async function shrink(file) {
    const image = await decode(file);
    if (image === null) return file;
    const longSide = Math.max(image.naturalWidth, image.naturalHeight);
    if (longSide <= MAX_SIDE && file.size <= MAX_BYTES) return file;
    const scale = Math.min(1, MAX_SIDE / longSide);
    const canvas = document.createElement("canvas");
    canvas.width = Math.max(1, Math.round(image.naturalWidth * scale));
    canvas.height = Math.max(1, Math.round(image.naturalHeight * scale));
    const context = canvas.getContext("2d");
    context.fillStyle = "#fff"; // a JPEG has no transparency: a PNG's transparent parts become white, not black
    context.fillRect(0, 0, canvas.width, canvas.height);
    context.drawImage(image, 0, 0, canvas.width, canvas.height);
    const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", QUALITY));
    if (blob === null || blob.size >= file.size) return file;
    return new File([blob], jpegName(file.name), { type: "image/jpeg", lastModified: file.lastModified });
  }

  // Makes the input send ``files``; false where the browser cannot replace an input's files.
  function replaceFiles(input, files) {
    try {
      const transfer = new DataTransfer();
      files.forEach((file) => transfer.items.add(file));
      input.files = transfer.files;
      return true;
    } catch {
      return false;
    }
  }

  function showThumbnails(list, files) {
    list.querySelectorAll("img").forEach((image) => URL.revokeObjectURL(image.src));
    list.replaceChildren(
      ...files.map((file) => {
        const item = document.createElement("li");
        const image = document.createElement("img");
        image.alt = file.name;
        image.src = URL.createObjectURL(file);
        // Not decodable here (a HEIC): its name stands in for the picture.
        image.onerror = () => item.replaceChildren(Object.assign(document.createElement("span"), { textContent: file.name }));
        item.append(image);
        return item;
      }),
    );
    list.hidden = files.length === 0;
  }

  function enhance(input) {
    const form = input.form;
    const thumbnails = Object.assign(document.createElement("ul"), { className: "photos photo-previews", hidden: true });
    const status = Object.assign(document.createElement("p"), { className: "hint" });
    status.setAttribute("role", "status");
    input.after(thumbnails, status);
    let choosing = 0; // which choice is being prepared: a newer choice makes an older one's work moot

    input.addEventListener("change", async () => {
      const choice = ++choosing;
      const freed = form ? form.querySelectorAll('input[name="remove_photo"]:checked').length : 0;
      const room = Number(input.dataset.photoRoom) + freed;
      const chosen = Array.from(input.files);
      const notes = chosen.length > room ? [input.dataset.photoTooMany] : [];
      const submits = form ? Array.from(form.querySelectorAll("button[type=submit], button:not([type])")) : [];
      status.textContent = [...notes, input.dataset.photoBusy].join(" ");
      // Until the photos are ready, filing would send the originals: the buttons wait.
      submits.forEach((button) => (button.disabled = true));
      const prepared = [];
      for (const file of chosen.slice(0, room)) prepared.push(await shrink(file)); // one at a time: a phone's memory
      if (choice !== choosing) return;
      const sent = replaceFiles(input, prepared) ? prepared : chosen;
      showThumbnails(thumbnails, sent);
      status.textContent = notes.join(" ");
      submits.forEach((button) => (button.disabled = false));
    });
  }

  document.querySelectorAll("input[type=file][data-photo-room]").forEach(enhance);
})();
