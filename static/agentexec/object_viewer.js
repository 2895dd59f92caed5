// The document viewer: bring the highlighted passage to the middle of the screen.
(function () {
  "use strict";
  var hit = document.getElementById("hit");
  if (hit) {
    hit.scrollIntoView({ block: "center" });
  }
})();
