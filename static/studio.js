// ImageStudio: the few behaviours htmx does not cover. Loaded from a file because the CSP
// allows scripts from 'self' only; listeners are delegated on document, so content htmx
// swaps in later needs no re-binding.
(function () {
  "use strict";

  // Ctrl+Enter (Cmd+Enter on a Mac) submits the studio form from any of its fields.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    const target = event.target;
    if (!(target instanceof Element)) return;
    const form = target.closest("form[data-submit-shortcut]");
    if (!form) return;
    event.preventDefault();
    // requestSubmit runs validation and fires "submit", which htmx listens for.
    form.requestSubmit();
  });

  // A <select data-submit-on-change> (the header's language picker) submits its form at
  // once; without scripts its form shows a button (in <noscript>).
  document.addEventListener("change", function (event) {
    const target = event.target;
    if (!(target instanceof HTMLSelectElement) || !target.hasAttribute("data-submit-on-change")) return;
    if (target.form) target.form.submit();
  });

  // Pending tiles count their seconds here; the server re-renders a tile only when its
  // status changes, so the 2-second poll stays cheap however many tiles are waiting.
  window.setInterval(function () {
    const now = Date.now();
    document.querySelectorAll("progress[data-elapsed]").forEach(function (bar) {
      if (bar.startedAt === undefined) {
        bar.startedAt = now - Number(bar.getAttribute("data-elapsed")) * 1000;
      }
      const seconds = Math.floor((now - bar.startedAt) / 1000);
      bar.value = seconds;
      const tile = bar.closest(".tile");
      if (!tile) return;
      const text = tile.querySelector("[data-elapsed-text]");
      if (text) text.textContent = String(seconds);
      const overdue = tile.querySelector("[data-overdue]");
      if (overdue) overdue.hidden = seconds <= bar.max;
    });
  }, 1000);

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    // Plain http on a LAN address is not a secure context: no clipboard API there.
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "offscreen";
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand("copy");
    area.remove();
    return ok ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  // <button data-copy="#selector"> copies that element's text.
  document.addEventListener("click", function (event) {
    const target = event.target;
    if (!(target instanceof Element)) return;
    const button = target.closest("button[data-copy]");
    if (!button) return;
    const source = document.querySelector(button.getAttribute("data-copy"));
    if (!source) return;
    const label = button.textContent;
    copyText(source.textContent).then(
      function () { button.textContent = "Copied"; },
      function () { button.textContent = "Copy failed: select the text instead"; }
    ).finally(function () {
      window.setTimeout(function () { button.textContent = label; }, 2000);
    });
  });
  // --- pictures to edit: upload, order, name -------------------------------------------
  // Tiles are <li data-input-tile> in #input-list; their hidden inputs are sent in DOM
  // order, so the order on screen is the order the gateway sees: image1, image2, …

  function renumber(list) {
    list.querySelectorAll("[data-input-tile]").forEach(function (tile, index) {
      const name = tile.querySelector("[data-input-name]");
      if (name) name.textContent = "image" + (index + 1);
    });
  }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function upload(panel, files) {
    const list = panel.querySelector("#input-list");
    const errors = panel.querySelector("#input-errors");
    const body = new FormData();
    list.querySelectorAll("input[name=input]").forEach(function (input) {
      body.append("input", input.value);
    });
    Array.prototype.forEach.call(files, function (file) { body.append("image", file, file.name); });
    errors.textContent = "Compressing…";
    fetch(panel.getAttribute("data-stage-url"), {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
    }).then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.text();
    }).then(function (html) {
      const template = document.createElement("template");
      template.innerHTML = html;
      const fresh = template.content.querySelector("#input-errors");
      errors.innerHTML = fresh ? fresh.innerHTML : "";
      template.content.querySelectorAll("[data-input-tile]").forEach(function (tile) {
        list.appendChild(tile);
      });
      renumber(list);
    }).catch(function (error) {
      errors.innerHTML = "";
      const p = document.createElement("p");
      p.className = "field-error";
      p.setAttribute("role", "alert");
      p.textContent = "The pictures could not be uploaded (" + error.message + "). Try again.";
      errors.appendChild(p);
    });
  }

  document.addEventListener("change", function (event) {
    const input = event.target;
    if (!(input instanceof HTMLInputElement) || !input.hasAttribute("data-input-files")) return;
    const panel = input.closest("[data-inputs]");
    if (panel && input.files && input.files.length) upload(panel, input.files);
    input.value = "";
  });

  ["dragenter", "dragover"].forEach(function (type) {
    document.addEventListener(type, function (event) {
      const zone = event.target instanceof Element && event.target.closest("[data-dropzone]");
      if (!zone) return;
      event.preventDefault();
      zone.classList.add("dropzone--over");
    });
  });
  document.addEventListener("dragleave", function (event) {
    const zone = event.target instanceof Element && event.target.closest("[data-dropzone]");
    if (zone) zone.classList.remove("dropzone--over");
  });
  document.addEventListener("drop", function (event) {
    const zone = event.target instanceof Element && event.target.closest("[data-dropzone]");
    if (!zone) return;
    event.preventDefault();
    zone.classList.remove("dropzone--over");
    const panel = zone.closest("[data-inputs]");
    if (panel && event.dataTransfer && event.dataTransfer.files.length) {
      upload(panel, event.dataTransfer.files);
    }
  });

  function insertAtCursor(area, text) {
    const start = area.selectionStart, end = area.selectionEnd;
    const before = area.value.slice(0, start), after = area.value.slice(end);
    const pad = before && !/\s$/.test(before) ? " " : "";
    area.value = before + pad + text + " " + after;
    const caret = (before + pad + text + " ").length;
    area.focus();
    area.setSelectionRange(caret, caret);
    // Lets the pre-filter / cost check run as if the user had typed it.
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("click", function (event) {
    const target = event.target;
    if (!(target instanceof Element)) return;
    const tile = target.closest("[data-input-tile]");
    if (tile) {
      const list = tile.parentElement;
      if (target.closest("[data-insert-name]")) {
        const form = tile.closest("form");
        const area = form && form.querySelector("textarea[name=prompt]");
        const name = tile.querySelector("[data-input-name]");
        if (area && name) insertAtCursor(area, name.textContent);
      } else if (target.closest("[data-remove]")) {
        tile.remove();
      } else {
        const move = target.closest("[data-move]");
        if (!move) return;
        if (move.getAttribute("data-move") === "-1" && tile.previousElementSibling) {
          list.insertBefore(tile, tile.previousElementSibling);
        } else if (move.getAttribute("data-move") === "1" && tile.nextElementSibling) {
          list.insertBefore(tile.nextElementSibling, tile);
        }
      }
      renumber(list);
      return;
    }
    if (target.closest("[data-close-picker]")) {
      const picker = document.getElementById("picker");
      if (picker) picker.innerHTML = "";
    }
  });

  // A gallery pick comes back through htmx: number the new tile.
  document.addEventListener("htmx:afterSwap", function (event) {
    const list = document.getElementById("input-list");
    if (list && event.target === list) renumber(list);
  });

  // --- what the image is for, and brand kits -------------------------------------------
  // A preset (<select data-preset-picker>) sets model and size; a kit (<select
  // data-kit-picker>) sets its preset or its own model and size, and its template. The
  // server applies the preset again at submit, so a size chosen by hand afterwards
  // forgets the preset here, or the hand-chosen size would be overridden.

  function optionData(option, name) {
    return (option && option.getAttribute("data-" + name)) || "";
  }

  // Redraws the size list for `model` with `size` selected (the server knows which sizes
  // a model offers and how to group them), through the same partial as the model select.
  function loadSizes(form, model, size) {
    const picker = form.querySelector("[data-preset-picker]");
    const field = form.querySelector("#size-field");
    if (!picker || !field || !window.htmx) return;
    const query = new URLSearchParams({ model: model, size: size });
    window.htmx.ajax("GET", picker.getAttribute("data-sizes-url") + "?" + query.toString(), {
      target: field,
      swap: "outerHTML",
    });
  }

  function setModelAndSize(form, model, size) {
    const select = form.querySelector("select[name=model]");
    if (!select || !model) return;
    select.value = model;
    loadSizes(form, model, size);
  }

  function applyPreset(form, picker) {
    const option = picker.selectedOptions[0];
    if (!option || !option.value) return;
    setModelAndSize(form, optionData(option, "model"), optionData(option, "size"));
  }

  function applyKit(form, picker) {
    const option = picker.selectedOptions[0];
    if (!option || !option.value) return;
    const presets = form.querySelector("[data-preset-picker]");
    const preset = optionData(option, "preset");
    if (presets && preset && presets.querySelector('option[value="' + CSS.escape(preset) + '"]')) {
      presets.value = preset;
      applyPreset(form, presets);
    } else {
      if (presets) presets.value = "";
      setModelAndSize(form, optionData(option, "model"), optionData(option, "size"));
    }
    const template = optionData(option, "template");
    const area = form.querySelector("textarea[name=template]");
    if (template && area) {
      area.value = template;
      // A template only means something for a list.
      const list = form.querySelector("input[name=mode][value=list]");
      if (list) list.checked = true;
    }
  }

  function forgetPresetIfChanged(form) {
    const presets = form.querySelector("[data-preset-picker]");
    const option = presets && presets.selectedOptions[0];
    if (!option || !option.value) return;
    const model = form.querySelector("select[name=model]");
    const size = form.querySelector("select[name=size]");
    if (
      (model && model.value !== optionData(option, "model")) ||
      (size && size.value !== optionData(option, "size"))
    ) {
      presets.value = "";
    }
  }

  document.addEventListener("change", function (event) {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.form) return;
    if (select.hasAttribute("data-preset-picker")) {
      applyPreset(select.form, select);
    } else if (select.hasAttribute("data-kit-picker")) {
      applyKit(select.form, select);
    } else if (select.name === "model" || select.name === "size") {
      forgetPresetIfChanged(select.form);
    }
  });

  // "Use in the studio" on the kits page arrives as /?kit=<id>: the kit is chosen, so it
  // fills the form as if picked here. (A form sent back with errors keeps what was sent.)
  document.addEventListener("DOMContentLoaded", function () {
    if (!new URLSearchParams(window.location.search).has("kit")) return;
    const picker = document.querySelector("#studio-form [data-kit-picker]");
    if (picker && picker.value) applyKit(picker.form, picker);
  });
})();
