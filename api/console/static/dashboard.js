/* The dashboard's trend charts: each .trend-chart carries its figures in data-chart
   ({categories, name, data}); this draws them with ECharts when htmx loads the trends
   part (or when the page has them already). The captions and the table beside them
   have the same figures; this only draws. */
(function () {
  "use strict";

  function draw(box) {
    if (box.getAttribute("data-drawn") === "true" || typeof window.echarts === "undefined") {
      return;
    }
    var data = JSON.parse(box.getAttribute("data-chart"));
    var narrow = window.innerWidth < 600;
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption({
      animation: false,
      tooltip: { trigger: "axis" },
      grid: { left: narrow ? 8 : 16, right: 16, top: 16, bottom: 8, containLabel: true },
      xAxis: {
        type: "category", data: data.categories,
        axisLabel: { hideOverlap: true }
      },
      yAxis: { type: "value", minInterval: 1 },
      series: [{
        name: data.name, type: "line", data: data.data, smooth: true,
        showSymbol: data.data.length < 40, areaStyle: { opacity: 0.08 }
      }]
    });
    box.setAttribute("data-drawn", "true");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function drawIn(root) {
    var boxes = root.querySelectorAll ? root.querySelectorAll(".trend-chart[data-chart]") : [];
    for (var i = 0; i < boxes.length; i += 1) {
      draw(boxes[i]);
    }
  }

  document.addEventListener("htmx:load", function (event) { drawIn(event.target); });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { drawIn(document); });
  } else {
    drawIn(document);
  }
})();
