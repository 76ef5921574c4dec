// The console's charts: the page's embedded JSON (#chart-data) drawn with chart.js.
/* global Chart, document */
(function drawCharts() {
  const element = document.getElementById('chart-data');
  if (!element || typeof Chart === 'undefined') return;
  const data = JSON.parse(element.textContent);
  const palette = ['#2563eb', '#16a34a', '#9333ea', '#ea580c', '#0891b2', '#be123c'];
  Chart.defaults.animation = false;
  Chart.defaults.maintainAspectRatio = false;

  if (data.apiCalls) {
    const { labels, apis } = data.apiCalls;
    new Chart(document.getElementById('api-calls-chart'), {
      type: 'line',
      data: {
        labels,
        datasets: apis.map((a, i) => ({
          label: `${a.api} calls`,
          data: a.calls,
          borderColor: palette[i % palette.length],
          pointRadius: 0,
          tension: 0.2,
        })),
      },
      options: { plugins: { title: { display: true, text: 'API calls per 5 minutes' } } },
    });
    new Chart(document.getElementById('api-problems-chart'), {
      type: 'bar',
      data: {
        labels,
        datasets: apis.flatMap((a, i) => [
          {
            label: `${a.api} 429`,
            data: a.throttled,
            backgroundColor: palette[i % palette.length],
          },
          {
            label: `${a.api} errors`,
            data: a.errors,
            backgroundColor: palette[(i + 3) % palette.length],
          },
        ]),
      },
      options: {
        plugins: { title: { display: true, text: '429s and errors per 5 minutes' } },
        scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } },
      },
    });
  }

  if (data.responseTimes) {
    const r = data.responseTimes;
    const flat = (value) => r.labels.map(() => value);
    new Chart(document.getElementById('response-chart'), {
      type: 'line',
      data: {
        labels: r.labels,
        datasets: [
          { label: 'median hours', data: r.median, borderColor: palette[0] },
          { label: 'slowest hours', data: r.slowest, borderColor: palette[3] },
          {
            label: '72 h hot-lead window',
            data: flat(r.hotWindowHours),
            borderColor: '#f59e0b',
            borderDash: [6, 4],
            pointRadius: 0,
          },
          {
            label: '14-day expiry',
            data: flat(r.expiryHours),
            borderColor: '#dc2626',
            borderDash: [2, 4],
            pointRadius: 0,
          },
        ],
      },
      options: {
        plugins: { title: { display: true, text: 'Response time per week of receipt (hours)' } },
        scales: { y: { beginAtZero: true } },
      },
    });
  }
  document.body.dataset.chartsReady = 'true';
})();
