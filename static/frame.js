// ImageStudio's frame: the header's menu folds behind a button on narrow screens. The
// button stays hidden without scripts, and then the menu is simply always open.
(function () {
  "use strict";

  function setUp() {
    const bar = document.querySelector(".topbar");
    const toggle = bar && bar.querySelector(".menu-toggle");
    if (!toggle) return;
    bar.classList.add("topbar--folding");
    toggle.hidden = false;
    toggle.addEventListener("click", function () {
      const open = bar.classList.toggle("topbar--open");
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
    });
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape" && bar.classList.contains("topbar--open")) {
        bar.classList.remove("topbar--open");
        toggle.setAttribute("aria-expanded", "false");
        toggle.focus();
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setUp);
  } else {
    setUp();
  }
})();
