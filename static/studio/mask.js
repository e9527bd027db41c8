// The mask painter: paint over a picture the area an edit may change. The gateway takes a
// PNG the size of the first picture whose transparent pixels (alpha 0) mark that area and
// whose other pixels are opaque; this file makes exactly that and puts it in the form's
// `mask` file field. Mouse, pen and finger through Pointer Events; every tool is a button
// or a slider in the page, so the keyboard reaches it. No inline code: the CSP allows
// scripts from 'self' only, and styles are set through the CSSOM.
(function () {
  "use strict";

  const gettext = window.gettext || function (text) { return text; };
  function fill(text, values) {
    return window.interpolate ? window.interpolate(text, values, true) : text;
  }

  // The overlay's colour while painting (seen through, over the picture); what is sent is
  // only where it is.
  const INK = "rgb(40, 110, 255)";
  const ZOOM_STEPS = [1, 1.5, 2, 3, 4];

  function Painter(root) {
    this.root = root;
    this.stage = root.querySelector("[data-mask-stage]");
    this.frame = root.querySelector("[data-mask-frame]");
    this.picture = root.querySelector("[data-mask-picture]");
    this.canvas = root.querySelector("[data-mask-canvas]");
    this.file = root.querySelector("[data-mask-file]");
    this.status = root.querySelector("[data-mask-status]");
    this.sizeInput = root.querySelector("[data-mask-size]");
    this.cursor = root.querySelector("[data-mask-cursor]");
    this.ops = [];
    this.undone = [];
    this.tool = "brush";
    this.zoom = 0;
    this.stroke = null;
    this.source = "";
    this.width = 0;
    this.height = 0;
    this.exporting = 0;
    this.bind();
  }

  Painter.prototype.bind = function () {
    const self = this;
    this.root.addEventListener("click", function (event) {
      const button = event.target instanceof Element ? event.target.closest("button") : null;
      if (!button || !self.root.contains(button)) return;
      if (button.hasAttribute("data-mask-tool")) self.setTool(button.getAttribute("data-mask-tool"));
      else if (button.hasAttribute("data-mask-undo")) self.undo();
      else if (button.hasAttribute("data-mask-redo")) self.redo();
      else if (button.hasAttribute("data-mask-clear")) self.push({ kind: "clear" });
      else if (button.hasAttribute("data-mask-invert")) self.push({ kind: "invert" });
      else if (button.hasAttribute("data-mask-zoom")) self.setZoom(self.zoom + Number(button.getAttribute("data-mask-zoom")));
      else return;
      event.preventDefault();
    });
    this.root.addEventListener("keydown", function (event) {
      const key = event.key.toLowerCase();
      if ((event.ctrlKey || event.metaKey) && key === "z") {
        event.preventDefault();
        if (event.shiftKey) self.redo(); else self.undo();
      } else if ((event.ctrlKey || event.metaKey) && key === "y") {
        event.preventDefault();
        self.redo();
      }
    });
    const canvas = this.canvas;
    canvas.addEventListener("pointerdown", function (event) { self.down(event); });
    canvas.addEventListener("pointermove", function (event) { self.hover(event); self.move(event); });
    canvas.addEventListener("pointerleave", function () { self.hover(null); });
    canvas.addEventListener("pointerup", function (event) { self.up(event); });
    canvas.addEventListener("pointercancel", function (event) { self.up(event); });
    this.picture.addEventListener("load", function () { self.ready(); });
    this.picture.addEventListener("error", function () {
      self.say(gettext("The picture could not be loaded, so it cannot be painted on."), true);
    });
  };

  // Points at `src`, a picture of width × height pixels: the mask is made at that size.
  // A different picture starts a new, empty mask.
  Painter.prototype.load = function (src, width, height) {
    if (src === this.source && width === this.width && height === this.height) return;
    const hadPaint = this.ops.length > 0;
    this.source = src;
    this.width = width;
    this.height = height;
    this.ops = [];
    this.undone = [];
    this.canvas.width = width;
    this.canvas.height = height;
    this.redraw();
    this.picture.alt = "";
    this.picture.src = src;
    this.setZoom(0);
    this.syncButtons();
    this.setFile(null);
    this.say(hadPaint ? gettext("The first picture changed, so its mask was cleared.") : "", false);
  };

  Painter.prototype.ready = function () {
    this.setZoom(this.zoom);
  };

  Painter.prototype.setTool = function (tool) {
    this.tool = tool;
    this.root.querySelectorAll("[data-mask-tool]").forEach(function (button) {
      button.setAttribute("aria-pressed", String(button.getAttribute("data-mask-tool") === tool));
    });
    // With the hand tool a finger scrolls the zoomed picture instead of painting.
    this.canvas.classList.toggle("painter__canvas--pan", tool === "pan");
  };

  Painter.prototype.setZoom = function (step) {
    this.zoom = Math.max(0, Math.min(ZOOM_STEPS.length - 1, step));
    const factor = ZOOM_STEPS[this.zoom];
    // At 1 the whole picture fits the stage (its width, and most of the window's height);
    // larger factors scroll inside it.
    const room = this.stage.clientWidth || 320;
    const tall = this.width && this.height ? window.innerHeight * 0.7 * this.width / this.height : room;
    this.frame.style.width = Math.floor(Math.min(room, tall) * factor) + "px";
    const out = this.root.querySelector("[data-mask-zoom='-1']");
    const into = this.root.querySelector("[data-mask-zoom='1']");
    if (out) out.disabled = this.zoom === 0;
    if (into) into.disabled = this.zoom === ZOOM_STEPS.length - 1;
    const level = this.root.querySelector("[data-mask-zoom-level]");
    if (level) level.textContent = Math.round(factor * 100) + "%";
  };

  Painter.prototype.brushSize = function () {
    // The slider is in hundredths of the picture's longer edge, so a size means the same
    // on a small and a 4K picture, and at any zoom.
    const share = Number(this.sizeInput ? this.sizeInput.value : 5) / 100;
    return Math.max(1, share * Math.max(this.width, this.height));
  };

  // A ring the brush's size under a mouse or a pen, so the stroke's width is seen before
  // it is drawn (a finger covers it anyway).
  Painter.prototype.hover = function (event) {
    if (!this.cursor) return;
    if (!event || event.pointerType === "touch" || this.tool === "pan" || !this.width) {
      this.cursor.hidden = true;
      return;
    }
    const box = this.canvas.getBoundingClientRect();
    const diameter = this.brushSize() * box.width / this.width;
    const style = this.cursor.style;
    style.width = style.height = diameter + "px";
    style.left = (event.clientX - box.left - diameter / 2) + "px";
    style.top = (event.clientY - box.top - diameter / 2) + "px";
    this.cursor.classList.toggle("painter__cursor--erase", this.tool === "eraser");
    this.cursor.hidden = false;
  };

  Painter.prototype.point = function (event) {
    const box = this.canvas.getBoundingClientRect();
    return [
      (event.clientX - box.left) * this.width / box.width,
      (event.clientY - box.top) * this.height / box.height,
    ];
  };

  Painter.prototype.down = function (event) {
    if (this.tool === "pan" || !this.width || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    if (this.canvas.setPointerCapture) {
      try { this.canvas.setPointerCapture(event.pointerId); } catch (error) { /* synthetic pointer */ }
    }
    this.stroke = {
      kind: this.tool === "eraser" ? "erase" : "paint",
      size: this.brushSize(),
      points: [this.point(event)],
      pointer: event.pointerId,
    };
    this.drawStroke(this.context(), this.stroke, 0);
  };

  Painter.prototype.move = function (event) {
    const stroke = this.stroke;
    if (!stroke || event.pointerId !== stroke.pointer) return;
    event.preventDefault();
    const from = stroke.points.length - 1;
    const events = event.getCoalescedEvents ? event.getCoalescedEvents() : [];
    (events.length ? events : [event]).forEach(function (each) {
      stroke.points.push(this.point(each));
    }, this);
    this.drawStroke(this.context(), stroke, from);
  };

  Painter.prototype.up = function (event) {
    const stroke = this.stroke;
    if (!stroke || event.pointerId !== stroke.pointer) return;
    this.stroke = null;
    delete stroke.pointer;
    this.ops.push(stroke);
    this.undone = [];
    this.changed();
  };

  Painter.prototype.context = function () {
    return this.canvas.getContext("2d");
  };

  // Draws the stroke's segments from point `from` on (all of them from 0).
  Painter.prototype.drawStroke = function (ctx, stroke, from) {
    ctx.save();
    ctx.globalCompositeOperation = stroke.kind === "erase" ? "destination-out" : "source-over";
    ctx.fillStyle = INK;
    ctx.strokeStyle = INK;
    ctx.lineWidth = stroke.size;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    const points = stroke.points;
    if (from === 0) {
      ctx.beginPath();
      ctx.arc(points[0][0], points[0][1], stroke.size / 2, 0, Math.PI * 2);
      ctx.fill();
    }
    if (points.length > 1) {
      ctx.beginPath();
      ctx.moveTo(points[Math.max(0, from)][0], points[Math.max(0, from)][1]);
      for (let i = Math.max(1, from + 1); i < points.length; i += 1) ctx.lineTo(points[i][0], points[i][1]);
      ctx.stroke();
    }
    ctx.restore();
  };

  Painter.prototype.apply = function (ctx, op) {
    if (op.kind === "clear") {
      ctx.clearRect(0, 0, this.width, this.height);
    } else if (op.kind === "invert") {
      // Painted becomes unpainted and the other way round: ink everywhere, minus what was.
      const before = document.createElement("canvas");
      before.width = this.width;
      before.height = this.height;
      before.getContext("2d").drawImage(this.canvas, 0, 0);
      ctx.save();
      ctx.globalCompositeOperation = "copy";
      ctx.fillStyle = INK;
      ctx.fillRect(0, 0, this.width, this.height);
      ctx.globalCompositeOperation = "destination-out";
      ctx.drawImage(before, 0, 0);
      ctx.restore();
    } else {
      this.drawStroke(ctx, op, 0);
    }
  };

  Painter.prototype.redraw = function () {
    const ctx = this.context();
    ctx.clearRect(0, 0, this.width, this.height);
    this.ops.forEach(function (op) { this.apply(ctx, op); }, this);
  };

  Painter.prototype.push = function (op) {
    if (!this.width) return;
    this.ops.push(op);
    this.undone = [];
    this.apply(this.context(), op);
    this.changed();
  };

  Painter.prototype.undo = function () {
    if (!this.ops.length) return;
    this.undone.push(this.ops.pop());
    this.redraw();
    this.changed();
  };

  Painter.prototype.redo = function () {
    if (!this.undone.length) return;
    const op = this.undone.pop();
    this.ops.push(op);
    this.apply(this.context(), op);
    this.changed();
  };

  Painter.prototype.syncButtons = function () {
    const undo = this.root.querySelector("[data-mask-undo]");
    const redo = this.root.querySelector("[data-mask-redo]");
    if (undo) undo.disabled = !this.ops.length;
    if (redo) redo.disabled = !this.undone.length;
  };

  // The share of the picture painted, and the mask as the gateway reads it: painted pixels
  // transparent, every other pixel opaque black. Antialiased edges count as painted from
  // half coverage on, so the file has only the two alpha values.
  Painter.prototype.mask = function () {
    const paint = this.context().getImageData(0, 0, this.width, this.height).data;
    const out = document.createElement("canvas");
    out.width = this.width;
    out.height = this.height;
    const ctx = out.getContext("2d");
    const image = ctx.createImageData(this.width, this.height);
    const pixels = image.data;
    let painted = 0;
    for (let i = 3; i < paint.length; i += 4) {
      if (paint[i] >= 128) {
        painted += 1;
      } else {
        pixels[i] = 255;
      }
    }
    ctx.putImageData(image, 0, 0);
    return { canvas: out, share: painted / (this.width * this.height) };
  };

  Painter.prototype.changed = function () {
    this.syncButtons();
    const made = this.mask();
    const self = this;
    const ticket = ++this.exporting;
    if (made.share === 0) {
      this.setFile(null);
      this.say(gettext("Nothing is painted: paint the area the edit may change."), false);
      return;
    }
    const lang = document.documentElement.lang || undefined;
    const share = new Intl.NumberFormat(lang, { style: "percent" }).format(Math.max(0.01, made.share));
    this.say(fill(gettext("Painted: %(share)s of the picture may change."), { share: share }), false);
    made.canvas.toBlob(function (blob) {
      // A later change may have finished first; only the newest mask goes in the form.
      if (ticket !== self.exporting || !blob) return;
      self.setFile(new File([blob], "mask.png", { type: "image/png" }));
    }, "image/png");
  };

  Painter.prototype.setFile = function (file) {
    if (!this.file) return;
    const transfer = new DataTransfer();
    if (file) transfer.items.add(file);
    this.file.files = transfer.files;
    this.root.classList.toggle("painter--painted", Boolean(file));
  };

  Painter.prototype.painted = function () {
    return Boolean(this.file && this.file.files && this.file.files.length);
  };

  Painter.prototype.say = function (text, problem) {
    if (!this.status) return;
    this.status.textContent = text;
    this.status.classList.toggle("field-error", Boolean(problem));
  };

  // --- where painters live -------------------------------------------------------------

  function painterOf(root) {
    if (!root.painter) root.painter = new Painter(root);
    return root.painter;
  }

  // A submit the studio refuses (a budget, the prompt, a preview) answers with the form
  // drawn again, pictures kept: the painted mask is kept across that swap too. Taken by the
  // first sync after it, and only onto the very picture it was painted on.
  let kept = null;

  document.addEventListener("htmx:beforeSwap", function (event) {
    const target = event.detail && event.detail.target;
    if (!(target instanceof Element) || target.id !== "studio-form") return;
    const root = target.querySelector("[data-mask-painter]");
    const painter = root && root.painter;
    kept = null;
    if (!painter || root.hidden || root.closest("[hidden]") || !painter.ops.length) return;
    kept = {
      source: painter.source,
      width: painter.width,
      height: painter.height,
      ops: painter.ops.slice(),
      undone: painter.undone.slice(),
      tool: painter.tool,
    };
  });

  function restore(root, toggle, painter, first) {
    const mask = kept;
    kept = null;
    if (!mask || mask.source !== first.getAttribute("data-src")) return;
    if (mask.width !== Number(first.getAttribute("data-width")) || mask.height !== Number(first.getAttribute("data-height"))) return;
    open(root, toggle);
    painter.load(mask.source, mask.width, mask.height);
    painter.ops = mask.ops;
    painter.undone = mask.undone;
    painter.setTool(mask.tool);
    painter.redraw();
    painter.changed();
  }

  // On the studio form the painter follows the first staged picture (image1 as sent) and
  // is offered only for models whose route takes a mask (the holder's data-mask-models).
  function studioSync(form) {
    const holder = form.querySelector("[data-mask-holder]");
    if (!holder) return;
    const model = form.querySelector("select[name=model]");
    const takesMask = Boolean(model) && (holder.getAttribute("data-mask-models") || "").split(" ").indexOf(model.value) >= 0;
    const kit = form.querySelector("[data-kit-picker]");
    const kitOption = kit && kit.selectedOptions[0];
    const kitPictures = Number((kitOption && kitOption.getAttribute("data-pictures")) || 0);
    const first = form.querySelector("#input-list [data-input-tile]");
    const offered = takesMask && Boolean(first) && kitPictures === 0;
    holder.hidden = !offered;
    const root = holder.querySelector("[data-mask-painter]");
    const toggle = holder.querySelector("[data-mask-toggle]");
    if (!root) return;
    if (kept) {
      if (offered) restore(root, toggle, painterOf(root), first);
      kept = null;
    }
    if (!offered) {
      // A mask is sent only when the painter is offered and open.
      close(root, toggle);
      return;
    }
    const painter = painterOf(root);
    if (!root.hidden) {
      painter.load(first.getAttribute("data-src"), Number(first.getAttribute("data-width")), Number(first.getAttribute("data-height")));
    }
  }

  function open(root, toggle) {
    root.hidden = false;
    if (toggle) toggle.setAttribute("aria-expanded", "true");
    if (root.painter && root.painter.file) root.painter.file.disabled = false;
  }

  function close(root, toggle) {
    root.hidden = true;
    if (toggle) toggle.setAttribute("aria-expanded", "false");
    const file = root.querySelector("[data-mask-file]");
    // A closed painter sends nothing: the edit changes the whole picture.
    if (file) file.disabled = true;
  }

  document.addEventListener("click", function (event) {
    const toggle = event.target instanceof Element ? event.target.closest("[data-mask-toggle]") : null;
    if (!toggle) return;
    const holder = toggle.closest("[data-mask-holder]");
    const root = holder && holder.querySelector("[data-mask-painter]");
    if (!root) return;
    event.preventDefault();
    if (root.hidden) {
      const painter = painterOf(root);
      open(root, toggle);
      const form = toggle.closest("form");
      if (form && form.id === "studio-form") {
        studioSync(form);
      } else {
        painter.load(root.getAttribute("data-src"), Number(root.getAttribute("data-width")), Number(root.getAttribute("data-height")));
      }
      const first = root.querySelector("[data-mask-tool='brush']");
      if (first) first.focus();
    } else {
      close(root, toggle);
    }
  });

  // An open painter with nothing painted would send no mask and change the whole picture:
  // say so beside the painter instead of sending.
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (!(form instanceof HTMLFormElement)) return;
    const root = form.querySelector("[data-mask-painter]");
    if (!root || root.hidden || !root.painter || root.closest("[hidden]")) return;
    if (event.submitter && event.submitter.getAttribute("name") === "action") return;
    if (root.painter.painted()) return;
    event.preventDefault();
    event.stopImmediatePropagation();
    root.painter.say(gettext("Paint the area to change first, or close the painter to edit the whole picture."), true);
    if (root.painter.status) root.painter.status.focus();
  }, true);

  function syncAll() {
    const form = document.getElementById("studio-form");
    if (form) studioSync(form);
  }

  document.addEventListener("change", function (event) {
    const target = event.target;
    if (target instanceof HTMLSelectElement && target.form && target.form.id === "studio-form") {
      window.setTimeout(syncAll, 0);
    }
  });
  // Tiles are added, moved and removed by studio.js and htmx; follow the first one.
  document.addEventListener("click", function (event) {
    if (event.target instanceof Element && event.target.closest("[data-move], [data-remove]")) {
      window.setTimeout(syncAll, 0);
    }
  });
  ["htmx:afterSettle", "htmx:oobAfterSwap"].forEach(function (type) {
    document.addEventListener(type, function () { window.setTimeout(syncAll, 0); });
  });
  document.addEventListener("DOMContentLoaded", syncAll);
  window.addEventListener("resize", function () {
    document.querySelectorAll("[data-mask-painter]").forEach(function (root) {
      if (root.painter && !root.hidden) root.painter.setZoom(root.painter.zoom);
    });
  });
})();
