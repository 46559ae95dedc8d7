// casevault: upload with a progress bar. The only script on any page; everything
// else works without it. Without this script the form posts as multipart/form-data
// to the page route, which streams the file the same way.
"use strict";
(function () {
  var form = document.getElementById("upload");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var input = document.getElementById("file");
  var bar = document.getElementById("upload-progress");
  var box = form.querySelector(".progress");
  var status = document.getElementById("upload-status");
  var button = form.querySelector("button[type=submit]");

  form.addEventListener("submit", function (ev) {
    var file = input.files && input.files[0];
    if (!file) { return; }
    ev.preventDefault();
    var xhr = new XMLHttpRequest();
    var url = form.getAttribute("data-api") + "?filename=" + encodeURIComponent(file.name);
    xhr.open("POST", url);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    button.disabled = true;
    box.hidden = false;
    bar.value = 0;
    status.textContent = "Uploading " + file.name + "…";
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        var pct = Math.floor((e.loaded / e.total) * 100);
        bar.value = pct;
        status.textContent = "Uploading " + file.name + ": " + pct + "%";
      }
    });
    xhr.addEventListener("load", function () {
      if (xhr.status === 201) {
        bar.value = 100;
        status.textContent = "Uploaded. Encrypted and stored.";
        form.setAttribute("data-state", "done");
        window.location.assign(window.location.pathname + "?done=uploaded");
        return;
      }
      var msg = "The upload did not work; nothing was stored.";
      try {
        var body = JSON.parse(xhr.responseText);
        if (body && body.error && body.error.message) { msg += " (" + body.error.message + ")"; }
      } catch (e) { /* keep the plain message */ }
      status.textContent = msg;
      form.setAttribute("data-state", "failed");
      button.disabled = false;
    });
    xhr.addEventListener("error", function () {
      status.textContent = "The connection was lost; nothing was stored. Try again.";
      form.setAttribute("data-state", "failed");
      button.disabled = false;
    });
    xhr.send(file);
  });
})();
