// The segments' sizes day by day (the nightly snapshots), drawn with the vendored ECharts from the
// JSON the segments page carries (no inline script: the CSP forbids it).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const chart = echarts.init(document.getElementById("chart-segment-sizes"), null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { data: data.series.map((s) => s.name) },
    xAxis: { type: "category", data: data.days },
    yAxis: { type: "value", minInterval: 1 },
    series: data.series.map((s) => ({ name: s.name, type: "line", connectNulls: true, data: s.data })),
  });
  window.addEventListener("resize", () => chart.resize());
});
