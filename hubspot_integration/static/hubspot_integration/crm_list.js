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
