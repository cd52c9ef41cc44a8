// The tourism reports' chart: bars (counts) and a line on the right axis (a rate), drawn with the
// console's vendored ECharts from the JSON the page carries.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("tourism-chart-data").textContent);
  const element = document.getElementById("tourism-chart");
  const chart = echarts.init(element, null, { renderer: "canvas" });
  const twoAxes = data.series.some((s) => s.axis === 1);
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { data: data.series.map((s) => s.name) },
    grid: { containLabel: true, left: 8, right: 8 },
    xAxis: { type: "category", data: data.categories },
    yAxis: twoAxes ? [{ type: "value" }, { type: "value" }] : [{ type: "value" }],
    series: data.series.map((s) => ({ name: s.name, type: s.type, data: s.data, yAxisIndex: twoAxes ? s.axis : 0 })),
  });
  window.addEventListener("resize", () => chart.resize());
});
