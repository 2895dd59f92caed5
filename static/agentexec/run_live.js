// Keeps a run's review page current while the run goes: polls /ui/runs/<id>/live, replaces the
// facts panel, appends new steps and refreshes the logs; reloads once the run has ended so the
// output, usage and sandbox sections show their final state. The server renders (and escapes)
// every fragment; logs are set as text.
(function () {
  "use strict";
  var panel = document.getElementById("run-facts");
  if (!panel || !panel.dataset.liveUrl) return;
  var url = panel.dataset.liveUrl;
  var delay = parseInt(panel.dataset.pollMs || "1500", 10);
  var last = parseInt(panel.dataset.lastSequence || "0", 10);
  var steps = document.getElementById("steps");
  var failures = 0;

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  function apply(data) {
    if (data.terminal) {
      window.location.reload();
      return false;
    }
    panel.innerHTML = data.facts;
    if (data.lastSequence > last && data.steps.trim()) {
      steps.insertAdjacentHTML("beforeend", data.steps);
      var empty = document.getElementById("no-steps");
      if (empty) empty.remove();
      last = data.lastSequence;
    }
    setText("log-runner", data.logs.runner);
    setText("log-linc", data.logs.linc);
    return true;
  }

  function poll() {
    fetch(url + "?after=" + last, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        if (apply(data)) window.setTimeout(poll, delay);
      })
      .catch(function () {
        failures += 1;  // back off while the server is away, but keep trying
        window.setTimeout(poll, Math.min(delay * Math.pow(2, failures), 30000));
      });
  }

  // Cancelling is destructive: ask first. The form is re-rendered by each poll, so listen on the
  // panel rather than the button.
  panel.addEventListener("submit", function (event) {
    var form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });

  window.setTimeout(poll, delay);
})();
