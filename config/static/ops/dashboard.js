// Staff dashboard: stacked bars of deliveries per time bucket, by status and by channel.
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("relay-dashboard-data").textContent);
  const buckets = data.stats.buckets;
  const hourly = data.stats.interval === "hour";
  const labels = buckets.map((b) => {
    const d = new Date(b.start);
    return hourly ? d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : d.toLocaleDateString();
  });
  const colours = {
    sent: "#2e7d32", delivered: "#66bb6a", pending: "#90a4ae", deferred: "#ffb300", scheduled: "#8d6e63",
    suppressed: "#9e9e9e", failed: "#c62828", bounced: "#ef6c00",
    email: "#1565c0", sms: "#6a1b9a", push: "#00838f", in_app: "#f9a825",
  };

  function stacked(canvasId, key) {
    const names = [...new Set(buckets.flatMap((b) => Object.keys(b[key])))].sort();
    new Chart(document.getElementById(canvasId), {
      type: "bar",
      data: {
        labels,
        datasets: names.map((name) => ({
          label: name,
          data: buckets.map((b) => b[key][name] || 0),
          backgroundColor: colours[name] || "#607d8b",
        })),
      },
      options: {
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
      },
    });
  }

  stacked("relay-by-status", "byStatus");
  stacked("relay-by-channel", "byChannel");
})();
