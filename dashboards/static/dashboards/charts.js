// Draws every <canvas data-chart="ID"> from the Chart.js configuration that the
// server wrote into <script type="application/json" id="ID"> (Django's json_script),
// so no data is ever pasted into JavaScript source.
(function () {
  "use strict";
  if (typeof Chart === "undefined") {
    return;
  }
  document.querySelectorAll("canvas[data-chart]").forEach(function (canvas) {
    var source = document.getElementById(canvas.dataset.chart);
    if (!source) {
      return;
    }
    try {
      new Chart(canvas, JSON.parse(source.textContent));
    } catch (error) {
      // One broken chart must not stop the others; the table beside it still has the numbers.
      console.error("chart " + canvas.dataset.chart + " failed:", error);
    }
  });
})();
