(function () {
  "use strict";
  var d = document;
  function $(id) { return d.getElementById(id); }
  var nf = new Intl.NumberFormat("en-US");

  var drop = $("drop");
  if (drop) {
    var upload = $("upload"), input = $("upload-files"), note = $("upload-status");
    var busy = function () { if (note) { note.textContent = "Checking\u2026 the results will appear below."; } };
    ["dragenter", "dragover"].forEach(function (t) {
      drop.addEventListener(t, function (e) { e.preventDefault(); drop.classList.add("over"); });
    });
    ["dragleave", "dragend", "drop"].forEach(function (t) {
      drop.addEventListener(t, function () { drop.classList.remove("over"); });
    });
    drop.addEventListener("drop", function (e) {
      e.preventDefault();
      var files = e.dataTransfer && e.dataTransfer.files;
      if (!files || !files.length) { return; }
      input.files = files;
      busy();
      upload.submit();
    });
    upload.addEventListener("submit", busy);
  }

  function init() {
    var table = $("ft");
    if (!table) { return; }
    var tbody = table.tBodies[0], cardsBox = $("cards");
    // Cards past the first page sit in <noscript>: real HTML when scripts are off,
    // one text node when they are on, parsed here only when their page is shown.
    var lazy = {};
    Array.prototype.forEach.call(d.querySelectorAll("#cards > noscript[data-x]"), function (ns) {
      lazy[ns.getAttribute("data-x")] = ns;
    });
    var recs = Array.prototype.map.call(tbody.rows, function (tr, i) {
      var x = tr.getAttribute("data-x");
      return {
        tr: tr, i: i, x: x, v: tr.getAttribute("data-v"), c: tr.getAttribute("data-c"),
        fl: tr.getAttribute("data-fl") === "1", text: tr.textContent.toLowerCase(), keys: null,
        card: $("f" + x)
      };
    });
    var byX = {};
    recs.forEach(function (r) { byX[r.x] = r; });
    function cardOf(r) {
      if (!r.card && lazy[r.x]) {
        var holder = d.createElement("template");
        holder.innerHTML = lazy[r.x].textContent;
        r.card = holder.content.firstElementChild;
        delete lazy[r.x];
      }
      return r.card;
    }
    var q = $("q"), fv = $("fv"), fc = $("fc"), ff = $("ff"), ps = $("ps"), form = $("filters");
    var showing = $("showing"), pinfo = $("pinfo");
    var first = $("first"), prev = $("prev"), next = $("next"), last = $("last");
    var heads = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var collator = new Intl.Collator("en", { numeric: true, sensitivity: "base" });
    var st = { page: 0, col: -1, dir: 1 }, shown = recs;
    var empty = d.createElement("tr"), emptyCell = d.createElement("td");
    emptyCell.colSpan = heads.length;
    emptyCell.textContent = "No file matches these filters.";
    empty.appendChild(emptyCell);

    Array.prototype.forEach.call(d.querySelectorAll(".js"), function (el) { el.hidden = false; });

    function keys(r) {
      if (!r.keys) {
        r.keys = Array.prototype.map.call(r.tr.cells, function (c) {
          var s = c.getAttribute("data-s");
          return s !== null ? s : c.textContent.trim();
        });
      }
      return r.keys;
    }
    function sortShown() {
      if (st.col < 0) { return; }
      var col = st.col, dir = st.dir;
      shown.sort(function (a, b) {
        var x = collator.compare(keys(a)[col], keys(b)[col]);
        return x ? x * dir : a.i - b.i;
      });
    }
    function update(resetPage) {
      var text = q.value.trim().toLowerCase(), v = fv.value, c = fc.value, f = ff.checked;
      shown = recs.filter(function (r) {
        return (!v || r.v === v) && (!c || r.c === c) && (!f || r.fl) && (!text || r.text.indexOf(text) >= 0);
      });
      sortShown();
      if (resetPage) { st.page = 0; }
      draw();
    }
    function draw() {
      var size = parseInt(ps.value, 10) || 50;
      var pages = Math.max(1, Math.ceil(shown.length / size));
      st.page = Math.min(Math.max(st.page, 0), pages - 1);
      var start = st.page * size, slice = shown.slice(start, start + size);
      if (slice.length) {
        tbody.replaceChildren.apply(tbody, slice.map(function (r) { return r.tr; }));
      } else {
        tbody.replaceChildren(empty);
      }
      if (cardsBox) {
        cardsBox.replaceChildren.apply(cardsBox, slice.map(cardOf).filter(Boolean));
      }
      var whole = recs.length === shown.length ? "" : " that match the filters (" + nf.format(recs.length) + " in all)";
      showing.textContent = shown.length
        ? "Showing files " + nf.format(start + 1) + "\u2013" + nf.format(start + slice.length) + " of " +
          nf.format(shown.length) + whole + "."
        : "No file matches the filters (" + nf.format(recs.length) + " in all).";
      pinfo.textContent = "Page " + nf.format(st.page + 1) + " of " + nf.format(pages);
      first.disabled = prev.disabled = st.page === 0;
      next.disabled = last.disabled = st.page >= pages - 1;
    }
    function go(page) { st.page = page; draw(); }

    heads.forEach(function (th, col) {
      var button = d.createElement("button");
      button.type = "button";
      button.textContent = th.textContent;
      button.title = "Sort by " + th.textContent;
      th.replaceChildren(button);
      button.addEventListener("click", function () {
        st.dir = st.col === col ? -st.dir : 1;
        st.col = col;
        heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", st.dir > 0 ? "ascending" : "descending");
        sortShown();
        draw();
      });
    });

    var timer = 0;
    q.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { update(true); }, 120);
    });
    [fv, fc, ff].forEach(function (el) { el.addEventListener("change", function () { update(true); }); });
    ps.addEventListener("change", function () { update(true); });
    form.addEventListener("submit", function (e) { e.preventDefault(); update(true); });
    form.addEventListener("reset", function () { setTimeout(function () { update(true); }, 0); });
    first.addEventListener("click", function () { go(0); });
    prev.addEventListener("click", function () { go(st.page - 1); });
    next.addEventListener("click", function () { go(st.page + 1); });
    last.addEventListener("click", function () { go(1e9); });

    Array.prototype.forEach.call(d.querySelectorAll("a[data-fv],a[data-fc]"), function (a) {
      a.addEventListener("click", function () {
        form.reset();
        fv.value = a.getAttribute("data-fv") || "";
        fc.value = a.getAttribute("data-fc") || "";
        update(true);
      });
    });

    function openCard() {
      var id = decodeURIComponent(location.hash.slice(1));
      if (!/^f[0-9]+$/.test(id)) { return; }
      var card = $(id);
      var rec = byX[id.slice(1)];
      if (!rec) { return; }
      if (!card) {
        var at = shown.indexOf(rec);
        if (at < 0) {
          fv.value = fc.value = q.value = "";
          ff.checked = false;
          update(true);
          at = shown.indexOf(rec);
        }
        go(Math.floor(at / (parseInt(ps.value, 10) || 50)));
        card = $(id);
      }
      if (card) {
        var det = card.querySelector("details");
        if (det) { det.open = true; }
        card.scrollIntoView();
      }
    }
    window.addEventListener("hashchange", openCard);

    function setAll(open) {
      if (!cardsBox) { return; }
      Array.prototype.forEach.call(cardsBox.querySelectorAll(".card>details"), function (det) { det.open = open; });
    }
    var openAll = $("open-all"), closeAll = $("close-all");
    if (openAll) { openAll.addEventListener("click", function () { setAll(true); }); }
    if (closeAll) { closeAll.addEventListener("click", function () { setAll(false); }); }
    var closedForPrint = [];
    window.addEventListener("beforeprint", function () {
      closedForPrint = Array.prototype.filter.call(cardsBox ? cardsBox.querySelectorAll(".card>details") : [],
        function (det) { return !det.open; });
      closedForPrint.forEach(function (det) { det.open = true; });
    });
    window.addEventListener("afterprint", function () {
      closedForPrint.forEach(function (det) { det.open = false; });
      closedForPrint = [];
    });

    update(false);
    if (location.hash) { openCard(); }
  }
  try { init(); } finally { document.documentElement.setAttribute("data-ready", "1"); }
})();
