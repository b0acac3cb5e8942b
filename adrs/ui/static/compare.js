/* adrs ui, compare page: the best-so-far curves of two runs on shared axes. */
"use strict";
(async () => {
  const root = document.getElementById("compare");
  const ids = root.dataset.runs.split("\n");
  const data = await Promise.all(ids.map(async id => {
    const r = await fetch(`/api/run/${encodeURIComponent(id)}/progress`);
    if (!r.ok) throw new Error(`${id}: HTTP ${r.status}`);
    return r.json();
  }));
  const colors = ["#2563eb", "#db2777"];
  Charts.steps(document.getElementById("chart-seq"), {
    series: data.map((p, k) => ({...p.best, name: ids[k], color: colors[k], width: 2.2})), xlabel: "candidate"});
  Charts.steps(document.getElementById("chart-time"), {
    series: data.map((p, k) => ({...p.best_time, name: ids[k], color: colors[k], width: 2.2})),
    xlabel: "time since start", xfmt: Charts.fmtTime});
  document.body.dataset.readyMs = String(Math.round(performance.now())); document.body.dataset.ready = "1";
})().catch(err => { document.getElementById("chart-seq").textContent = String(err); });
