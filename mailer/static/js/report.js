// Campaign report charts (Chart.js 4, vendored). Data comes from the JSON in #report-data;
// the page stays readable without JavaScript (the same figures are in its tables).
(function () {
  "use strict";

  function shortUrl(url) {
    const plain = url.replace(/^https?:\/\//, "");
    return plain.length > 48 ? plain.slice(0, 47) + "…" : plain;
  }

  // The chart labels in the page's language, from #report-labels (English when it is missing).
  let words = {};
  const say = (key, english) => words[key] || english;

  function timelineChart(canvas, t) {
    const series = (label, values, color, extra) =>
      Object.assign({ label: label, data: values, borderColor: color, backgroundColor: color,
        pointRadius: 0, borderWidth: 2, tension: 0.2 }, extra || {});
    return new Chart(canvas, {
      type: "line",
      data: {
        labels: t.labels.map((l) => l.slice(5)),
        datasets: [
          series(say("opens_people", "Opens (people)"), t.opens, "#0969da"),
          series(say("clicks_people", "Clicks (people)"), t.clicks, "#1a7f37"),
          series(say("opens_machines", "Opens (machines)"), t.machine_opens, "#8c959f", { borderDash: [4, 4], hidden: true }),
          series(say("clicks_machines", "Clicks (machines)"), t.machine_clicks, "#bf8700", { borderDash: [4, 4], hidden: true }),
        ],
      },
      options: {
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { ticks: { maxTicksLimit: 14, maxRotation: 0 } },
          y: { beginAtZero: true, ticks: { precision: 0 } },
        },
      },
    });
  }

  function linksChart(canvas, links) {
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: links.map((l) => shortUrl(l.url)),
        datasets: [
          { label: say("clicks_people", "Clicks (people)"), data: links.map((l) => l.human), backgroundColor: "#1a7f37" },
          { label: say("all_clicks", "All clicks"), data: links.map((l) => l.clicks), backgroundColor: "#afb8c1" },
        ],
      },
      options: {
        indexAxis: "y",
        maintainAspectRatio: false,
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { tooltip: { callbacks: { title: (items) => links[items[0].dataIndex].url } } },
      },
    });
  }

  function draw() {
    const source = document.getElementById("report-data");
    if (!source || typeof Chart === "undefined") return;
    const data = JSON.parse(source.textContent);
    const labels = document.getElementById("report-labels");
    if (labels) words = JSON.parse(labels.textContent);
    const timeline = document.getElementById("timeline-chart");
    if (timeline && !Chart.getChart(timeline)) timelineChart(timeline, data.timeline);
    const links = document.getElementById("links-chart");
    if (links && !Chart.getChart(links)) linksChart(links, data.links);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
