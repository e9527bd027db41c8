/*
 * The full-screen viewer and compare (issue 10, part 5). No inline script anywhere: this file
 * finds everything through data- attributes, so any page can use it by
 *   1. including templates/campaigns/_viewer.html once (context: viewer_boards, from
 *      campaigns.board_views.viewer_context(user)), and loading this script;
 *   2. marking each tile's link (an <a> whose href is the image's page, so it still works
 *      without scripts and with ctrl/middle click) with:
 *
 *      data-viewer="<id>"            the image's id; marks the element as part of the set
 *      data-viewer-src="<url>"       the original (studio:image)
 *      data-viewer-thumb="<url>"     the thumbnail, shown while the original loads (optional)
 *      data-viewer-prompt="<text>"   the start of the prompt (alt text and facts)
 *      data-viewer-facts="<text>"    one line of facts: model · size · W×H · date
 *      data-viewer-width / -height   the original's pixels (optional; compare scales by them)
 *      data-viewer-star="<url>"      POST starred=1|0 there (boards:star) to star or unstar
 *      data-viewer-starred="1|0"     the caller's star now; the viewer keeps it up to date
 *
 *    Inside the tile, an element with data-star-badge marks a starred image; the viewer adds
 *    or removes it (class thumb__star) as the star changes.
 *   3. optionally, for compare and bulk actions: checkboxes with data-select (value = the
 *      image's id), a button with data-compare (compares the checked 2–4 images), an element
 *      with data-selected-count (shows how many are checked), an element with
 *      data-compare-note (where "pick 2 to 4" is said) and buttons with data-needs-selection
 *      (disabled while nothing is checked).
 *
 * The set is every [data-viewer] on the page in document order (pages loaded later by
 * infinite scroll included). Keys: ← → browse, z toggles 100 %, s stars, b goes to "add to
 * board", Esc closes and gives the focus back to the tile that opened the viewer.
 */
