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
})();
