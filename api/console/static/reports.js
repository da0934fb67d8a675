/* The report pages' charts: read the figures from the page's JSON block
   (<script type="application/json" id="chart-data">) and draw them with ECharts.
   The table beside the chart has the same figures; this only draws. */
(function () {
  "use strict";

  function seriesOf(chart, names) {
    return chart.series.map(function (one) {
      return {
        name: names[one.key] || one.key,
        type: chart.type,
        data: one.data,
        smooth: chart.type === "line",
        showSymbol: chart.type === "line" && one.data.length < 40
      };
    });
  }

  function option(data) {
    var chart = data.chart;
    var narrow = window.innerWidth < 600;
    var base = {
      animation: false,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: narrow ? 40 : 60, right: 16, top: 40, bottom: 60, containLabel: true },
      series: seriesOf(chart, data.names || {})
    };
    if (chart.type === "funnel") {
      base.tooltip = { trigger: "item" };
      base.series = [{
        type: "funnel", sort: "none", left: "10%", width: "80%", top: 40, bottom: 10,
        label: { show: true, position: "inside" },
        data: chart.categories.map(function (name, i) {
          return { name: name, value: chart.series[0].data[i] };
        })
      }];
      delete base.grid;
      return base;
    }
    base.xAxis = {
      type: "category", data: chart.categories,
      axisLabel: { rotate: chart.categories.length > 6 ? 35 : 0, hideOverlap: true }
    };
    base.yAxis = { type: "value" };
    return base;
  }

  function draw() {
    var block = document.getElementById("chart-data");
    var box = document.getElementById("chart");
    if (!block || !box || typeof window.echarts === "undefined" ||
        box.getAttribute("data-drawn") === "true") {
      return;
    }
    var data = JSON.parse(block.textContent);
    var chart = window.echarts.init(box, null, { renderer: "canvas" });
    chart.setOption(option(data));
    box.setAttribute("data-drawn", "true");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  // The figures may arrive after the page (htmx places them): draw them then too.
  document.addEventListener("htmx:load", draw);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
