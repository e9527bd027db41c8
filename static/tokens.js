// The tokens page: a new token's Copy button. The button stays hidden without scripts (the
// token can still be selected and copied by hand); no inline script, the CSP forbids it.
(function () {
  "use strict";

  function reveal() {
    document.querySelectorAll("button[data-copy]").forEach(function (button) {
      if (navigator.clipboard) button.hidden = false;
    });
  }

  document.addEventListener("click", function (event) {
    const button = event.target instanceof Element ? event.target.closest("button[data-copy]") : null;
    if (!button) return;
    const source = document.getElementById(button.getAttribute("data-copy"));
    if (!source) return;
    navigator.clipboard.writeText(source.textContent.trim()).then(function () {
      button.textContent = button.getAttribute("data-copied") || "Copied";
    });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", reveal);
  } else {
    reveal();
  }
  // After an htmx swap the new token's button appears in the swapped part.
  document.addEventListener("htmx:afterSwap", reveal);
})();
