// Polls the import's status every second and moves the bar; once it has finished, reloads the
// page so the server renders the summary and the rejected lines.
(function () {
  "use strict";
  var panel = document.getElementById("import-progress-panel");
  if (!panel || panel.dataset.finished === "true") return;
  var set = function (id, value) { document.getElementById(id).textContent = value; };

  function poll() {
    fetch(panel.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return setTimeout(poll, 3000); // a failed poll is retried, more slowly
        document.getElementById("import-progress").value = data.percent;
        set("import-percent", data.percent + " %");
        set("import-status", data.statusLabel);
        set("import-processed", data.processed);
        set("import-total", data.total);
        ["created", "updated", "rejected", "failed"].forEach(function (k) { set("import-" + k, data[k]); });
        set("import-waiting-count", data.waitingBatches);
        document.getElementById("import-waiting").hidden = !data.waitingBatches;
        set("import-note", data.note || "");
        document.getElementById("import-note").hidden = !data.note;
        if (data.finished) return window.location.reload();
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();
