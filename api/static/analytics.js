// The analytics page's charts, drawn with the vendored Chart.js (chart.umd.min.js) from the figures the page
// carries as JSON in #analytics-data's data-figures attribute. A static file: the CSP allows no inline script.
(() => {
  "use strict";

  const PALETTE = ["#2f5fd0", "#d9480f", "#2b8a3e", "#9c36b5", "#e8590c", "#0b7285", "#c2255c", "#5c940d"];
  const STAGES = [["acknowledged", "Acknowledged"], ["picked", "Picked"], ["ready", "Ready"], ["collected", "Collected"]];

  function fractionDigits(currency) {
    try {
      return new Intl.NumberFormat("en", {style: "currency", currency}).resolvedOptions().maximumFractionDigits;
    } catch (error) {
      return 2;
    }
  }

  function major(amount, currency) {
    return amount / 10 ** fractionDigits(currency);  // minor units to the currency's main unit, for display only
  }

  function distinct(values) {
    return [...new Set(values)].sort();
  }

  function sumBy(rows, key, value, filter) {
    const sums = new Map();
    for (const row of rows) {
      if (filter && !filter(row)) continue;
      sums.set(row[key], (sums.get(row[key]) || 0) + row[value]);
    }
    return sums;
  }

  function draw(id, config) {
    const canvas = document.getElementById(id);
    if (!canvas) return;
    const box = canvas.parentElement;
    box.style.position = "relative";  // Chart.js sizes itself to its box; CSSOM, which the CSP allows
    box.style.height = "260px";
    config.options = Object.assign({responsive: true, maintainAspectRatio: false, animation: false}, config.options);
    new window.Chart(canvas, config);
    canvas.dataset.rendered = "true";
  }

  function ordersAndRevenueByDay(data) {
    const days = distinct(data.by_day.map((r) => r.day));
    const orders = sumBy(data.by_day, "day", "orders");
    const datasets = [{type: "bar", label: "Orders", data: days.map((d) => orders.get(d) || 0),
                       backgroundColor: "#c5d3f6", yAxisID: "orders"}];
    distinct(data.by_day.map((r) => r.currency)).forEach((currency, i) => {
      const revenue = sumBy(data.by_day, "day", "revenue", (r) => r.currency === currency);
      datasets.push({type: "line", label: `Revenue (${currency})`, yAxisID: "revenue",
                     data: days.map((d) => major(revenue.get(d) || 0, currency)),
                     borderColor: PALETTE[i % PALETTE.length], backgroundColor: PALETTE[i % PALETTE.length]});
    });
    draw("chart-by-day", {data: {labels: days, datasets}, options: {scales: {
      orders: {position: "left", beginAtZero: true, ticks: {precision: 0}},
      revenue: {position: "right", beginAtZero: true, grid: {drawOnChartArea: false}},
    }}});
  }

  function ordersByChannel(data) {
    const orders = sumBy(data.by_channel, "channel", "orders");
    const channels = distinct(data.by_channel.map((r) => r.channel));
    draw("chart-by-channel", {type: "doughnut", data: {labels: channels, datasets: [{
      data: channels.map((c) => orders.get(c)), backgroundColor: channels.map((_, i) => PALETTE[i % PALETTE.length]),
    }]}});
  }

  function revenueByStore(data) {
    const stores = distinct(data.by_store.map((r) => r.store));
    const datasets = distinct(data.by_store.map((r) => r.currency)).map((currency, i) => {
      const revenue = sumBy(data.by_store, "store", "revenue", (r) => r.currency === currency);
      return {label: `Revenue (${currency})`, data: stores.map((s) => major(revenue.get(s) || 0, currency)),
              backgroundColor: PALETTE[i % PALETTE.length]};
    });
    draw("chart-by-store", {type: "bar", data: {labels: stores, datasets}, options: {scales: {y: {beginAtZero: true}}}});
  }

  function breaches(data) {
    const stores = distinct(data.breach_rates.map((r) => r.store_id));
    const datasets = distinct(data.breaches.map((r) => r.alert_type)).map((type, i) => {
      const counts = sumBy(data.breaches, "store_id", "breaches", (r) => r.alert_type === type);
      return {label: type.replaceAll("_", " "), data: stores.map((s) => counts.get(s) || 0),
              backgroundColor: PALETTE[i % PALETTE.length]};
    });
    draw("chart-breaches", {type: "bar", data: {labels: stores, datasets}, options: {scales: {
      x: {stacked: true}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}},
    }}});
  }

  function stageTimes(data) {
    const rows = data.stage_times.filter((r) => r.store_id !== "*");
    const datasets = STAGES.map(([stage, label], i) => ({
      label, backgroundColor: PALETTE[i % PALETTE.length],
      data: rows.map((r) => r[stage].median_seconds === null ? null : r[stage].median_seconds / 60),
    }));
    draw("chart-stage-times", {type: "bar", data: {labels: rows.map((r) => r.store_id), datasets},
                               // Logarithmic: collection takes days where acknowledgement takes minutes.
                               options: {scales: {y: {type: "logarithmic", title: {display: true, text: "minutes"}}}}});
  }

  function start() {
    const source = document.getElementById("analytics-data");
    if (!source || !window.Chart) return;
    const data = JSON.parse(source.dataset.figures);
    ordersAndRevenueByDay(data);
    ordersByChannel(data);
    revenueByStore(data);
    breaches(data);
    stageTimes(data);
    document.body.dataset.chartsReady = "true";
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
