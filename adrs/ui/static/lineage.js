/* adrs ui, lineage page: a collapsible tree loaded one page of children at a time from
   /api/run/<id>/children (never the whole run); with ?program=N it opens that program's ancestry.
   Text goes in through textContent only. */
"use strict";
(() => {
  const root = document.getElementById("lineage");
  const runId = root.dataset.run, focus = root.dataset.focus ? Number(root.dataset.focus) : null;
  const minimize = root.dataset.direction === "minimize";
  const ref = root.dataset.reference === "" ? null : Number(root.dataset.reference);
  const best = root.dataset.best === "" ? null : Number(root.dataset.best);
  const api = `/api/run/${encodeURIComponent(runId)}`;
  const page = `/run/${encodeURIComponent(runId)}`;
  const PAGE = 50;
  const MARKS = {ok: "✓", timeout: "⏱", patch_error: "⚠", proposal_error: "⚠", duplicate: "=",
                 evaluator_error: "⚠", infra_error: "⚠"};

  function fmt(v) {
    if (v === null || v === undefined) return "—";
    const a = Math.abs(v);
    return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(2) : String(+v.toPrecision(5));
  }
  function colour(node) {
    if (node.status !== "ok" || node.score === null) return "#cbd5e1";
    if (ref === null || best === null || ref === best) return "#16a34a";
    let t = (node.score - ref) / (best - ref);  // 0 at the seed, 1 at the best (either direction)
    if (t < 0) return "#dc2626";
    t = Math.min(1, t);
    return `hsl(${Math.round(35 + 105 * t)}, 70%, ${Math.round(52 - 12 * t)}%)`;
  }
  function span(cls, value, title) {
    const s = document.createElement("span");
    s.className = cls;
    s.textContent = value;
    if (title) s.title = title;
    return s;
  }
  function makeNode(n) {
    const li = document.createElement("li");
    li.className = "node";
    li.dataset.id = n.id;
    const row = document.createElement("div");
    row.className = "row" + (n.id === focus ? " focus" : "");
    const toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "toggle";
    toggle.textContent = n.children ? "▸" : "·";
    toggle.disabled = !n.children;
    toggle.title = n.children ? `${n.children} children` : "no children";
    row.appendChild(toggle);
    if (n.parent_id !== null) row.appendChild(span(`edge k-${n.kind}`, n.kind, "how it was made from its parent"));
    const dot = document.createElement("a");
    dot.className = "score-dot";
    dot.href = `${page}/program/${n.id}`;
    dot.style.background = colour(n);
    dot.textContent = n.status === "ok" ? fmt(n.score) : n.status;
    row.appendChild(dot);
    const link = document.createElement("a");
    link.className = "node-link";
    link.href = `${page}/program/${n.id}`;
    link.textContent = `#${n.id}`;
    row.appendChild(link);
    row.appendChild(span(`mark st-${n.status}`, MARKS[n.status] || "✗", n.status));
    if (Number.isInteger(n.mate_id)) {  // the second parent of a crossover
      const second = document.createElement("a");
      second.className = "mate-link";
      second.href = `${page}/program/${n.mate_id}`;
      second.textContent = `× #${n.mate_id}`;
      second.title = "second parent (crossover)";
      row.appendChild(second);
    }
    const meta = [`cand ${n.seq}`, `island ${n.island}`, `gen ${n.generation}`];
    if (n.children) meta.push(`${n.children} child${n.children === 1 ? "" : "ren"}`);
    row.appendChild(span("meta", meta.join(" · ")));
    if (n.note) row.appendChild(span("note", n.note.length > 90 ? n.note.slice(0, 90) + "…" : n.note, n.note));
    li.appendChild(row);
    const kids = document.createElement("ul");
    kids.className = "kids";
    kids.hidden = true;
    li.appendChild(kids);
    li._node = n;
    li._loaded = 0;
    li._shown = new Set();
    toggle.addEventListener("click", () => expand(li, kids.hidden));
    return li;
  }
  async function loadPage(li) {
    const n = li._node, kids = li.querySelector(":scope > ul.kids");
    const r = await fetch(`${api}/children?parent=${n.id}&offset=${li._loaded}&limit=${PAGE}`);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const data = await r.json();
    kids.querySelector(":scope > li.more")?.remove();
    for (const child of data.nodes) {
      if (!li._shown.has(child.id)) { li._shown.add(child.id); kids.appendChild(makeNode(child)); }
    }
    li._loaded += data.nodes.length;
    if (li._loaded < data.total) {
      const more = document.createElement("li");
      more.className = "more";
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = `show ${Math.min(PAGE, data.total - li._loaded)} more of ${data.total - li._loaded} remaining children`;
      b.addEventListener("click", () => loadPage(li));
      more.appendChild(b);
      kids.appendChild(more);
    }
  }
  async function expand(li, open) {
    const kids = li.querySelector(":scope > ul.kids"), toggle = li.querySelector(":scope > .row > .toggle");
    if (!li._node.children) return;
    kids.hidden = !open;
    toggle.textContent = open ? "▾" : "▸";
    if (open && li._loaded === 0) await loadPage(li);
  }
  async function showRoots() {
    const r = await fetch(`${api}/children?parent=root&limit=${PAGE}`);
    const data = await r.json();
    const ul = document.createElement("ul");
    ul.className = "tree-root";
    for (const n of data.nodes) ul.appendChild(makeNode(n));
    root.appendChild(ul);
    const first = ul.querySelector("li.node");
    if (first) await expand(first, true);
  }
  async function showAncestry() {
    const r = await fetch(`${api}/ancestry/${focus}`);
    if (!r.ok) throw new Error(`HTTP ${r.status}`);
    const chain = (await r.json()).chain;
    let ul = document.createElement("ul");
    ul.className = "tree-root";
    root.appendChild(ul);
    let target = null;
    const path = [];
    chain.forEach((n, i) => {
      const li = makeNode(n);
      ul.appendChild(li);
      target = li;
      const kids = li.querySelector(":scope > ul.kids");
      if (i + 1 < chain.length) {  // open the path only; the other children load on demand
        kids.hidden = false;
        li.querySelector(":scope > .row > .toggle").textContent = "▾";
        li._shown.add(chain[i + 1].id);
        if (n.children > 1) path.push(li);
        ul = kids;
      }
    });
    for (const li of path) {  // after the path's child: a button that loads the other children
      const more = document.createElement("li");
      more.className = "more";
      const b = document.createElement("button");
      b.type = "button";
      const others = li._node.children - 1;
      b.textContent = `show the other ${others === 1 ? "child" : others + " children"} of #${li._node.id}`;
      b.addEventListener("click", () => loadPage(li));
      more.appendChild(b);
      li.querySelector(":scope > ul.kids").appendChild(more);
    }
    if (target) target.scrollIntoView({block: "center"});
  }
  document.getElementById("collapse-all").addEventListener("click", () => {
    for (const kids of root.querySelectorAll("ul.kids")) kids.hidden = true;
    for (const t of root.querySelectorAll(".toggle:not([disabled])")) t.textContent = "▸";
  });
  (focus ? showAncestry() : showRoots())
    .then(() => { document.body.dataset.readyMs = String(Math.round(performance.now())); document.body.dataset.ready = "1"; })
    .catch(err => { root.textContent = String(err); });
})();
