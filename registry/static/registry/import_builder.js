// The mapping builder: refuse a file over the upload limit before sending it, and poll an
// import run's progress until it ends, then show its summary (the page reloads).
(function () {
  "use strict";

  function guardUploadSize() {
    var form = document.getElementById("builder-upload-form");
    if (!form) return;
    var limit = parseInt(form.dataset.maxBytes, 10);
    var note = document.getElementById("builder-upload-error");
    form.addEventListener("submit", function (event) {
      var input = form.querySelector("input[type=file]");
      var file = input && input.files && input.files[0];
      if (file && limit && file.size > limit) {
        event.preventDefault();
        note.textContent = form.dataset.limitText;
        note.hidden = false;
      }
    });
  }

  function pollProgress() {
    var box = document.getElementById("builder-progress");
    if (!box) return;
    var bar = document.getElementById("builder-progress-bar");
    var url = box.dataset.statusUrl;
    function show(status) {
      bar.max = status.total || 1;
      bar.value = status.done;
      box.querySelector(".builder-phase").textContent = status.phase_label;
      box.querySelector(".builder-done").textContent = status.done;
      box.querySelector(".builder-total").textContent = status.total;
    }
    function tick() {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (status) {
          show(status);
          if (status.status === "running") {
            window.setTimeout(tick, 500);
          } else {
            window.location.reload();
          }
        })
        .catch(function () { window.setTimeout(tick, 2000); });
    }
    window.setTimeout(tick, 300);
  }

  document.addEventListener("DOMContentLoaded", function () {
    guardUploadSize();
    pollProgress();
  });
})();
