/* adrs ui: small SVG charts (step lines, scatter, stacked bars) drawn from JSON; no dependencies.
   Text goes in through textContent only, never innerHTML. */
"use strict";
const Charts = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const PALETTE = ["#2563eb", "#db2777", "#059669", "#d97706", "#7c3aed", "#0891b2", "#65a30d", "#dc2626"];
  const STATUS_COLORS = {ok: "#16a34a", invalid: "#f59e0b", below_threshold: "#fbbf24", error: "#dc2626",
    crash: "#b91c1c", timeout: "#9333ea", memory: "#c026d3", patch_error: "#64748b",
    proposal_error: "#94a3b8", evaluator_error: "#0f172a", infra_error: "#475569", syntax_error: "#ef4444",
    bad_output: "#f97316", duplicate: "#cbd5e1"};

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }
  function text(parent, x, y, value, cls, anchor) {
    const t = el("text", {x, y, class: cls || "", "text-anchor": anchor || "start"}, parent);
    t.textContent = value;
    return t;
  }
  function ticks(lo, hi, count) {
    if (!(hi > lo)) return [lo];
    const raw = (hi - lo) / count, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map(m => m * mag).find(s => s >= raw) || raw;
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) out.push(+v.toPrecision(12));
    return out;
  }
  function fmt(v) {
    if (v === null || v === undefined) return "—";
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1e5 || a < 1e-3)) return v.toExponential(2);
    return (+v.toPrecision(5)).toString();
  }
  function fmtTime(s) {
    if (s < 90) return fmt(s) + "s";
    if (s < 5400) return s % 60 ? `${Math.floor(s / 60)}m${String(Math.round(s % 60)).padStart(2, "0")}` : `${s / 60}m`;
    return s % 3600 ? fmt(s / 3600) + "h" : `${s / 3600}h`;
  }
  const TIME_STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600, 43200, 86400];
  function timeTicks(lo, hi, count) {
    const step = TIME_STEPS.find(s => (hi - lo) / s <= count) || 86400 * Math.ceil((hi - lo) / count / 86400);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(v);
    return out;
  }
  function logTicks(lo, hi) {  // lo, hi in log10 units
    const out = [];
    for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
      for (const m of [1, 2, 5]) {
        const v = Math.log10(m) + e;
        if (v >= lo - 1e-9 && v <= hi + 1e-9) out.push(v);
      }
    }
    return out.length >= 2 ? out : ticks(lo, hi, 4);
  }
  function frame(container, opts) {
    container.textContent = "";
    const width = Math.max(320, container.clientWidth || 640), height = opts.height || 300;
    const m = {l: 64, r: 16, t: 12, b: 38};
    const svg = el("svg", {viewBox: `0 0 ${width} ${height}`, width, height, class: "chart-svg", role: "img"},
                   container);
    const plot = {x0: m.l, x1: width - m.r, y0: height - m.b, y1: m.t};
    return {svg, plot, width, height};
  }
  function axes(svg, plot, xs, ys, opts) {
    const [xlo, xhi] = xs, [ylo, yhi] = ys;
    const sx = v => plot.x0 + (xhi > xlo ? (v - xlo) / (xhi - xlo) : 0.5) * (plot.x1 - plot.x0);
    const sy = v => plot.y0 - (yhi > ylo ? (v - ylo) / (yhi - ylo) : 0.5) * (plot.y0 - plot.y1);
    const grid = el("g", {class: "grid-lines"}, svg);
    const yfmt = opts.log ? (v => fmt(Math.pow(10, v))) : (opts.yfmt || fmt);
    for (const v of opts.log ? logTicks(ylo, yhi) : ticks(ylo, yhi, 5)) {
      el("line", {x1: plot.x0, x2: plot.x1, y1: sy(v), y2: sy(v)}, grid);
      text(svg, plot.x0 - 6, sy(v) + 4, yfmt(v), "tick", "end");
    }
    for (const v of opts.xfmt === fmtTime ? timeTicks(xlo, xhi, 6) : ticks(xlo, xhi, 6)) {
      el("line", {x1: sx(v), x2: sx(v), y1: plot.y0, y2: plot.y0 + 4, class: "tick-mark"}, svg);
      text(svg, sx(v), plot.y0 + 16, (opts.xfmt || fmt)(v), "tick", "middle");
    }
    el("line", {x1: plot.x0, x2: plot.x1, y1: plot.y0, y2: plot.y0, class: "axis"}, svg);
    el("line", {x1: plot.x0, x2: plot.x0, y1: plot.y0, y2: plot.y1, class: "axis"}, svg);
    if (opts.xlabel) text(svg, (plot.x0 + plot.x1) / 2, plot.y0 + 32, opts.xlabel, "label", "middle");
    return {sx, sy};
  }
  function legend(container, items) {
    const box = document.createElement("div");
    box.className = "legend";
    for (const item of items) {
      const span = document.createElement("span");
      const sw = document.createElement("i");
      sw.className = "sw " + (item.dash ? "dash" : item.bar ? "bar" : "");
      sw.style.borderColor = item.color;
      if (item.bar) sw.style.background = item.color;
      span.appendChild(sw);
      span.appendChild(document.createTextNode(item.name));
      box.appendChild(span);
    }
    container.appendChild(box);
  }

  /* Step lines (best so far), optional scatter of candidates and horizontal reference lines.
     opts: {series:[{name,x,y,ids,color,width}], points:{x,y,ids}, hlines:[{name,y}], xlabel, xfmt, href(id)} */
  function steps(container, opts) {
    const all = opts.series.flatMap(s => s.y).concat((opts.hlines || []).map(h => h.y),
                                                      opts.points ? opts.points.y : []);
    const positive = all.length && all.every(v => v > 0);
    if (positive && Math.max(...all) / Math.min(...all) > 20) {  // spread over decades: log scale
      const lg = v => Math.log10(v);
      opts = {...opts, log: true,
              series: opts.series.map(s => ({...s, y: s.y.map(lg)})),
              hlines: (opts.hlines || []).map(h => ({...h, y: lg(h.y), value: h.y})),
              points: opts.points && {...opts.points, y: opts.points.y.map(lg), value: opts.points.y}};
    }
    const {svg, plot} = frame(container, opts);
    const series = opts.series.filter(s => s.x.length);
    const xsAll = series.flatMap(s => s.x).concat(opts.points ? opts.points.x : []);
    // The y range covers the main curves and the baselines; island curves and candidates beyond
    // it are drawn at the edge (hollow), so that a few awful candidates cannot flatten the curve.
    const core = series.filter(s => s.main !== false).flatMap(s => s.y).concat((opts.hlines || []).map(h => h.y));
    let yl = Math.min(...core), yh = Math.max(...core);
    if (!xsAll.length || !isFinite(yl)) {
      const p = document.createElement("p"); p.className = "empty"; p.textContent = "no correct program yet";
      container.textContent = ""; container.appendChild(p); return;
    }
    const pad = (yh - yl) * 0.06 || Math.abs(yh) * 0.1 || 1;
    const xl = Math.min(...xsAll), xh = Math.max(...xsAll);
    const {sx, sy} = axes(svg, plot, [xl, xh > xl ? xh : xl + 1], [yl - pad, yh + pad], opts);
    const clampY = v => Math.max(plot.y1, Math.min(plot.y0, sy(v)));
    if (opts.points) {
      const g = el("g", {class: "points"}, svg);
      const {x, y, ids} = opts.points;
      for (let i = 0; i < x.length; i++) {
        const out = sy(y[i]) < plot.y1 || sy(y[i]) > plot.y0;
        const parent = opts.href ? el("a", {href: opts.href(ids[i])}, g) : g;
        const c = el("circle", {cx: sx(x[i]), cy: clampY(y[i]), r: out ? 2.5 : 2.2,
                                class: out ? "pt clipped" : "pt"}, parent);
        el("title", {}, c).textContent = `#${ids[i]}: ${fmt(opts.points.value ? opts.points.value[i] : y[i])}`;
      }
    }
    for (const h of opts.hlines || []) {
      const yy = sy(h.y);
      el("line", {x1: plot.x0, x2: plot.x1, y1: yy, y2: yy, class: "baseline"}, svg);
      text(svg, plot.x1 - 4, yy - 4, `${h.name} ${fmt(h.value ?? h.y)}`, "baseline-label", "end");
    }
    series.forEach((s, k) => {
      let d = "";
      for (let i = 0; i < s.x.length; i++) {
        const X = sx(s.x[i]), Y = clampY(s.y[i]);
        d += i === 0 ? `M${X},${Y}` : `H${X}V${Y}`;
      }
      el("path", {d, class: "step", stroke: s.color || PALETTE[k % PALETTE.length],
                  "stroke-width": s.width || 1.5, fill: "none", "data-name": s.name}, svg);
    });
    const items = series.map((s, k) => ({name: s.name, color: s.color || PALETTE[k % PALETTE.length]}));
    if (opts.hlines && opts.hlines.length) items.push({name: "baselines (train)", color: "#6b7280", dash: true});
    if (opts.points) items.push({name: "candidates", color: "#9ca3af"});
    legend(container, items);
  }

  /* Stacked bars per time bin. opts: {t:[bin starts], width, stacks:{name:[counts]}, colors, xlabel} */
  function bars(container, opts) {
    const {svg, plot} = frame(container, opts);
    const names = Object.keys(opts.stacks);
    const n = opts.t.length;
    const totals = opts.t.map((_, i) => names.reduce((a, k) => a + opts.stacks[k][i], 0));
    const top = Math.max(1, ...totals);
    const {sx, sy} = axes(svg, plot, [0, (opts.t[n - 1] || 0) + opts.width], [0, top],
                          {...opts, yfmt: v => (Number.isInteger(v) ? String(v) : "")});
    for (let i = 0; i < n; i++) {
      let base = 0;
      for (const k of names) {
        const v = opts.stacks[k][i];
        if (!v) continue;
        const r = el("rect", {x: sx(opts.t[i]) + 0.5, width: Math.max(1, sx(opts.t[i] + opts.width) - sx(opts.t[i]) - 1),
                              y: sy(base + v), height: sy(base) - sy(base + v),
                              fill: (opts.colors || {})[k] || "#9ca3af"}, svg);
        el("title", {}, r).textContent = `${k}: ${v}`;
        base += v;
      }
    }
    legend(container, names.map(k => ({name: k, color: (opts.colors || {})[k] || "#9ca3af", bar: true})));
  }

  /* One plain line. opts: {x, y, color, xlabel, xfmt, yfmt, name} */
  function line(container, opts) {
    const {svg, plot} = frame(container, opts);
    const yh = Math.max(...opts.y, 0), xh = Math.max(...opts.x, 1);
    const {sx, sy} = axes(svg, plot, [0, xh], [0, yh || 1], opts);
    const d = opts.x.map((x, i) => `${i ? "L" : "M"}${sx(x)},${sy(opts.y[i])}`).join("");
    el("path", {d, class: "step", stroke: opts.color || PALETTE[0], "stroke-width": 1.8, fill: "none"}, svg);
    legend(container, [{name: opts.name, color: opts.color || PALETTE[0]}]);
  }

  return {steps, bars, line, fmt, fmtTime, PALETTE, STATUS_COLORS};
})();
