// The case filter: text and verdict check boxes; opens the case a link points at.
(function () {
  var bar = document.getElementById("filter");
  if (!bar) return;
  bar.hidden = false;
  var text = document.getElementById("filter-text");
  var boxes = bar.querySelectorAll("input[type=checkbox]");
  var count = document.getElementById("filter-count");
  var cases = document.querySelectorAll("details.case");
  // what the text filter searches: the case's one line (verdict, id, title, RFC, Autobahn id, reason)
  var search = [];
  cases.forEach(function (d) { search.push(d.querySelector("summary").textContent.toLowerCase()); });
  function apply() {
    var t = text.value.trim().toLowerCase();
    var on = Object.create(null);
    boxes.forEach(function (b) { on[b.value] = b.checked; });
    var shown = 0;
    cases.forEach(function (d, i) {
      var show = on[d.dataset.verdict] === true && (t === "" || search[i].indexOf(t) >= 0);
      d.hidden = !show;
      if (show) shown += 1;
    });
    document.querySelectorAll("[data-group]").forEach(function (g) {
      g.hidden = g.querySelector("details.case:not([hidden])") === null;
    });
    count.textContent = shown + " of " + cases.length + " cases shown";
  }
  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    var el = id ? document.getElementById(id) : null;
    if (el && el.tagName === "DETAILS") {
      el.hidden = false;
      el.open = true;
      // groups nest (failing and passing within not OK): unhide each one around the case
      for (var g = el.closest("[data-group]"); g; g = g.parentElement ? g.parentElement.closest("[data-group]") : null) {
        g.hidden = false;
      }
      el.scrollIntoView();
    }
  }
  text.addEventListener("input", apply);
  boxes.forEach(function (b) { b.addEventListener("change", apply); });
  window.addEventListener("hashchange", openTarget);
  apply();
  openTarget();
})();
