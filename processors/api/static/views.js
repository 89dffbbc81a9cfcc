// Rendering of the four views (figures, chart over time, table) at nation, province and region level,
// from what the API answered. Every figure and cell keeps the API's raw value in data-value (what the
// tests compare); the text shown is formatted for the reader's language.
"use strict";
(function (root) {
  const F = root.EgovFormat, I = root.EgovI18n, C = root.EgovCharts;
  const t = (k, v) => I.t(k, v);
  const lang = () => I.getLang();
  const raw = (v) => (v === null || v === undefined ? "" : String(v));

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  /** Replace the figures of a view: [{testid, label, value, text}]. */
  function figures(id, specs) {
    const box = document.getElementById(id);
    box.replaceChildren(...specs.map((s) => {
      const fig = el("div", { class: "figure" });
      fig.append(el("div", { class: "value", "data-testid": s.testid, "data-value": raw(s.value) },
        s.text !== undefined ? s.text : (s.value === null || s.value === undefined ? "–" : String(s.value))),
        el("div", { class: "label" }, s.label));
      return fig;
    }));
  }

  function bar(fraction, colour) {
    const svgNS = "http://www.w3.org/2000/svg";
    const svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("viewBox", "0 0 100 10");
    svg.setAttribute("preserveAspectRatio", "none");
    svg.setAttribute("aria-hidden", "true");
    const bg = document.createElementNS(svgNS, "rect");
    bg.setAttribute("width", "100"); bg.setAttribute("height", "10"); bg.setAttribute("fill", "#e3e8ee");
    const fg = document.createElementNS(svgNS, "rect");
    fg.setAttribute("width", String(Math.max(0, Math.min(1, fraction || 0)) * 100));
    fg.setAttribute("height", "10"); fg.setAttribute("fill", colour);
    svg.append(bg, fg);
    return svg;
  }

  /**
   * A table: `columns` [{field, label, value(row), text(row), num, bar}], `rows`, `attrs(row)` the row's data-* attributes,
   * `open(row)` the place a click or Enter on the row drills down to (null: not a link), `name(row)` for its aria-label.
   */
  function table(id, testid, columns, rows, { attrs, open, name, colspanEmpty } = {}) {
    const tableNode = document.getElementById(id);
    const head = el("thead");
    const hr = el("tr");
    for (const c of columns) hr.append(el("th", { scope: "col", class: c.num ? "num" : undefined }, c.label));
    head.append(hr);
    const body = el("tbody", { "data-testid": `${testid}s` });
    for (const row of rows) {
      const tr = el("tr", { "data-testid": testid, ...(attrs ? attrs(row) : {}) });
      for (const c of columns) {
        if (c.bar) {
          const td = el("td", { class: "bar" });
          td.append(bar(c.bar(row), c.colour));
          tr.append(td);
          continue;
        }
        const value = c.value ? c.value(row) : undefined;
        const td = el("td", { class: c.num ? "num" : undefined, "data-field": c.field,
          "data-value": c.value ? raw(value) : undefined }, c.text ? c.text(row) : raw(value) || "–");
        tr.append(td);
      }
      const target = open ? open(row) : null;
      if (target) {
        // A row is a link: focusable, Enter or a click opens it.
        tr.tabIndex = 0;
        tr.classList.add("link");
        tr.setAttribute("aria-label", t("open", { name: name(row) }));
        tr.addEventListener("click", () => target());
        tr.addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); target(); } });
      }
      body.append(tr);
    }
    if (!rows.length) {
      const tr = el("tr");
      tr.append(el("td", { class: "empty", colspan: String(colspanEmpty || columns.length) }, t("empty")));
      body.append(tr);
    }
    tableNode.replaceChildren(head, body);
  }

  /** Fill a bucket <select> (years, months, days) and return the chosen one (kept when still offered, else the latest). */
  function bucket(selectId, values, wanted, label) {
    const select = document.getElementById(selectId);
    const offered = [...new Set(values.map(String))].sort();
    const chosen = offered.includes(String(wanted)) ? String(wanted) : (offered[offered.length - 1] ?? "");
    select.replaceChildren(...offered.map((v) => el("option", { value: v }, label(v))));
    select.value = chosen;
    select.disabled = !offered.length;
    return chosen;
  }

  const num = (v) => F.number(v, lang());
  const pct = (v) => F.percent(v, lang());
  const rp = (v) => F.rupiah(v, lang());
  const hidden = (v) => (v === null || v === undefined ? t("suppressed") : num(v));

  function placeColumn(level) {
    // The first column names the place one level down from where the reader is.
    if (level === "nation") return { field: "province", label: t("col.province"), text: (r) => `${r.province_code} ${r.province_name || ""}` };
    return { field: "region", label: t("col.region"), text: (r) => `${r.region_code} ${r.region_code.length === 2 ? t("pg") : ""} ${r.region_name || ""}`.replace(/\s+/g, " ") };
  }

  function placeAttrs(level, extra) {
    return (r) => ({ ...(level === "nation" ? { "data-province": r.province_code } : { "data-region": r.region_code }), ...(extra ? extra(r) : {}) });
  }

  function drill(ctx, level) {
    if (level === "nation") return (r) => () => ctx.open({ province: r.province_code, region: null });
    if (level === "province") return (r) => () => ctx.open({ province: r.province_code, region: r.region_code });
    return null;
  }

  const nameOf = (level) => (r) => (level === "nation" ? r.province_name || r.province_code : r.region_name || r.region_code);

  function integration(d, ctx) {
    const level = ctx.level, zone = ctx.zone;
    if (level === "region") {
      const rows = d.table.rows;
      const withEvents = rows.filter((r) => r.events_total > 0);
      const last = rows.reduce((m, r) => (!m || r.last_seen > m ? r.last_seen : m), null);
      const events = rows.reduce((s, r) => s + r.events_total, 0);
      figures("integration-figures", [
        { testid: "integration-themes-published", label: t("fig.themes"), value: withEvents.length },
        { testid: "integration-events-total", label: t("fig.events"), value: events, text: num(events) },
        { testid: "integration-last-seen", label: t("fig.lastseen"), value: last, text: F.dateTime(last, lang(), zone) },
      ]);
      table("integration-table", "integration-row", [
        { field: "theme", label: t("col.theme"), text: (r) => I.theme(r.theme) },
        { field: "events_total", label: t("col.events"), num: true, value: (r) => r.events_total, text: (r) => num(r.events_total) },
        { field: "first_seen", label: t("col.firstseen"), value: (r) => r.first_seen, text: (r) => F.dateTime(r.first_seen, lang(), zone) },
        { field: "last_seen", label: t("col.lastseen"), value: (r) => r.last_seen, text: (r) => F.dateTime(r.last_seen, lang(), zone) },
        { field: "active_days", label: t("col.days"), num: true, value: (r) => r.active_days, text: (r) => num(r.active_days) },
        { field: "events_per_day", label: t("col.perday"), num: true, value: (r) => r.events_per_day, text: (r) => num(r.events_per_day) },
      ], rows, { attrs: (r) => ({ "data-theme": r.theme }) });
      const items = d.chart.rows.map((r) => ({ key: r.theme, label: I.theme(r.theme), row: r }));
      document.getElementById("integration-chart").replaceChildren(C.bars(t("ii.chart.region"), items,
        [{ id: "events_total", name: t("fig.events"), colour: "#2f6fb0", value: (i) => i.row.events_total, text: (i) => num(i.row.events_total) }], t("empty")));
      return;
    }
    const total = d.scope.rows[0];
    figures("integration-figures", [
      { testid: "integration-regions-publishing", label: t("fig.publishing"), value: total ? total.regions_publishing : 0 },
      { testid: "integration-regions-total", label: t("fig.total"), value: total ? total.regions_total : null },
      { testid: "integration-pct", label: t("fig.pct"), value: total ? total.integration_pct : 0, text: pct(total ? total.integration_pct : 0) },
      { testid: "integration-events-total", label: t("fig.events"), value: total ? total.events_total : 0, text: num(total ? total.events_total : 0) },
    ]);
    if (level === "nation") {
      table("integration-table", "integration-row", [
        placeColumn(level),
        { field: "regions_publishing", label: t("col.publishing"), num: true, value: (r) => r.regions_publishing, text: (r) => num(r.regions_publishing) },
        { field: "regions_total", label: t("col.of"), num: true, value: (r) => r.regions_total, text: (r) => num(r.regions_total) },
        { field: "integration_pct", label: t("col.pct"), num: true, value: (r) => r.integration_pct, text: (r) => pct(r.integration_pct) },
        { field: "events_total", label: t("col.events"), num: true, value: (r) => r.events_total, text: (r) => num(r.events_total) },
        { bar: (r) => r.integration_pct / 100, colour: "#2f6fb0", label: "" },
      ], d.table.rows, { attrs: placeAttrs(level), open: drill(ctx, level), name: nameOf(level) });
    } else {
      // Every regional government of the province, also those that published nothing (who is not integrated yet).
      const per = new Map();
      for (const place of ctx.places) per.set(place.code, { region_code: place.code, region_name: place.name, province_code: place.province_code, themes: 0, events_total: 0, last_seen: null });
      for (const r of d.table.rows) {
        const agg = per.get(r.region_code) || { region_code: r.region_code, region_name: r.region_name, province_code: r.province_code, themes: 0, events_total: 0, last_seen: null };
        if (r.events_total > 0) agg.themes += 1;
        agg.events_total += r.events_total;
        if (!agg.last_seen || r.last_seen > agg.last_seen) agg.last_seen = r.last_seen;
        per.set(r.region_code, agg);
      }
      table("integration-table", "integration-row", [
        placeColumn(level),
        { field: "themes_published", label: t("col.themes"), num: true, value: (r) => r.themes, text: (r) => num(r.themes) },
        { field: "events_total", label: t("col.events"), num: true, value: (r) => r.events_total, text: (r) => num(r.events_total) },
        { field: "last_seen", label: t("col.lastseen"), value: (r) => r.last_seen, text: (r) => F.dateTime(r.last_seen, lang(), zone) },
      ], [...per.values()].sort((a, b) => a.region_code.localeCompare(b.region_code)),
      { attrs: placeAttrs(level), open: drill(ctx, level), name: nameOf(level) });
    }
    const items = d.chart.rows.map((r) => ({ key: r.theme, label: I.theme(r.theme), row: r }));
    document.getElementById("integration-chart").replaceChildren(C.bars(t("ii.chart"), items,
      [{ id: "integration_pct", name: t("fig.pct"), colour: "#2f6fb0", value: (i) => i.row.integration_pct, text: (i) => pct(i.row.integration_pct) }], t("empty")));
  }

  function budget(d, ctx) {
    const level = ctx.level;
    const series = d.scope.rows;
    const year = bucket("fiscal-year", series.map((r) => r.fiscal_year), ctx.state.year, String);
    ctx.chosen.year = year;
    const total = series.find((r) => String(r.fiscal_year) === year);
    figures("budget-figures", [
      { testid: "budget-allocated", label: t("fig.allocated"), value: total ? total.allocated : null, text: total ? F.rupiahShort(total.allocated, lang()) : "–" },
      { testid: "budget-realised", label: t("fig.realised"), value: total ? total.realised : null, text: total ? F.rupiahShort(total.realised, lang()) : "–" },
      { testid: "budget-absorption-pct", label: t("fig.absorption"), value: total ? total.absorption_pct : null, text: pct(total ? total.absorption_pct : null) },
    ]);
    const money = [
      { field: "allocated", label: t("col.allocated"), num: true, value: (r) => r.allocated, text: (r) => rp(r.allocated) },
      { field: "realised", label: t("col.realised"), num: true, value: (r) => r.realised, text: (r) => rp(r.realised) },
      { field: "absorption_pct", label: t("col.pct"), num: true, value: (r) => r.absorption_pct, text: (r) => pct(r.absorption_pct) },
      { bar: (r) => (r.absorption_pct || 0) / 100, colour: "#b35c00", label: "" },
    ];
    if (level === "region") {
      table("budget-table", "budget-row", [{ field: "fiscal_year", label: t("col.year"), value: (r) => r.fiscal_year }, ...money],
        series, { attrs: (r) => ({ "data-fiscal-year": String(r.fiscal_year) }) });
    } else {
      table("budget-table", "budget-row", [placeColumn(level), ...money],
        d.table.rows.filter((r) => String(r.fiscal_year) === year),
        { attrs: placeAttrs(level, (r) => ({ "data-fiscal-year": String(r.fiscal_year) })), open: drill(ctx, level), name: nameOf(level) });
    }
    const items = series.map((r) => ({ key: String(r.fiscal_year), label: String(r.fiscal_year), row: r }));
    document.getElementById("budget-chart").replaceChildren(C.bars(t("ba.chart"), items, [
      { id: "allocated", name: t("fig.allocated"), colour: "#7a9cc6", value: (i) => i.row.allocated, text: (i) => F.rupiahShort(i.row.allocated, lang()) },
      { id: "realised", name: t("fig.realised"), colour: "#b35c00", value: (i) => i.row.realised, text: (i) => `${F.rupiahShort(i.row.realised, lang())} (${pct(i.row.absorption_pct)})` },
    ], t("empty")));
  }

  function complaints(d, ctx) {
    const level = ctx.level;
    const series = d.scope.rows;
    const month = bucket("month", series.map((r) => r.month), ctx.state.month, (m) => F.month(m, lang()));
    ctx.chosen.month = month;
    const total = series.find((r) => r.month === month);
    const specs = [
      { testid: "complaints-received", label: t("fig.received"), value: total ? total.received : null, text: total ? hidden(total.received) : "–" },
      { testid: "complaints-resolved", label: t("fig.resolved"), value: total ? total.resolved : null, text: total ? hidden(total.resolved) : "–" },
      { testid: "complaints-open", label: t("fig.open"), value: total ? total.open : null, text: total ? hidden(total.open) : "–" },
    ];
    if (level === "region") {
      specs.push({ testid: "complaints-median-hours", label: t("fig.median"), value: total ? total.median_resolve_hours : null, text: num(total ? total.median_resolve_hours : null) },
        { testid: "complaints-p90-hours", label: t("fig.p90"), value: total ? total.p90_resolve_hours : null, text: num(total ? total.p90_resolve_hours : null) });
    }
    figures("complaints-figures", specs);
    const counts = [
      { field: "received", label: t("col.received"), num: true, value: (r) => r.received, text: (r) => hidden(r.received) },
      { field: "resolved", label: t("col.resolved"), num: true, value: (r) => r.resolved, text: (r) => hidden(r.resolved) },
      { field: "open", label: t("col.open"), num: true, value: (r) => r.open, text: (r) => hidden(r.open) },
    ];
    const times = [
      { field: "median_resolve_hours", label: t("col.median"), num: true, value: (r) => r.median_resolve_hours, text: (r) => num(r.median_resolve_hours) },
      { field: "p90_resolve_hours", label: t("col.p90"), num: true, value: (r) => r.p90_resolve_hours, text: (r) => num(r.p90_resolve_hours) },
    ];
    if (level === "region") {
      table("complaints-table", "complaints-row", [{ field: "month", label: t("col.month"), value: (r) => r.month, text: (r) => F.month(r.month, lang()) }, ...counts, ...times],
        series, { attrs: (r) => ({ "data-month": r.month }) });
    } else {
      const extra = level === "nation"
        ? [{ field: "regions_suppressed", label: t("col.suppressed"), num: true, value: (r) => r.regions_suppressed, text: (r) => num(r.regions_suppressed) }]
        : times;
      table("complaints-table", "complaints-row", [placeColumn(level), ...counts, ...extra], d.table.rows.filter((r) => r.month === month),
        { attrs: placeAttrs(level, (r) => ({ "data-month": r.month })), open: drill(ctx, level), name: nameOf(level) });
    }
    const items = series.map((r) => ({ key: r.month, label: F.month(r.month, lang()), row: r }));
    const chart = level === "region"
      ? C.bars(t("cs.chart.region"), items, [
        { id: "median_resolve_hours", name: t("col.median"), colour: "#2f6fb0", value: (i) => i.row.median_resolve_hours, text: (i) => num(i.row.median_resolve_hours) },
        { id: "p90_resolve_hours", name: t("col.p90"), colour: "#8c2d04", value: (i) => i.row.p90_resolve_hours, text: (i) => num(i.row.p90_resolve_hours) },
      ], t("empty"))
      : C.bars(t("cs.chart"), items, [
        { id: "received", name: t("col.received"), colour: "#7a9cc6", value: (i) => i.row.received, text: (i) => hidden(i.row.received) },
        { id: "resolved", name: t("col.resolved"), colour: "#2e7d32", value: (i) => i.row.resolved, text: (i) => hidden(i.row.resolved) },
      ], t("empty"));
    document.getElementById("complaints-chart").replaceChildren(chart);
  }

  function licensing(d, ctx) {
    const level = ctx.level;
    const series = d.scope.rows;
    const day = bucket("day", series.map((r) => r.day), ctx.state.day, (v) => F.day(v, lang()));
    ctx.chosen.day = day;
    const total = series.find((r) => r.day === day);
    const specs = [
      { testid: "licensing-applied", label: t("fig.applied"), value: total ? total.applied : null, text: num(total ? total.applied : null) },
      { testid: "licensing-issued", label: t("fig.issued"), value: total ? total.issued : null, text: num(total ? total.issued : null) },
      { testid: "licensing-rejected", label: t("fig.rejected"), value: total ? total.rejected : null, text: num(total ? total.rejected : null) },
    ];
    if (level === "region") specs.push({ testid: "licensing-median-hours", label: t("fig.processing"), value: total ? total.median_processing_hours : null, text: num(total ? total.median_processing_hours : null) });
    figures("licensing-figures", specs);
    const counts = [
      { field: "applied", label: t("col.applied"), num: true, value: (r) => r.applied, text: (r) => num(r.applied) },
      { field: "issued", label: t("col.issued"), num: true, value: (r) => r.issued, text: (r) => num(r.issued) },
      { field: "rejected", label: t("col.rejected"), num: true, value: (r) => r.rejected, text: (r) => num(r.rejected) },
    ];
    const median = { field: "median_processing_hours", label: t("col.median"), num: true, value: (r) => r.median_processing_hours, text: (r) => num(r.median_processing_hours) };
    if (level === "region") {
      table("licensing-table", "licensing-row", [{ field: "day", label: t("col.day"), value: (r) => r.day, text: (r) => F.day(r.day, lang()) }, ...counts, median],
        series, { attrs: (r) => ({ "data-day": r.day }) });
    } else {
      table("licensing-table", "licensing-row", [placeColumn(level), ...counts, ...(level === "province" ? [median] : [])],
        d.table.rows.filter((r) => r.day === day),
        { attrs: placeAttrs(level, (r) => ({ "data-day": r.day })), open: drill(ctx, level), name: nameOf(level) });
    }
    const items = series.map((r) => ({ key: r.day, label: F.day(r.day, lang()), row: r }));
    document.getElementById("licensing-chart").replaceChildren(C.lines(t("lt.chart"), items, [
      { id: "applied", name: t("col.applied"), colour: "#2f6fb0", value: (i) => i.row.applied, text: (i) => num(i.row.applied) },
      { id: "issued", name: t("col.issued"), colour: "#2e7d32", value: (i) => i.row.issued, text: (i) => num(i.row.issued) },
      { id: "rejected", name: t("col.rejected"), colour: "#b3261e", value: (i) => i.row.rejected, text: (i) => num(i.row.rejected) },
    ], t("empty")));
  }

  root.EgovViews = { el, figures, table, integration, budget, complaints, licensing };
})(typeof window !== "undefined" ? window : globalThis);
