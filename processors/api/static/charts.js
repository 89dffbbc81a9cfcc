// Inline SVG charts drawn here (no chart library, nothing from a CDN): grouped bars and lines.
// Every mark carries data-key, data-series and data-value, and a <title> a screen reader and a mouse can read.
"use strict";
(function (root) {
  const NS = "http://www.w3.org/2000/svg";
  const W = 640, H = 220, LEFT = 8, RIGHT = 40, TOP = 14, BOTTOM = 46;

  function svgEl(tag, attrs, text) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function frame(label) {
    const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label, class: "chart" });
    svg.append(svgEl("title", {}, label));
    svg.append(svgEl("line", { x1: LEFT, x2: W - RIGHT, y1: H - BOTTOM, y2: H - BOTTOM, class: "axis" }));
    return svg;
  }

  function legend(series) {
    const box = document.createElement("div");
    box.className = "chart-legend";
    for (const s of series) {
      const item = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = s.colour;
      item.append(swatch, document.createTextNode(s.name));
      box.append(item);
    }
    return box;
  }

  function xLabel(svg, x, text) {
    // Long axes (days) get every label, slanted, so that none is hidden.
    svg.append(svgEl("text", { x, y: H - BOTTOM + 12, class: "tick", transform: `rotate(30 ${x} ${H - BOTTOM + 12})` }, text));
  }

  function scaleOf(items, series) {
    let max = 0;
    for (const item of items) for (const s of series) max = Math.max(max, Number(s.value(item)) || 0);
    return max > 0 ? max : 1;
  }

  /** Grouped bars: one group per item (a theme, a year, a month), one bar per series. */
  function bars(label, items, series, emptyText) {
    const wrap = document.createElement("figure");
    const svg = frame(label);
    wrap.append(svg);
    if (!items.length) {
      svg.append(svgEl("text", { x: W / 2, y: H / 2, class: "empty", "text-anchor": "middle" }, emptyText));
      return wrap;
    }
    const max = scaleOf(items, series);
    const slot = (W - LEFT - RIGHT) / items.length;
    const barW = Math.max(2, (slot * 0.8) / series.length);
    const plotH = H - TOP - BOTTOM;
    items.forEach((item, i) => {
      const x0 = LEFT + i * slot + slot * 0.1;
      series.forEach((s, j) => {
        const raw = s.value(item);
        const v = raw === null || raw === undefined ? null : Number(raw);
        const h = v === null ? 0 : (v / max) * plotH;
        const rect = svgEl("rect", {
          x: x0 + j * barW, y: H - BOTTOM - h, width: barW - 1, height: Math.max(0, h), fill: s.colour,
          "data-key": item.key, "data-series": s.id, "data-value": raw === null || raw === undefined ? "" : String(raw),
        });
        rect.append(svgEl("title", {}, `${item.label} — ${s.name}: ${s.text(item)}`));
        svg.append(rect);
      });
      xLabel(svg, x0, item.label);
    });
    if (series.length > 1) wrap.append(legend(series));
    return wrap;
  }

  /** Lines over an ordered axis (days), one per series, with a dot per point. */
  function lines(label, items, series, emptyText) {
    if (items.length < 2) return bars(label, items, series, emptyText);
    const wrap = document.createElement("figure");
    const svg = frame(label);
    wrap.append(svg);
    const max = scaleOf(items, series);
    const step = (W - LEFT - RIGHT - 20) / (items.length - 1);
    const plotH = H - TOP - BOTTOM;
    const xOf = (i) => LEFT + 10 + i * step;
    const yOf = (v) => H - BOTTOM - (v / max) * plotH;
    for (const s of series) {
      const points = items.map((item, i) => [xOf(i), yOf(Number(s.value(item)) || 0)]);
      svg.append(svgEl("polyline", { points: points.map((p) => p.join(",")).join(" "), fill: "none", stroke: s.colour, "stroke-width": 2 }));
      items.forEach((item, i) => {
        const raw = s.value(item);
        const dot = svgEl("circle", { cx: points[i][0], cy: points[i][1], r: 3, fill: s.colour,
          "data-key": item.key, "data-series": s.id, "data-value": raw === null || raw === undefined ? "" : String(raw) });
        dot.append(svgEl("title", {}, `${item.label} — ${s.name}: ${s.text(item)}`));
        svg.append(dot);
      });
    }
    // At most ~16 labels: a month of days stays readable.
    const every = Math.max(1, Math.ceil(items.length / 16));
    items.forEach((item, i) => { if (i % every === 0) xLabel(svg, xOf(i), item.label); });
    wrap.append(legend(series));
    return wrap;
  }

  root.EgovCharts = { bars, lines };
})(typeof window !== "undefined" ? window : globalThis);
