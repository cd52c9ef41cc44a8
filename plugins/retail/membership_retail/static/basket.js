// The basket page's chart: the strongest combinations by lift (bars) and their confidence (line),
// drawn with the console's vendored ECharts from the JSON the page carries.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  const data = JSON.parse(document.getElementById("basket-data").textContent);
  const element = document.getElementById("basket-chart");
  if (!data.rules.length) {
    element.hidden = true;
    return;
  }
  element.style.height = `${Math.max(240, 28 * data.rules.length + 80)}px`;
  const chart = echarts.init(element, null, { renderer: "canvas" });
  chart.setOption({
    animation: false,
    tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
    legend: { data: [data.labels.lift, data.labels.confidence] },
    grid: { containLabel: true, left: 8, right: 24 },
    yAxis: { type: "category", data: data.rules },
    xAxis: [{ type: "value", name: data.labels.lift }, { type: "value", name: data.labels.confidence, max: 100 }],
    series: [
      { name: data.labels.lift, type: "bar", data: data.lift },
      { name: data.labels.confidence, type: "line", xAxisIndex: 1, data: data.confidence },
    ],
  });
  window.addEventListener("resize", () => chart.resize());
});
