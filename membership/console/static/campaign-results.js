// A campaign's conversion rate and revenue per member, target group against control group, drawn
// with the vendored ECharts from the JSON the page carries (no inline script: the CSP forbids it).
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const chart = echarts.init(document.getElementById("chart-campaign"), null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis" },
    legend: { data: [data.labels.rate, data.labels.revenue] },
    xAxis: { type: "category", data: data.groups },
    yAxis: [{ type: "value" }, { type: "value" }],
    series: [
      { name: data.labels.rate, type: "bar", data: data.rates },
      { name: data.labels.revenue, type: "bar", yAxisIndex: 1, data: data.revenue.map((fen) => fen / data.scale) },
    ],
  });
  window.addEventListener("resize", () => chart.resize());
});
