// The dashboard: where the reader is (nation → province → kabupaten/kota, in the URL), what the API says
// there (polled every few seconds), the province map, silent regions, freshness and dead letters, and the
// language. Rendering of the four views is in views.js; formatting in format.js; labels in i18n.js.
"use strict";
(function () {
  const F = window.EgovFormat, I = window.EgovI18n, V = window.EgovViews, T = window.EgovTiles;
  const t = (k, v) => I.t(k, v);
  const REFRESH_MS = 3000;
  const FETCH_TIMEOUT_MS = 5000;
  const TOKEN_KEY = "egov-bus.views-token";
  const LANG_KEY = "egov-bus.lang";
  const $ = (id) => document.getElementById(id);

  // What the API says the token may read ({scope, token}); null until /views answered.
  let access = null;
  let themes = [];
  let provinceNames = {};
  const places = {};  // province code -> its regional governments [{code, name, province_code}]
  let last = null;    // the last answer rendered, drawn again when only the language changes
  let refreshes = 0;
  let generation = 0; // a navigation makes answers to older requests worthless

  // -- where the reader is: the URL is the state, so it can be shared and the back button works ----------
  function fromUrl() {
    const q = new URLSearchParams(location.search);
    const region = q.get("region");
    const province = q.get("province") || (region ? region.slice(0, 2) : null);
    return {
      province, region,
      lang: q.get("lang") || localStorage.getItem(LANG_KEY) || "id",
      theme: q.get("theme") || "", year: q.get("year") || "", month: q.get("month") || "", day: q.get("day") || "",
      days: q.get("days") || "7", silentTheme: q.get("silent_theme") || "", measure: q.get("measure") || "integration",
    };
  }
  let state = fromUrl();

  function toUrl(s) {
    const q = new URLSearchParams();
    if (s.province) q.set("province", s.province);
    if (s.region) q.set("region", s.region);
    if (s.lang && s.lang !== "id") q.set("lang", s.lang);
    const text = q.toString();
    return `${location.pathname}${text ? `?${text}` : ""}`;
  }

  function level(s) { return s.region ? "region" : s.province ? "province" : "nation"; }

  /** Go somewhere (a drill-down, a breadcrumb): a new history entry, then draw it. */
  function open(where) {
    state = { ...state, ...where };
    history.pushState({ province: state.province, region: state.region }, "", toUrl(state));
    refresh(true);
  }

  window.addEventListener("popstate", () => {
    const next = fromUrl();
    state = { ...state, province: next.province, region: next.region, lang: next.lang };
    I.setLang(state.lang);
    applyLabels();
    refresh(true);
  });

  // -- the API ---------------------------------------------------------------------------------------------
  class HttpError extends Error {
    constructor(status, detail) {
      super(typeof detail === "string" ? detail : JSON.stringify(detail));
      this.status = status;
    }
  }

  async function getJSON(path) {
    // Every fetch has a deadline: a hung API must not freeze the page.
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = token ? { Authorization: `Bearer ${token}` } : {};
    try {
      const res = await fetch(path, { signal: ctl.signal, cache: "no-store", headers });
      const body = await res.json();
      if (res.status === 401 || res.status === 403) throw new HttpError(res.status, body.detail);
      if (!res.ok) throw new Error(`${path}: HTTP ${res.status}: ${JSON.stringify(body.detail)}`);
      return body;
    } finally {
      clearTimeout(timer);
    }
  }

  function tokenProvince() {
    // The province of a province-scoped token: its own roll-up stands in for the nation's.
    const scope = access ? access.scope : "";
    return scope.startsWith("province:") ? scope.slice("province:".length) : null;
  }

  async function loadAccess() {
    const list = await getJSON("/views");
    access = list.access || { scope: "public", token: null };
    themes = list.themes || [];
    if (!Object.keys(provinceNames).length) {
      const found = await getJSON("/regions");
      provinceNames = Object.fromEntries(found.regions.map((r) => [r.code, r.name]));
    }
    keepToOwnProvince();
  }

  function keepToOwnProvince() {
    // A province's token opens at its province: the nation's roll-up is not its to read.
    const mine = tokenProvince();
    if (mine && !state.province) {
      state.province = mine;
      history.replaceState({ province: mine, region: null }, "", toUrl(state));
    }
  }

  async function placesOf(province) {
    if (!places[province]) places[province] = (await getJSON(`/regions?province=${province}`)).regions;
    return places[province];
  }

  const MEASURES = {
    // A province missing from the integration roll-up has published nothing: 0 %, not "no data".
    integration: { view: "integration_index", percent: true, zeroMissing: true, value: (r) => r.integration_pct },
    absorption: { view: "budget_absorption", percent: true, bucket: "fiscal_year", chosen: "year", value: (r) => r.absorption_pct },
    resolved: { view: "complaint_service_level", percent: true, bucket: "month", chosen: "month",
      value: (r) => (r.received ? Math.round((r.resolved * 10000) / r.received) / 100 : null) },
    applied: { view: "licensing_throughput", percent: false, bucket: "day", chosen: "day", value: (r) => r.applied },
  };

  async function load(s) {
    const lvl = level(s);
    const scopeQ = lvl === "nation" ? "level=nation" : lvl === "province" ? `level=province&province=${s.province}` : `level=region&region=${s.region}`;
    const tableQ = lvl === "nation" ? "level=province" : lvl === "province" ? `level=region&province=${s.province}` : scopeQ;
    const themeQ = s.theme ? `&theme=${encodeURIComponent(s.theme)}` : "";
    const asked = new Map();
    const get = (path) => { if (!asked.has(path)) asked.set(path, getJSON(path)); return asked.get(path); };
    const view = (name, q) => get(`/views/${name}?${q}`);
    const measure = MEASURES[s.measure] || MEASURES.integration;
    const silentQ = `days=${encodeURIComponent(s.days)}${s.silentTheme ? `&theme=${encodeURIComponent(s.silentTheme)}` : ""}` +
      (s.province ? `&province=${s.province}` : "");
    const parts = {
      ii: Promise.all([lvl === "region" ? null : view("integration_index", scopeQ + themeQ), view("integration_index", tableQ + themeQ),
        view("integration_index", lvl === "region" ? scopeQ : `${scopeQ}&by=theme`)]),
      ba: Promise.all([view("budget_absorption", scopeQ), view("budget_absorption", tableQ)]),
      cs: Promise.all([view("complaint_service_level", scopeQ), view("complaint_service_level", tableQ)]),
      lt: Promise.all([view("licensing_throughput", scopeQ), view("licensing_throughput", tableQ)]),
      map: view(measure.view, `level=province${measure.view === "integration_index" ? themeQ : ""}`),
      silent: get(`/silent?${silentQ}`),
      health: get("/freshness"),
      places: s.province ? placesOf(s.province) : Promise.resolve([]),
    };
    const out = {};
    for (const [k, p] of Object.entries(parts)) out[k] = await p;
    const pair = ([scope, table, chart]) => ({ scope, table, chart });
    return { state: { ...s }, ii: pair(out.ii), ba: pair(out.ba), cs: pair(out.cs), lt: pair(out.lt),
      map: out.map, silent: out.silent, health: out.health, places: out.places };
  }

  // -- drawing ----------------------------------------------------------------------------------------------
  function applyLabels() {
    const lang = I.getLang();
    document.documentElement.lang = lang;
    document.title = t("page.title");
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-aria]")) node.setAttribute("aria-label", t(node.dataset.i18nAria));
    // The switch is written in the other language: tell screen readers so.
    $("lang-switch").setAttribute("lang", lang === "id" ? "en" : "id");
    for (const [id, first] of [["theme", "ii.allthemes"], ["silent-theme", "silent.anytheme"]]) {
      const select = $(id);
      const keep = id === "theme" ? state.theme : state.silentTheme;
      select.replaceChildren(V.el("option", { value: "" }, t(first)), ...themes.map((th) => V.el("option", { value: th }, I.theme(th))));
      select.value = keep;
    }
    $("measure").value = state.measure;
    $("silent-days").value = state.days;
  }

  function crumbs(s, regionName) {
    const items = [{ label: t("crumb.nation"), where: { province: null, region: null } }];
    if (s.province) items.push({ label: provinceNames[s.province] || s.province, where: { province: s.province, region: null } });
    if (s.region) items.push({ label: regionName || s.region, where: { province: s.province, region: s.region } });
    $("crumbs").replaceChildren(...items.map((item, i) => {
      const li = document.createElement("li");
      if (i === items.length - 1 || (i === 0 && tokenProvince())) {
        li.append(V.el("span", { "aria-current": i === items.length - 1 ? "page" : undefined, "data-testid": "crumb" }, item.label));
      } else {
        const a = V.el("a", { href: toUrl({ ...s, ...item.where }), "data-testid": "crumb" }, item.label);
        a.addEventListener("click", (ev) => { ev.preventDefault(); open(item.where); });
        li.append(a);
      }
      return li;
    }));
    $("level").textContent = t(`level.${level(s)}`);
  }

  function drawMap(d, chosen) {
    const m = MEASURES[state.measure] || MEASURES.integration;
    const values = {};
    // Only a nation-wide reader knows that the provinces not in the answer have nothing.
    if (m.zeroMissing && !tokenProvince()) for (const code of Object.keys(provinceNames)) values[code] = 0;
    for (const r of d.map.rows) {
      if (m.bucket && String(r[m.bucket]) !== String(chosen[m.chosen])) continue;
      values[r.province_code] = m.value(r);
    }
    const lang = I.getLang();
    T.render($("tiles"), $("map-legend"), {
      values, names: provinceNames, selected: d.state.province, isPercent: m.percent, noData: t("map.nodata"), label: t("map.aria"),
      format: (v) => (m.percent ? F.percent(v, lang) : F.number(v, lang, 0)),
      open: (code) => open({ province: code, region: null }),
    });
  }

  function drawSilent(d, s) {
    const body = d.silent, lang = I.getLang(), lvl = level(s);
    const silent = body.provinces.reduce((n, p) => n + p.regions_silent, 0);
    const total = body.provinces.reduce((n, p) => n + p.regions_total, 0);
    const zone = s.province;
    const summary = $("silent-summary");
    summary.dataset.value = String(silent);
    if (lvl === "region") {
      const mine = body.regions.find((r) => r.region_code === s.region);
      const name = (d.places.find((p) => p.code === s.region) || {}).name || s.region;
      summary.dataset.value = mine ? "1" : "0";
      summary.textContent = mine
        ? t("silent.region.yes", { name, last: mine.last_seen ? F.dateTime(mine.last_seen, lang, zone) : t("silent.never") })
        : t("silent.region.no", { name, days: body.days });
    } else {
      summary.textContent = t("silent.summary", { silent: F.number(silent, lang), total: F.number(total, lang), since: F.dateTime(body.since, lang, zone) });
    }
    if (lvl === "nation") {
      V.table("silent-table", "silent-row", [
        { field: "province", label: t("col.province"), text: (r) => `${r.province_code} ${r.province_name}` },
        { field: "regions_silent", label: t("col.silent"), num: true, value: (r) => r.regions_silent, text: (r) => F.number(r.regions_silent, lang) },
        { field: "regions_total", label: t("col.of"), num: true, value: (r) => r.regions_total, text: (r) => F.number(r.regions_total, lang) },
        { field: "never_seen", label: t("col.never"), num: true, value: (r) => r.never_seen, text: (r) => F.number(r.never_seen, lang) },
      ], body.provinces, { attrs: (r) => ({ "data-province": r.province_code }),
        open: (r) => () => open({ province: r.province_code, region: null }), name: (r) => r.province_name });
    } else {
      const rows = lvl === "region" ? body.regions.filter((r) => r.region_code === s.region) : body.regions;
      V.table("silent-table", "silent-row", [
        { field: "region", label: t("col.region"), text: (r) => `${r.region_code} ${r.region_name}` },
        { field: "last_seen", label: t("col.lastseen"), value: (r) => r.last_seen, text: (r) => (r.last_seen ? F.dateTime(r.last_seen, lang, zone) : t("silent.never")) },
      ], rows, { attrs: (r) => ({ "data-region": r.region_code }),
        open: lvl === "province" ? (r) => () => open({ province: r.province_code, region: r.region_code }) : null, name: (r) => r.region_name });
    }
  }

  function drawHealth(d) {
    const body = d.health, lang = I.getLang();
    V.table("freshness-table", "freshness-row", [
      { field: "view", label: t("col.view"), text: (r) => t(`view.${r.view}`) },
      { field: "updated_at", label: t("col.updated"), value: (r) => r.updated_at, text: (r) => F.dateTime(r.updated_at, lang, null) },
      { field: "age_s", label: t("col.age"), num: true, value: (r) => r.age_s, text: (r) => F.age(r.age_s, lang) },
      { field: "stale", label: t("col.state"), value: (r) => r.stale, text: (r) => (r.stale ? t("health.stale") : t("health.fresh")) },
    ], body.views, { attrs: (r) => ({ "data-view": r.view, "data-stale": String(r.stale), class: r.stale ? "stale" : "fresh" }) });
    $("stale-note").textContent = t("health.stale.note", { age: F.age(body.stale_after_s, lang) });
    const note = $("dlq-note");
    note.hidden = body.dlq !== null;
    note.textContent = body.dlq === null ? t("health.dlq.hidden") : "";
    const rows = body.dlq === null ? [] : Object.entries(body.dlq.themes).map(([theme, depth]) => ({ theme, depth }));
    V.table("dlq-table", "dlq-row", [
      { field: "theme", label: t("col.theme"), text: (r) => I.theme(r.theme) },
      { field: "depth", label: t("col.dlq"), num: true, value: (r) => r.depth, text: (r) => dlqText(r.depth, body.dlq.upper_bound, lang) },
    ], rows, { attrs: (r) => ({ "data-theme": r.theme, class: r.depth ? "attention" : undefined }) });
  }

  // An offset span counts transaction markers too: above 0 it is "at most N" (docs/dashboard.md).
  function dlqText(depth, upperBound, lang) {
    if (depth === null) return t("health.dlq.unknown");
    return upperBound && depth > 0 ? "≤ " + F.number(depth, lang) : F.number(depth, lang);
  }

  function draw(d) {
    const s = d.state, lvl = level(s);
    const regionName = s.region ? ((d.places.find((p) => p.code === s.region) || {}).name) : null;
    const ctx = { state: s, level: lvl, zone: s.province, places: d.places, chosen: {}, open };
    crumbs(s, regionName);
    V.integration(d.ii, ctx);
    V.budget(d.ba, ctx);
    V.complaints(d.cs, ctx);
    V.licensing(d.lt, ctx);
    $("complaints-note").hidden = lvl === "region";
    drawMap(d, ctx.chosen);
    drawSilent(d, s);
    drawHealth(d);
    const updated = (d.ii.table && d.ii.table.updated_at) || null;
    const updatedNode = $("updated-at");
    updatedNode.dataset.value = updated || "";
    updatedNode.textContent = F.dateTime(updated, I.getLang(), null);
    const mine = tokenProvince();
    $("scope").textContent = access.scope === "public" ? t("scope.public")
      : mine ? t("scope.province", { province: mine, token: access.token }) : t("scope.nation", { token: access.token });
    // What is on the page now, for tests and for anyone reading the DOM: place and language.
    document.body.dataset.rendered = `${s.province || ""}|${s.region || ""}|${I.getLang()}`;
  }

  // -- the refresh loop --------------------------------------------------------------------------------------
  function showAccess(message) {
    const box = $("access-message");
    box.hidden = !message;
    box.textContent = message || "";
  }

  function clearPage() {
    // Nothing read with an earlier token stays on the page.
    last = null;
    for (const id of ["integration", "budget", "complaints", "licensing"]) {
      $(`${id}-figures`).replaceChildren();
      $(`${id}-chart`).replaceChildren();
      $(`${id}-table`).replaceChildren();
    }
    for (const id of ["silent-table", "freshness-table", "dlq-table", "tiles", "map-legend"]) $(id).replaceChildren();
    $("silent-summary").textContent = "";
    $("scope").textContent = "–";
    delete document.body.dataset.rendered;
  }

  function refused(err) {
    // 401: no token, or one the API does not know; 403: a token asking beyond its scope.
    const status = $("status");
    status.className = "status error";
    clearPage();
    if (err.status === 401) {
      access = null;
      status.textContent = t("status.token");
      showAccess(sessionStorage.getItem(TOKEN_KEY) ? t("access.refused", { detail: err.message }) : t("access.need"));
    } else {
      status.textContent = t("status.forbidden");
      showAccess(t("access.forbidden", { detail: err.message }));
    }
  }

  let inFlight = false;
  async function refresh(force) {
    if (inFlight && !force) return;
    const mine = ++generation;
    inFlight = true;
    const status = $("status");
    try {
      if (!access) await loadAccess();
      keepToOwnProvince();
      applyLabelsOnce();
      const data = await load(state);
      if (mine !== generation) return;  // the reader moved on meanwhile: a newer refresh draws
      last = data;
      draw(data);
      showAccess("");
      status.className = "status ok";
      status.textContent = t("status.live");
      refreshes += 1;
      const stamp = $("last-refresh");
      stamp.textContent = F.dateTime(new Date().toISOString(), I.getLang(), null);
      stamp.dataset.value = String(refreshes);  // refreshes so far
    } catch (err) {
      if (mine !== generation) return;
      if (err instanceof HttpError) {
        refused(err);
      } else {
        status.className = "status error";
        status.textContent = String(err.message || err);
      }
    } finally {
      if (mine === generation) inFlight = false;
    }
  }

  let labelled = false;
  function applyLabelsOnce() {
    // Theme names are known once /views answered: label the selects then.
    if (!labelled && themes.length) { labelled = true; applyLabels(); }
  }

  function setLang(next) {
    state.lang = I.setLang(next);
    localStorage.setItem(LANG_KEY, state.lang);
    history.replaceState(history.state, "", toUrl(state));
    applyLabels();
    if (last) draw(last);
    const status = $("status");
    if (status.classList.contains("ok")) status.textContent = t("status.live");
  }

  // -- controls -----------------------------------------------------------------------------------------------
  $("lang-switch").addEventListener("click", () => setLang(I.getLang() === "id" ? "en" : "id"));
  const on = (id, key) => $(id).addEventListener("change", (ev) => { state[key] = ev.target.value; refresh(true); });
  on("theme", "theme");
  on("fiscal-year", "year");
  on("month", "month");
  on("day", "day");
  on("measure", "measure");
  on("silent-days", "days");
  on("silent-theme", "silentTheme");
  $("login").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("token");
    const token = input.value.trim();
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    input.value = "";
    access = null;
    refresh(true);
  });
  $("token-forget").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    access = null;
    clearPage();
    refresh(true);
  });

  I.setLang(state.lang);
  localStorage.setItem(LANG_KEY, I.getLang());
  history.replaceState({ province: state.province, region: state.region }, "", toUrl(state));
  applyLabels();
  refresh(true);
  setInterval(() => refresh(false), REFRESH_MS);
})();
