/* The HubSpot lists: "select all" for the action checkboxes, and a search box that finds as
   you type. The page works without this file: the box submits, the checkboxes post. */
(function () {
  "use strict";
  var DELAY_MS = 300; // one search per pause in typing: HubSpot's search allows ~5 a second

  function bindCheckboxes(root) {
    var toggle = root.querySelector("#action-toggle");
    if (!toggle) return;
    toggle.addEventListener("change", function () {
      root.querySelectorAll("input.action-select").forEach(function (box) {
        box.checked = toggle.checked;
        box.closest("tr").classList.toggle("selected", toggle.checked);
      });
    });
    root.querySelectorAll("input.action-select").forEach(function (box) {
      box.addEventListener("change", function () {
        box.closest("tr").classList.toggle("selected", box.checked);
      });
    });
  }

  // What a search changes outside the rows: the sidebar's filter links carry the query (so a
  // filter chosen next keeps it), and the toolbar's "Show all" link comes and goes with it.
  function syncOutside(page, form) {
    var freshFilter = page.getElementById("changelist-filter");
    var filter = document.getElementById("changelist-filter");
    if (filter && freshFilter) filter.replaceWith(document.importNode(freshFilter, true));
    var freshClear = page.getElementById("clear-search");
    var clear = document.getElementById("clear-search");
    if (clear && freshClear) {
      clear.replaceWith(document.importNode(freshClear, true));
    } else if (clear) {
      clear.remove();
    } else if (freshClear) {
      var submit = form.querySelector("input[type=submit]");
      if (submit) submit.after(document.importNode(freshClear, true));
    }
  }

  function liveSearch(form) {
    var box = form.querySelector("#searchbar");
    var target = document.getElementById("live-results");
    if (!box || !target || !window.fetch) return;
    var timer = null;
    var latest = 0;
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () {
        var ticket = ++latest;
        var query = new URLSearchParams(new FormData(form)).toString();
        var url = window.location.pathname + "?" + query;
        fetch(url, { headers: { "X-Requested-With": "XMLHttpRequest" }, credentials: "same-origin" })
          .then(function (response) { return response.ok ? response.text() : null; })
          .then(function (html) {
            if (html === null || ticket !== latest) return; // a newer search is on its way
            var page = new DOMParser().parseFromString(html, "text/html");
            var fresh = page.getElementById("live-results");
            if (!fresh) return;
            target.innerHTML = fresh.innerHTML;
            bindCheckboxes(target);
            syncOutside(page, form);
            window.history.replaceState(null, "", url);
          })
          .catch(function () { /* the box still submits the ordinary way */ });
      }, DELAY_MS);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    bindCheckboxes(document);
    document.querySelectorAll("form[data-live-search]").forEach(liveSearch);
  });
})();
