// ImageStudio: the few behaviours htmx does not cover. Loaded from a file because the CSP
// allows scripts from 'self' only; listeners are delegated on document, so content htmx
// swaps in later needs no re-binding.
(function () {
  "use strict";

  // The words come from Django's /jsi18n/ catalogue (loaded before this file). Named
  // gettext so that `make messages` (xgettext) finds the strings in this file.
  const gettext = window.gettext || function (text) { return text; };

  function fill(text, values) {
    return window.interpolate ? window.interpolate(text, values, true) : text;
  }

  // Ctrl+Enter (Cmd+Enter on a Mac) submits the studio form from any of its fields.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    const target = event.target;
    if (!(target instanceof Element)) return;
    const form = target.closest("form[data-submit-shortcut]");
    if (!form) return;
    event.preventDefault();
    // Generate is held while the next batch would go over budget (see "form edges").
    const generate = form.querySelector(".actions button[type=submit]:not([name=action])");
    if (generate && generate.disabled) return;
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
      // The unit is a word too ("9 秒" in Chinese), as the server renders it.
      if (text) text.textContent = fill(gettext("%(s)s s"), { s: seconds });
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

  // A chosen brand kit sends its own pictures first (image1…), the staged ones after them.
  function picturesBefore(form) {
    const kit = form && form.querySelector("[data-kit-picker]");
    const option = kit && kit.selectedOptions[0];
    return Number((option && option.getAttribute("data-pictures")) || 0);
  }

  function renumber(list) {
    const offset = picturesBefore(list.closest("form"));
    list.querySelectorAll("[data-input-tile]").forEach(function (tile, index) {
      const name = tile.querySelector("[data-input-name]");
      if (name) name.textContent = "image" + (offset + index + 1);
    });
    // The cost line and a token route's estimate count the pictures: redraw them.
    list.dispatchEvent(new CustomEvent("studio:pictures-changed", { bubbles: true }));
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
    // Each model takes its own number of pictures: the server counts against this one's.
    const model = panel.closest("form") && panel.closest("form").querySelector("select[name=model]");
    if (model) body.append("model", model.value);
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

  // The panel says how many pictures the chosen model takes (4, or 16 on the official route).
  document.addEventListener("change", function (event) {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || select.name !== "model" || !select.form) return;
    const panel = select.form.querySelector("[data-inputs]");
    if (!panel) return;
    // "model=limit model=limit …", from the catalog.
    const pairs = (panel.getAttribute("data-inputs-by-model") || "").split(/\s+/);
    const pair = pairs.find(function (each) { return each.split("=")[0] === select.value; });
    const most = pair && pair.split("=")[1];
    if (!most) return;
    panel.setAttribute("data-max-inputs", most);
    const count = panel.querySelector("[data-max-inputs-count]");
    if (count) count.textContent = most;
  });

  // Pictures pasted into the form (see "form edges" below) arrive as this event.
  document.addEventListener("studio:stage-files", function (event) {
    const panel = event.target instanceof Element && event.target.closest("[data-inputs]");
    if (panel && event.detail && event.detail.files.length) upload(panel, event.detail.files);
  });

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

  // --- form edges: the prompt's picture names, paste, length, budget, queued notice ----

  function inputTiles(list) {
    return Array.prototype.slice.call(list.querySelectorAll("[data-input-tile]"));
  }

  // The fields whose text names pictures as image1, image2… (the prompt, and a list's
  // template and rows).
  function namingFields(form) {
    return form ? form.querySelectorAll("textarea[name=prompt], textarea[name=template], textarea[name=items]") : [];
  }

  // Rewrites imageN to image(renamed[N]) in one pass, so swapping image1 and image2 does not
  // turn both into the same name. \b keeps "image1" inside Chinese text but not "myimage1".
  function renamePictures(form, renamed) {
    namingFields(form).forEach(function (area) {
      const before = area.value;
      const after = before.replace(/\b(image)(\d+)\b/gi, function (whole, word, number) {
        const to = renamed[Number(number)];
        return to ? word + to : whole;
      });
      if (after !== before) {
        area.value = after;
        area.dispatchEvent(new Event("input", { bubbles: true }));
      }
    });
  }

  function mentions(form, number) {
    const pattern = new RegExp("\\bimage" + number + "\\b", "i");
    return Array.prototype.some.call(namingFields(form), function (area) {
      return pattern.test(area.value);
    });
  }

  function say(panel, text) {
    const errors = panel.querySelector("#input-errors");
    if (!errors) return;
    errors.innerHTML = "";
    const p = document.createElement("p");
    p.className = "warning";
    p.setAttribute("role", "status");
    p.textContent = text;
    errors.appendChild(p);
  }

  // Runs before the older click handler (capture phase) moves or removes the tile, so the
  // order before the change is still on screen.
  document.addEventListener("click", function (event) {
    const target = event.target;
    if (!(target instanceof Element)) return;
    const tile = target.closest("[data-input-tile]");
    const button = target.closest("[data-move], [data-remove]");
    if (!tile || !button) return;
    const list = tile.parentElement;
    const form = tile.closest("form");
    const tiles = inputTiles(list);
    const from = tiles.indexOf(tile);
    const offset = picturesBefore(form);
    const renamed = {};
    if (button.hasAttribute("data-remove")) {
      for (let n = from + 2; n <= tiles.length; n += 1) renamed[offset + n] = offset + n - 1;
      const number = offset + from + 1;
      if (mentions(form, number)) {
        const panel = tile.closest("[data-inputs]");
        if (panel) {
          say(panel, fill(gettext("The prompt still names image%(number)s, the picture you removed: change or delete that name before generating."), { number: number }));
        }
      }
    } else {
      const to = from + Number(button.getAttribute("data-move"));
      if (to < 0 || to >= tiles.length) return;
      renamed[offset + from + 1] = offset + to + 1;
      renamed[offset + to + 1] = offset + from + 1;
    }
    renamePictures(form, renamed);
  }, true);

  // Choosing another kit moves the staged pictures' numbers by the difference in kit
  // pictures: the prompt follows, as it does for a reorder. Runs before applyKit (capture).
  document.addEventListener("change", function (event) {
    const select = event.target;
    if (!(select instanceof HTMLSelectElement) || !select.hasAttribute("data-kit-picker")) return;
    const list = select.form && select.form.querySelector("#input-list");
    if (!list) return;
    const first = list.querySelector("[data-input-tile] [data-input-name]");
    const shown = first ? Number(first.textContent.replace(/\D/g, "")) - 1 : NaN;
    const offset = picturesBefore(select.form);
    const count = inputTiles(list).length;
    if (!isNaN(shown) && shown !== offset) {
      const renamed = {};
      for (let n = 1; n <= count; n += 1) renamed[shown + n] = offset + n;
      renamePictures(select.form, renamed);
    }
    renumber(list);
  }, true);

  // A picture pasted anywhere in the studio form (a screenshot, an image copied in a
  // browser) is staged like a dropped file; pasted text is left to the field.
  document.addEventListener("paste", function (event) {
    const target = event.target;
    if (!(target instanceof Element)) return;
    const form = target.closest("#studio-form");
    const panel = form && form.querySelector("[data-inputs]");
    const data = event.clipboardData;
    if (!panel || !data || !data.files || !data.files.length) return;
    const pictures = Array.prototype.filter.call(data.files, function (file) {
      return /^image\//.test(file.type);
    });
    if (!pictures.length) return;
    event.preventDefault();
    panel.dispatchEvent(new CustomEvent("studio:stage-files", { bubbles: true, detail: { files: pictures } }));
  });

  // The prompt's length, shown from COUNTER_FROM of the limit on. The browser sends each
  // line break as \r\n and the server counts both characters, so the counter does too.
  const COUNTER_FROM = 0.8;

  function updateCounter(area) {
    const field = area.closest(".field");
    const counter = field && field.querySelector("[data-prompt-counter]");
    if (!counter) return;
    const limit = Number(counter.getAttribute("data-limit"));
    const value = area.value;
    const used = Array.from(value).length + (value.match(/\n/g) || []).length;
    counter.hidden = used < limit * COUNTER_FROM;
    if (counter.hidden) return;
    const lang = document.documentElement.lang || undefined;
    const values = { used: used.toLocaleString(lang), limit: limit.toLocaleString(lang) };
    if (used > limit) {
      values.over = (used - limit).toLocaleString(lang);
      counter.textContent = fill(gettext("%(used)s of %(limit)s characters: %(over)s too many. Shorten the prompt."), values);
    } else {
      counter.textContent = fill(gettext("%(used)s of %(limit)s characters"), values);
    }
    counter.classList.toggle("prompt-counter--over", used > limit);
  }

  document.addEventListener("input", function (event) {
    const area = event.target;
    if (area instanceof HTMLTextAreaElement && area.name === "prompt") updateCounter(area);
  });

  // Generate is disabled while the feedback says the next batch is over budget, unless
  // a member of staff has ticked the override (then the refusal says so).
  function syncGenerate(form) {
    const button = form.querySelector(".actions button[type=submit]:not([name=action])");
    if (!button) return;
    const refusal = form.querySelector("#feedback [data-budget-refusal]");
    const override = form.querySelector("input[name=override_budget]");
    const blocked = Boolean(refusal) && !(refusal.hasAttribute("data-overridable") && override && override.checked);
    button.disabled = blocked;
    if (blocked) {
      button.title = gettext("Over budget: change the count or the model first.");
    } else {
      button.removeAttribute("title");
    }
  }

  document.addEventListener("change", function (event) {
    const box = event.target;
    if (box instanceof HTMLInputElement && box.name === "override_budget" && box.form) syncGenerate(box.form);
  });

  // Tiles still pending ("12:queued" in their poll input); when one stops being pending,
  // the spend line and the budget hint ask again and finished "Queued …" notices go.
  let pending = null;

  // A batch's tiles finish one poll after another: the spend line and the hint ask at the
  // first, then at most once every FINISHED_EVERY ms while more finish, and always once
  // after the last. Asked on every poll, each open page sent two requests every 2 s.
  const FINISHED_EVERY = 10000;
  let finishedAt = 0;
  let finishedLater = null;

  function imagesFinished() {
    const wait = finishedAt + FINISHED_EVERY - Date.now();
    if (wait <= 0) {
      finishedAt = Date.now();
      document.body.dispatchEvent(new CustomEvent("studio:images-finished", { bubbles: true }));
    } else if (finishedLater === null) {
      finishedLater = setTimeout(function () {
        finishedLater = null;
        imagesFinished();
      }, wait);
    }
  }

  function pendingIds() {
    const ids = new Set();
    document.querySelectorAll("#tiles [data-poll-id]").forEach(function (input) {
      ids.add(input.value.split(":")[0]);
    });
    return ids;
  }

  function checkTiles() {
    const now = pendingIds();
    if (pending !== null) {
      const finished = Array.from(pending).some(function (id) { return !now.has(id); });
      if (finished) imagesFinished();
    }
    pending = now;
    document.querySelectorAll("[data-queued-notice]").forEach(function (notice) {
      const ids = notice.getAttribute("data-queued-notice").split(",");
      if (!ids.some(function (id) { return now.has(id); })) notice.remove();
    });
  }

  function refresh() {
    checkTiles();
    const form = document.getElementById("studio-form");
    if (!form) return;
    syncGenerate(form);
    const area = form.querySelector("textarea[name=prompt]");
    if (area) updateCounter(area);
  }

  // Settling happens a moment after a swap; one refresh per burst of swaps.
  let timer = 0;
  function later() {
    window.clearTimeout(timer);
    timer = window.setTimeout(refresh, 30);
  }
  ["htmx:afterSettle", "htmx:oobAfterSwap"].forEach(function (type) {
    document.addEventListener(type, later);
  });
  document.addEventListener("DOMContentLoaded", refresh);
})();
