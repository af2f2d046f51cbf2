// The roster upload's progress bar: filled as htmx reports the upload, indeterminate while the server checks.
document.addEventListener("htmx:xhr:progress", function (event) {
  var bar = document.querySelector("#roster-progress progress");
  if (!bar || !event.detail.lengthComputable) return;
  if (event.detail.loaded >= event.detail.total) bar.removeAttribute("value");
  else bar.value = Math.round(100 * event.detail.loaded / event.detail.total);
});
