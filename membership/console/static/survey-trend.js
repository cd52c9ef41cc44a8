// A survey's weekly trend (NPS or average score), drawn with the vendored ECharts from the JSON
// the results page carries; the figures themselves are the page's table (text, exact).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const element = document.getElementById("trend-chart");
  if (!element) return;
  const data = JSON.parse(document.getElementById("trend-data").textContent);
  const chart = echarts.init(element, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    xAxis: { type: "category", data: data.weeks },
    yAxis: { type: "value", min: data.min, max: data.max },
    series: [{ name: data.label, type: "line", data: data.values.map(Number) }],
  });
  window.addEventListener("resize", () => chart.resize());
});
