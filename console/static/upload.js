// The upload page: drag or choose a tarball, send it to the console (which relays it to the
// registry's presigned PUT) with a progress bar, then poll until the registry records the outcome.
// Hand-written, no library. Server HTML is inserted only from /upload/outcome, which escapes it.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  var drop = document.getElementById("drop");
  var input = document.getElementById("up-file");
  var chosen = document.getElementById("up-chosen");
  var bar = document.getElementById("up-progress");
  var status = document.getElementById("up-status");
  var outcome = document.getElementById("up-outcome");
  var file = null;

  function choose(f) {
    file = f;
    chosen.textContent = f ? f.name + " (" + f.size + " bytes)" : "";
  }
  function say(text) { status.textContent = text; }

  input.addEventListener("change", function () { choose(input.files[0] || null); });
  ["dragenter", "dragover"].forEach(function (type) {
    drop.addEventListener(type, function (e) { e.preventDefault(); drop.classList.add("over"); });
  });
  ["dragleave", "drop"].forEach(function (type) {
    drop.addEventListener(type, function () { drop.classList.remove("over"); });
  });
  drop.addEventListener("drop", function (e) {
    e.preventDefault();
    if (e.dataTransfer.files.length) { choose(e.dataTransfer.files[0]); }
  });

  function follow(id, started) {
    fetch("/upload/outcome?id=" + encodeURIComponent(id)).then(function (r) {
      if (!r.ok) { throw new Error("the console answered HTTP " + r.status); }
      return r.json();
    }).then(function (answer) {
      if (answer.done) {
        say("The registry's answer: " + answer.outcome + ".");
        outcome.innerHTML = answer.html;  // rendered and escaped by the server's template
        form.dataset.outcome = answer.outcome;
        return;
      }
      var waited = Math.round((Date.now() - started) / 1000);
      say("Uploaded; waiting for the registry to validate it (" + waited + " s)…");
      setTimeout(function () { follow(id, started); }, 500);
    }).catch(function (error) { say("Could not read the outcome: " + error.message); });
  }

  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var name = form.elements.name.value.trim();
    if (!file) { say("Choose or drop a tarball first."); return; }
    if (!name) { say("Give the model a name."); return; }
    outcome.textContent = "";
    var query = "name=" + encodeURIComponent(name) + "&alias=" + encodeURIComponent(form.elements.alias.value) +
      "&description=" + encodeURIComponent(form.elements.description.value.trim()) +
      "&tags=" + encodeURIComponent(form.elements.tags.value);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/upload/put?" + query);
    xhr.setRequestHeader("X-Console-Token", form.dataset.token);
    xhr.setRequestHeader("Content-Type", "application/gzip");
    xhr.upload.onprogress = function (event) {
      if (event.lengthComputable) {
        bar.value = Math.round(100 * event.loaded / event.total);
        bar.textContent = bar.value + "%";
        say("Uploading " + bar.value + "%…");
      }
    };
    xhr.onload = function () {
      var answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (ignored) { answer = null; }
      if (xhr.status !== 200 || !answer) {
        var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
        var alert = doc.querySelector("[role=alert]");
        say("The upload failed: " + (alert ? alert.textContent.trim() : "HTTP " + xhr.status));
        return;
      }
      bar.value = 100;
      follow(answer.id, Date.now());
    };
    xhr.onerror = function () { say("The upload failed: the console did not answer."); };
    say("Uploading…");
    xhr.send(file);
  });
})();
