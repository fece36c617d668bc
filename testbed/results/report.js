/* The charts of a testbed HTML report: SVG drawn from the inlined JSON, no library.
   A timeline figure holds one chart per direction sharing one time axis: drag across a chart
   to zoom in, "fault window" zooms to the failover, double-click or "whole trial" zooms out. */
"use strict";
(function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 900, M = { l: 62, r: 14, t: 14, b: 38 };
  const runs = JSON.parse(document.getElementById("chart-data").textContent);
  const SMOOTH_ABOVE = 150, SMOOTH = 5;  // a view wider than 150 buckets shows a 5-bucket moving average
  let clipSeq = 0;

  /* A late send wake-up moves a packet into the next bucket: unsmoothed, a wide view shows
     that jitter as spikes (the PNG timelines smooth the same way). */
  function smooth(ys, width) {
    let acc = 0;
    return ys.map((y, k) => { acc += y - (k >= width ? ys[k - width] : 0); return acc / Math.min(k + 1, width); });
  }

  function el(name, attrs, parent, text) {
    const e = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }

  function ticks(lo, hi, n) {
    const raw = (hi - lo) / n, mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw);
    const out = [];
    for (let v = Math.ceil(lo / step) * step; v <= hi + 1e-9; v += step) out.push(+v.toFixed(6));
    return out;
  }

  /* A chart: series of [x, y] steps, vertical event lines, shaded spans; draw(lo, hi) sets the x domain. */
  function chart(parent, o) {
    const H = o.height, svg = el("svg", { viewBox: `0 0 ${W} ${H}`, class: "chart", role: "img" }, parent);
    const pw = W - M.l - M.r, ph = H - M.t - M.b, clip = `clip${++clipSeq}`;
    el("rect", { x: M.l, y: M.t, width: pw, height: ph }, el("clipPath", { id: clip }, el("defs", {}, svg)));
    // the scale fits the smoothed traffic: a lone late-packet spike in a 10 ms bucket is clipped
    const ymax = o.ymax || Math.max(1, ...o.series.flatMap((s) => (s.smoothed || s.points).map((p) => p[1]))) * 1.25;
    const axes = el("g", {}, svg), plot = el("g", { "clip-path": `url(#${clip})` }, svg);
    const band = el("rect", { y: M.t, height: ph, class: "select", visibility: "hidden" }, svg);
    let dom = o.domain.slice();
    const X = (x) => M.l + ((x - dom[0]) / (dom[1] - dom[0])) * pw, Y = (y) => M.t + ph - (y / ymax) * ph;
    const invX = (px) => dom[0] + ((px - M.l) / pw) * (dom[1] - dom[0]);

    function draw(lo, hi) {
      dom = [lo, hi];
      svg.dataset.domain = `${lo.toFixed(1)},${hi.toFixed(1)}`;  // the range shown, for a reader's tools and tests
      axes.replaceChildren();
      plot.replaceChildren();
      el("rect", { x: M.l, y: M.t, width: pw, height: ph, class: "frame" }, axes);
      for (const t of ticks(lo, hi, 8)) {
        el("line", { x1: X(t), x2: X(t), y1: M.t, y2: M.t + ph, class: "grid" }, axes);
        el("text", { x: X(t), y: M.t + ph + 14, class: "tick", "text-anchor": "middle" }, axes, String(t));
      }
      for (const t of ticks(0, ymax, 4)) {
        el("line", { x1: M.l, x2: M.l + pw, y1: Y(t), y2: Y(t), class: "grid" }, axes);
        el("text", { x: M.l - 5, y: Y(t) + 4, class: "tick", "text-anchor": "end" }, axes, String(t));
      }
      el("text", { x: M.l + pw / 2, y: H - 4, class: "label", "text-anchor": "middle" }, axes, o.xlabel);
      el("text", { x: 12, y: M.t + ph / 2, class: "label", "text-anchor": "middle",
                   transform: `rotate(-90 12 ${M.t + ph / 2})` }, axes, o.ylabel);
      for (const s of o.spans || [])
        el("rect", { x: X(s.x0), y: M.t, width: Math.max(1, X(s.x1) - X(s.x0)), height: ph,
                     fill: s.colour, "fill-opacity": 0.15 }, plot);
      o.series.forEach((s, i) => {
        const p = s.smoothed && hi - lo > SMOOTH_ABOVE * s.dx ? s.smoothed : s.points;
        let d = `M${X(p[0][0]).toFixed(1)},${Y(o.ecdf ? 0 : p[0][1]).toFixed(1)}`;
        for (const [x, y] of p) d += `H${X(x).toFixed(1)}V${Y(y).toFixed(1)}`;
        if (!o.ecdf) d += `H${X(p[p.length - 1][0] + s.dx).toFixed(1)}`;
        el("path", { d, fill: "none", stroke: s.colour, "stroke-width": Math.max(1, 3.2 - 0.8 * i),
                     "stroke-dasharray": s.dash || "" }, plot);
        if (o.ecdf) for (const [x, y] of p) el("circle", { cx: X(x), cy: Y(y), r: 3, fill: s.colour }, plot);
      });
      let lastX = -1e9;
      for (const e of o.events || []) {
        if (e.x < lo || e.x > hi) continue;
        el("line", { x1: X(e.x), x2: X(e.x), y1: M.t, y2: M.t + ph, stroke: e.colour,
                     "stroke-dasharray": e.dash, class: "event" }, plot);
        if (X(e.x) - lastX > 14) {
          el("text", { x: X(e.x) - 3, y: M.t + 4, class: "evlabel", fill: e.colour, "text-anchor": "end",
                       transform: `rotate(-90 ${X(e.x) - 3} ${M.t + 4})` }, plot, e.label);
          lastX = X(e.x);
        }
      }
    }

    if (o.onZoom) {  // drag to select a range; double-click to reset
      const px = (ev) => { const r = svg.getBoundingClientRect(); return ((ev.clientX - r.left) / r.width) * W; };
      let start = null;
      svg.addEventListener("mousedown", (ev) => { start = px(ev); ev.preventDefault(); });
      svg.addEventListener("mousemove", (ev) => {
        if (start === null) return;
        const a = Math.min(start, px(ev)), b = Math.max(start, px(ev));
        band.setAttribute("x", a); band.setAttribute("width", b - a); band.setAttribute("visibility", "visible");
      });
      window.addEventListener("mouseup", (ev) => {
        if (start === null) return;
        const a = Math.min(start, px(ev)), b = Math.max(start, px(ev));
        start = null;
        band.setAttribute("visibility", "hidden");
        if (b - a > 4) o.onZoom(invX(Math.max(a, M.l)), invX(Math.min(b, M.l + pw)));
      });
      svg.addEventListener("dblclick", () => o.onZoom(o.domain[0], o.domain[1]));
    }
    draw(dom[0], dom[1]);
    return { draw };
  }

  function legend(parent, items) {
    const ul = document.createElement("ul");
    ul.className = "legend";
    for (const it of items) {
      const li = document.createElement("li"), sw = document.createElement("span");
      sw.className = "swatch";
      sw.style.borderTop = `3px ${it.dash ? "dashed" : "solid"} ${it.colour}`;
      li.append(sw, document.createTextNode(it.name));
      ul.appendChild(li);
    }
    parent.appendChild(ul);
  }

  function button(parent, text, onclick) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    b.addEventListener("click", onclick);
    parent.appendChild(b);
    return b;
  }

  function timeline(fig, t) {
    const cap = document.createElement("figcaption");
    cap.textContent = `Trial ${t.trial} (${t.ok ? "pass" : "FAIL"})`;
    fig.appendChild(cap);
    const bar = document.createElement("div");
    bar.className = "zoom";
    fig.appendChild(bar);
    const all = t.directions.flatMap((d) => d.series.flatMap((s) => [s.x0, s.x0 + s.dx * s.ys.length]));
    const full = [Math.min(...all), Math.max(...all)];
    const charts = [];
    const zoom = (lo, hi) => charts.forEach((c) => c.draw(lo, hi));
    button(bar, "whole trial", () => zoom(full[0], full[1])).className = "zoom-full";
    button(bar, "fault window", () => zoom(t.window[0], t.window[1])).className = "zoom-fault";
    const paths = new Map();
    for (const d of t.directions) {
      const h = document.createElement("div");
      h.className = "direction";
      h.textContent = d.title;
      fig.appendChild(h);
      const series = d.series.map((s) => {
        paths.set(s.name, s.colour);
        const at = (ys) => ys.map((y, k) => [s.x0 + k * s.dx, y]);
        return { ...s, points: at(s.ys), smoothed: at(smooth(s.ys, SMOOTH)) };
      });
      charts.push(chart(fig, { height: 230, domain: full, series, spans: d.spans, events: t.events,
                               xlabel: "time since the fault was issued (ms)", ylabel: "probe packets/s",
                               onZoom: zoom }));
    }
    const kinds = new Map(t.events.map((e) => [e.kind, e]));
    legend(fig, [...[...paths].map(([name, colour]) => ({ name, colour })),
                 ...[...kinds.values()].map((e) => ({ name: e.kind, colour: e.colour, dash: e.dash })),
                 { name: "longest outage", colour: "#f4bebe" }, { name: "longest failback outage", colour: "#c8e6c8" }]);
  }

  function ecdf(fig, series) {
    if (!series.length) { fig.textContent = "no outages measured"; return; }
    const xmax = Math.max(...series.flatMap((s) => s.xs)) * 1.08 || 1;
    chart(fig, { height: 320, domain: [0, xmax], ymax: 1.02, ecdf: true, xlabel: "outage (ms)",
                 ylabel: "fraction of trials ≤ x",
                 series: series.map((s) => ({ ...s, points: s.xs.map((x, k) => [x, s.ys[k]]) })) });
    legend(fig, series);
  }

  document.querySelectorAll("figure.ecdf").forEach((fig) => ecdf(fig, runs[+fig.dataset.run].ecdf));
  document.querySelectorAll("figure.timeline").forEach((fig) => {
    const t = runs[+fig.dataset.run].timelines.find((x) => x.trial === +fig.dataset.trial);
    if (t) timeline(fig, t);
  });
  document.body.dataset.charts = "drawn";
})();
