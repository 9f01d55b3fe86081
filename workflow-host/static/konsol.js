// Photo previews: the photos chosen (or taken with the camera) are shown before the
// form is sent. Without this script the form works the same, without previews.
"use strict";
document.querySelectorAll("input[type=file][data-pratinjau]").forEach(function (input) {
  var box = document.getElementById(input.dataset.pratinjau);
  if (!box) return;
  input.addEventListener("change", function () {
    box.replaceChildren();
    Array.prototype.forEach.call(input.files, function (file) {
      if (!file.type.startsWith("image/")) return;
      var figure = document.createElement("figure");
      var img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = "Pratinjau " + file.name;
      img.className = "pratinjau-foto";
      var caption = document.createElement("figcaption");
      caption.textContent = file.name + " (" + Math.round(file.size / 1024) + " KB)";
      figure.append(img, caption);
      box.append(figure);
    });
  });
});

// A page that is still changing (a verification running) reloads itself; without this
// script its "Perbarui sekarang" link does the same by hand.
document.querySelectorAll("[data-muat-ulang]").forEach(function (link) {
  var seconds = Number(link.dataset.muatUlang) || 2;
  setTimeout(function () { window.location.reload(); }, seconds * 1000);
});
