/* adrs ui, run page: draws the curves from /api/run/<id>/progress; while the run is still running,
   redraws them and refreshes the facts and tables every few seconds. */
"use strict";
(() => {
  const root = document.getElementById("run");
  const runId = root.dataset.run;
  const base = "/run/" + encodeURIComponent(runId);
  const href = id => `${base}/program/${id}`;
  const OVERALL = "#111827";

  function islandSeries(list) {
    return list.length > 1 ? list.map((c, k) => ({...c, color: Charts.PALETTE[k % Charts.PALETTE.length], width: 1.2, main: false})) : [];
  }
  function draw(p) {
    const hlines = Object.entries(p.baselines).map(([name, y]) => ({name, y}));
    Charts.steps(document.getElementById("chart-seq"), {
      series: [...islandSeries(p.islands), {...p.best, name: "best, all islands", color: OVERALL, width: 2.4}],
      points: {x: p.points.seq, y: p.points.score, ids: p.points.id}, hlines, href,
      xlabel: "candidate"});
    Charts.steps(document.getElementById("chart-time"), {
      series: [...islandSeries(p.islands_time), {...p.best_time, name: "best, all islands", color: OVERALL, width: 2.4}],
      points: {x: p.points.t, y: p.points.score, ids: p.points.id}, hlines, href,
      xlabel: "time since start", xfmt: Charts.fmtTime});
    Charts.bars(document.getElementById("chart-status"), {
      t: p.status_bins.t, width: p.status_bins.width, stacks: p.status_bins.counts, height: 220,
      colors: Charts.STATUS_COLORS, xlabel: "time since start", xfmt: Charts.fmtTime});
    const llm = document.getElementById("chart-llm");
    llm.textContent = "";
    if (!p.llm.total_calls) {
      const note = document.createElement("p");
      note.className = "empty";
      note.textContent = "No LLM calls in this run (offline mutator or none made yet).";
      llm.appendChild(note);
      return;
    }
    const parts = ["calls", "tokens", "cost"].map(name => {
      const div = document.createElement("div");
      div.className = "third";
      llm.appendChild(div);
      return div;
    });
    Charts.bars(parts[0], {t: p.llm.t, width: p.status_bins.width, stacks: {"calls per bin": p.llm.calls},
                           colors: {"calls per bin": "#2563eb"}, height: 200, xfmt: Charts.fmtTime});
    Charts.line(parts[1], {x: p.llm.t, y: p.llm.tokens, name: "tokens (cumulative)", height: 200,
                           xfmt: Charts.fmtTime, color: "#7c3aed"});
    Charts.line(parts[2], {x: p.llm.t, y: p.llm.cost, name: "$ (cumulative)", height: 200,
                           xfmt: Charts.fmtTime, yfmt: v => "$" + Charts.fmt(v), color: "#059669"});
  }
  async function refreshParts() {
    const html = await (await fetch(location.pathname, {headers: {Accept: "text/html"}})).text();
    const fresh = new DOMParser().parseFromString(html, "text/html");
    for (const id of ["live-part", "tables-part"]) {
      const now = document.getElementById(id), next = fresh.getElementById(id);
      if (now && next) now.replaceWith(document.adoptNode(next));
    }
  }
  let last = null;
  async function load() {
    const response = await fetch(`/api/run/${encodeURIComponent(runId)}/progress`);
    if (!response.ok) throw new Error(`progress: HTTP ${response.status}`);
    const p = await response.json();
    const key = `${p.candidates}/${p.status}/${p.llm.total_calls}`;
    if (key !== last) {
      if (last !== null) await refreshParts();
      last = key;
      draw(p);
    }
    if (!document.body.dataset.ready) {  // usable: first curves drawn (tests and benchmarks wait for it)
      document.body.dataset.readyMs = String(Math.round(performance.now()));
      document.body.dataset.ready = "1";
    }
    if (p.status === "running") setTimeout(() => load().catch(console.error), 3000);
  }
  let resized = null;
  window.addEventListener("resize", () => { clearTimeout(resized); resized = setTimeout(() => { last = null; load(); }, 200); });
  load().catch(err => { document.getElementById("chart-seq").textContent = String(err); });
})();
