// The dashboard's charts, drawn with the vendored ECharts from the JSON the page carries.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("chart-data").textContent);
  const scale = 10 ** data.currency_digits;  // minor units (fen) to yuan, for the axis only
  const draw = (id, option) => {
    const chart = echarts.init(document.getElementById(id), null, { renderer: "canvas" });
    chart.setOption({ animation: false, tooltip: { trigger: "axis" }, ...option });
    window.addEventListener("resize", () => chart.resize());
  };
  draw("chart-sales", {
    legend: { data: [data.labels.revenue, data.labels.sales] },
    xAxis: { type: "category", data: data.sales.map((row) => row.month) },
    yAxis: [{ type: "value" }, { type: "value" }],
    series: [
      { name: data.labels.revenue, type: "bar", data: data.sales.map((row) => row.revenue / scale) },
      { name: data.labels.sales, type: "line", yAxisIndex: 1, data: data.sales.map((row) => row.sales) },
    ],
  });
  draw("chart-tiers", {
    tooltip: { trigger: "item" },
    series: [{ type: "pie", radius: ["40%", "70%"], data: data.tiers }],
  });
  draw("chart-buyers", {
    legend: { data: [data.labels.new, data.labels.returning] },
    xAxis: { type: "category", data: data.buyers.map((row) => row.month) },
    yAxis: { type: "value" },
    series: [
      { name: data.labels.new, type: "bar", stack: "buyers", data: data.buyers.map((row) => row.new_buyers) },
      { name: data.labels.returning, type: "bar", stack: "buyers", data: data.buyers.map((row) => row.returning_buyers) },
    ],
  });
});