(function () {
  "use strict";

  var gettext = window.gettext || function (s) { return s; };
  var interpolate = window.interpolate || function (fmt, obj) {
    return fmt.replace(/%\((\w+)\)s/g, function (_, k) { return String(obj[k]); });
  };

  var state = {
    items: [], index: 0, opener: null, zoomed: false, mode: "single", compare: [], compareScale: 1,
  };

  function dialog() { return document.getElementById("viewer"); }
  function part(name) { return dialog().querySelector('[data-part="' + name + '"]'); }

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function tiles() {
    return Array.prototype.filter.call(document.querySelectorAll("[data-viewer]"), function (el) {
      return !el.closest("#viewer");
    });
  }

  function tileById(id) {
    return tiles().filter(function (el) { return el.dataset.viewer === String(id); })[0] || null;
  }

  // --- one image -------------------------------------------------------------------------------
  function setZoom(on) {
    state.zoomed = on;
    var d = dialog();
    d.classList.toggle("viewer--actual", on);
    d.querySelector('[data-action="zoom"]').setAttribute("aria-pressed", on ? "true" : "false");
    if (state.mode === "compare") layoutCompare();
  }

  function showStar(tile) {
    var on = tile.dataset.viewerStarred === "1";
    var button = dialog().querySelector('[data-action="star"]');
    button.setAttribute("aria-pressed", on ? "true" : "false");
    part("star-icon").textContent = on ? "★" : "☆";
  }

  function showFacts(tile) {
    // In compare the title says the shared scale (layoutCompare); the outline says which.
    if (state.mode !== "compare") {
      part("count").textContent = interpolate(gettext("Image %(n)s of %(total)s"),
        { n: state.index + 1, total: state.items.length }, true);
    }
    part("prompt").textContent = tile.dataset.viewerPrompt || "";
    part("meta").textContent = [tile.dataset.viewerRow, tile.dataset.viewerFacts]
      .filter(Boolean).join(" · ");
    part("link").href = tile.getAttribute("href");
    part("ids").value = tile.dataset.viewer;
    document.getElementById("viewer-note").textContent = "";
    showStar(tile);
  }

  function show(index) {
    var items = state.items;
    if (!items.length) return;
    state.index = (index + items.length) % items.length;
    var tile = items[state.index];
    if (state.mode === "compare") {
      // ← → pick the compared image that s and b act on; side by side the pictures stay
      // put, on a phone (one at a time) the strip moves to it.
      var box = part("compare");
      box.querySelectorAll("figure").forEach(function (figure, n) {
        figure.classList.toggle("is-current", n === state.index);
        figure.setAttribute("aria-current", n === state.index ? "true" : "false");
      });
      if (oneAtATime() && swipedTo() !== state.index) {
        box.scrollTo({ left: state.index * box.clientWidth, behavior: "smooth" });
      }
      showFacts(tile);
      sayCompare();
      return;
    }
    var image = part("image");
    var src = tile.dataset.viewerSrc;
    image.alt = tile.dataset.viewerPrompt || "";
    image.src = tile.dataset.viewerThumb || src;
    if (tile.dataset.viewerThumb) {
      var full = new Image();
      full.onload = function () {
        if (items[state.index] === tile) image.src = src;
      };
      full.src = src;
    }
    showFacts(tile);
    setZoom(false);
    part("stage").scrollTo(0, 0);
    // The next original starts loading now, so → shows it without waiting.
    var next = items[(state.index + 1) % items.length];
    if (next !== tile) new Image().src = next.dataset.viewerSrc;
  }

  function openAt(tile) {
    var d = dialog();
    if (!d) return false;
    state.items = tiles();
    state.opener = document.activeElement;
    setMode("single");
    show(Math.max(0, state.items.indexOf(tile)));
    if (!d.open) d.showModal();
    d.querySelector('[data-action="next"]').focus();
    return true;
  }

  function close() {
    var d = dialog();
    if (d && d.open) d.close();
  }

  function star() {
    var tile = state.items[state.index];
    if (!tile || !tile.dataset.viewerStar) return;
    var on = tile.dataset.viewerStarred !== "1";
    var note = document.getElementById("viewer-note");
    fetch(tile.dataset.viewerStar, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "HX-Request": "true" },
      body: new URLSearchParams({ starred: on ? "1" : "0" }),
    }).then(function (response) {
      if (!response.ok) throw new Error(String(response.status));
      tile.dataset.viewerStarred = on ? "1" : "0";
      var badge = tile.querySelector("[data-star-badge]");
      if (badge && !on) badge.remove();
      if (!badge && on) {
        badge = document.createElement("span");
        badge.className = "thumb__star";
        badge.setAttribute("data-star-badge", "");
        badge.title = gettext("Starred");
        badge.textContent = "★";
        tile.appendChild(badge);
      }
      if (state.items[state.index] === tile) showStar(tile);
      note.textContent = on ? gettext("Starred.") : gettext("Star removed.");
    }).catch(function () {
      note.textContent = gettext("Could not save the star; try again.");
    });
  }

  function toBoard() {
    var select = part("board");
    select.focus();
  }

  // --- compare -----------------------------------------------------------------------------------
  function setMode(mode) {
    state.mode = mode;
    var d = dialog();
    d.classList.toggle("viewer--compare", mode === "compare");
    part("stage").hidden = mode === "compare";
    part("compare").hidden = mode !== "compare";
  }

  // A phone's compare (the stylesheet's narrow layout) shows one picture at a time in a strip
  // that swipes; a wide screen shows them side by side.
  function oneAtATime() {
    return window.matchMedia("(max-width: 700px)").matches;
  }

  function swipedTo() {
    var box = part("compare");
    return box.clientWidth ? Math.round(box.scrollLeft / box.clientWidth) : 0;
  }

  function sayCompare() {
    var n = part("compare").querySelectorAll("figure").length;
    var percent = Math.round(state.compareScale * 100);
    part("count").textContent = oneAtATime()
      ? interpolate(gettext("Image %(i)s of %(n)s compared, each at %(percent)s percent of its size"),
        { i: state.index + 1, n: n, percent: percent }, true)
      : interpolate(gettext("Comparing %(n)s images, each at %(percent)s percent of its size"),
        { n: n, percent: percent }, true);
  }

  // Every picture at the same scale (pixels of the original per pixel on screen), the largest
  // that lets each fit its column, caption included: a 4K and a 1K image compared show their
  // true relative size. On a phone each column is the whole screen's width.
  function layoutCompare() {
    var box = part("compare");
    var figures = Array.prototype.slice.call(box.querySelectorAll("figure"));
    if (!figures.length) return;
    var scale = 1;
    if (!state.zoomed) {
      var columns = oneAtATime() ? 1 : figures.length;
      var caption = Math.max.apply(null, figures.map(function (figure) {
        return figure.querySelector("figcaption").offsetHeight;
      }));
      var width = (box.clientWidth - 16 * (columns - 1)) / columns - 16;
      var height = box.clientHeight - caption - 24;
      figures.forEach(function (figure) {
        var img = figure.querySelector("img");
        var w = Number(img.dataset.width) || img.naturalWidth || 1;
        var h = Number(img.dataset.height) || img.naturalHeight || 1;
        scale = Math.min(scale, width / w, Math.max(height, 80) / h);
      });
    }
    figures.forEach(function (figure) {
      var img = figure.querySelector("img");
      var w = Number(img.dataset.width) || img.naturalWidth || 1;
      img.style.width = Math.max(1, Math.floor(w * scale)) + "px";
      img.style.height = "auto";
    });
    state.compareScale = scale;
    if (oneAtATime()) box.scrollLeft = state.index * box.clientWidth;
    sayCompare();
  }

  // A swipe on a phone makes the picture it stops on the current one (s and b act on it).
  var swipeTimer = null;
  function swiped() {
    clearTimeout(swipeTimer);
    swipeTimer = setTimeout(function () {
      if (state.mode !== "compare" || !oneAtATime()) return;
      var n = swipedTo();
      if (n !== state.index && n >= 0 && n < state.items.length) show(n);
    }, 120);
  }

  function openCompare(ids) {
    var d = dialog();
    if (!d) return;
    var chosen = ids.map(tileById).filter(Boolean);
    var box = part("compare");
    box.textContent = "";
    chosen.forEach(function (tile) {
      var figure = document.createElement("figure");
      var img = document.createElement("img");
      img.alt = tile.dataset.viewerPrompt || "";
      img.dataset.width = tile.dataset.viewerWidth || "";
      img.dataset.height = tile.dataset.viewerHeight || "";
      img.addEventListener("load", layoutCompare);
      img.src = tile.dataset.viewerSrc;
      var caption = document.createElement("figcaption");
      var link = document.createElement("a");
      link.href = tile.getAttribute("href");
      link.textContent = "#" + tile.dataset.viewer;
      caption.appendChild(link);
      caption.appendChild(document.createTextNode(" " + (tile.dataset.viewerFacts || "")));
      if (tile.dataset.viewerRow) {
        // The list row it was made from: what tells the compared images apart.
        var row = document.createElement("span");
        row.className = "viewer__row";
        row.textContent = tile.dataset.viewerRow;
        caption.appendChild(row);
      }
      figure.addEventListener("click", function () { show(chosen.indexOf(tile)); });
      figure.appendChild(img);
      figure.appendChild(caption);
      box.appendChild(figure);
    });
    box.dataset.count = String(chosen.length);
    box.scrollLeft = 0;
    state.opener = document.activeElement;
    state.items = chosen;
    state.index = 0;
    setMode("compare");
    show(0);
    setZoom(false);
    if (!d.open) d.showModal();
    layoutCompare();
    d.querySelector('[data-action="close"]').focus();
  }

  function checkedIds() {
    return Array.prototype.map.call(
      document.querySelectorAll("input[data-select]:checked"), function (box) { return box.value; });
  }

  function refreshSelection() {
    var n = checkedIds().length;
    document.querySelectorAll("[data-selected-count]").forEach(function (el) {
      el.textContent = interpolate(gettext("%(n)s selected"), { n: n }, true);
    });
    document.querySelectorAll("[data-needs-selection]").forEach(function (el) {
      el.disabled = n === 0;
    });
    document.querySelectorAll("[data-compare]").forEach(function (el) {
      el.disabled = n < 2 || n > 4;
    });
  }

  // --- wiring --------------------------------------------------------------------------------------
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var compare = target.closest("[data-compare]");
    if (compare) {
      var ids = checkedIds();
      var note = document.querySelector("[data-compare-note]");
      if (ids.length < 2 || ids.length > 4) {
        if (note) note.textContent = gettext("Pick 2 to 4 images to compare.");
        return;
      }
      if (note) note.textContent = "";
      openCompare(ids);
      return;
    }
    var action = target.closest("#viewer [data-action]");
    if (action) {
      var name = action.dataset.action;
      if (name === "prev") show(state.index - 1);
      else if (name === "next") show(state.index + 1);
      else if (name === "zoom") setZoom(!state.zoomed);
      else if (name === "star") star();
      else if (name === "board") toBoard();
      else if (name === "close") close();
      return;
    }
    if (target.closest("#viewer")) {
      // A click on the image itself toggles 100 %.
      if (target.matches('[data-part="image"]')) setZoom(!state.zoomed);
      return;
    }
    var tile = target.closest("[data-viewer]");
    if (!tile || event.button !== 0 || event.ctrlKey || event.metaKey || event.shiftKey || event.altKey) return;
    if (openAt(tile)) event.preventDefault();
  });

  document.addEventListener("keydown", function (event) {
    var d = dialog();
    if (!d || !d.open) return;
    var field = event.target instanceof Element && event.target.closest("input, select, textarea");
    if (field || event.ctrlKey || event.metaKey || event.altKey) return;
    var key = event.key;
    if (key === "ArrowRight") show(state.index + 1);
    else if (key === "ArrowLeft") show(state.index - 1);
    else if (key === "z" || key === "Z") setZoom(!state.zoomed);
    else if (key === "s" || key === "S") star();
    else if (key === "b" || key === "B") toBoard();
    else return;
    event.preventDefault();
  });

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof Element && target.matches("input[data-select]")) refreshSelection();
    if (target instanceof Element && target.matches('#viewer [data-part="board"]')) {
      if (target.value === "") part("new-name").focus();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    refreshSelection();
    var d = dialog();
    if (!d) return;
    d.addEventListener("close", function () {
      part("image").removeAttribute("src");
      part("compare").textContent = "";
      var back = state.opener;
      state.opener = null;
      if (back && typeof back.focus === "function" && document.contains(back)) back.focus();
    });
    window.addEventListener("resize", function () {
      if (d.open && state.mode === "compare") layoutCompare();
    });
    part("compare").addEventListener("scroll", swiped, { passive: true });
  });
  // Pages of tiles that htmx adds (infinite scroll, filters) bring their own checkboxes.
  document.addEventListener("htmx:afterSettle", refreshSelection);
})();

// A bulk button with data-confirm asks first (no inline onclick under the CSP).
document.addEventListener("submit", function (event) {
  var button = event.submitter;
  if (button && button.dataset && button.dataset.confirm && !window.confirm(button.dataset.confirm)) {
    event.preventDefault();
  }
});
