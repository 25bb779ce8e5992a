// The ops dashboard: signs in, reads /api/v1/stats/*, draws tiles, tables and SVG charts.
// Plain browser JavaScript, no library; every number shown carries its raw value in a data-*
// attribute (the headless browser test compares them with the API).
"use strict";

(function () {
  const TOKEN_KEY = "aduan.ops.token";
  const SVG = "http://www.w3.org/2000/svg";
  const GRADE_CLASS = {
    "Sangat Baik": "g-sangat-baik", "Baik": "g-baik", "Sedang": "g-sedang", "Kurang": "g-kurang",
  };
  const $ = (id) => document.getElementById(id);
  const nf = new Intl.NumberFormat("id-ID", { maximumFractionDigits: 1 });
  const fmt = (v) => (v === null || v === undefined ? "–" : nf.format(v));
  const pct = (v) => (v === null || v === undefined ? "–" : nf.format(v) + "%");
  let provinces = []; // [{code, name}] from the first answer

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function show(signedIn) {
    $("login").hidden = signedIn;
    $("dashboard").hidden = !signedIn;
    $("logout").hidden = !signedIn;
  }

  function el(tag, attrs, text) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  class HttpError extends Error {
    constructor(status, body) { super((body && (body.detail || body.title)) || "HTTP " + status); this.status = status; }
  }

  async function api(path, params) {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params || {})) if (v) query.set(k, v);
    const url = path + (query.toString() ? "?" + query : "");
    const response = await fetch(url, {
      headers: { Authorization: "Bearer " + token(), "Accept-Language": "id" },
    });
    const body = await response.json().catch(() => null);
    if (!response.ok) throw new HttpError(response.status, body);
    return body;
  }

  // --- sign-in ---------------------------------------------------------------------------

  async function signIn(event) {
    event.preventDefault();
    const form = event.target;
    const error = $("login-error");
    error.textContent = "";
    const key = form.api_key.value.trim();
    if (key) {
      sessionStorage.setItem(TOKEN_KEY, key);
    } else {
      const body = new URLSearchParams({
        grant_type: "password", username: form.username.value, password: form.password.value,
      });
      if (form.otp.value) body.set("otp", form.otp.value);
      const response = await fetch("/api/v1/auth/token", { method: "POST", body });
      const answer = await response.json().catch(() => ({}));
      if (!response.ok) {
        error.textContent = answer.detail || "Email atau kata sandi salah.";
        return;
      }
      sessionStorage.setItem(TOKEN_KEY, answer.access_token);
    }
    form.reset();
    show(true);
    load();
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    show(false);
  }

  // --- loading ---------------------------------------------------------------------------

  function filters() {
    const form = $("filters");
    return {
      from: form.from.value, to: form.to.value,
      province: form.province.value, category: form.category.value,
    };
  }

  async function load() {
    const f = filters();
    const period = { from: f.from, to: f.to, category: f.category };
    const status = $("status");
    status.textContent = "Memuat…";
    document.body.dataset.loaded = "false";
    try {
      const [ranking, regions, regencies] = await Promise.all([
        api("/api/v1/stats/ranking", { level: "province", ...period }),
        api("/api/v1/stats/regions", { level: "province", ...period }),
        api("/api/v1/stats/regions", { level: "regency", province: f.province, ...period }),
      ]);
      fillProvinces(regions.items);
      const inProvince = (code) => !f.province || code === f.province || code.startsWith(f.province + ".");
      let table = ranking;
      if (f.province) {
        table = await api("/api/v1/stats/ranking", { level: "regency", ...period });
        table = { ...table, items: table.items.filter((i) => inProvince(i.code)) };
      }
      const trend = await api("/api/v1/stats/trends", {
        measure: $("trend-measure").value, region: f.province, ...period,
      });
      const scope = f.province ? regions.items.filter((r) => r.code === f.province) : regions.items;
      drawKpis(scope);
      drawTiles(ranking.items, f.province);
      drawRanking(table, f.province);
      drawSla(regions.items, f.province);
      drawTrend(trend);
      drawOverdue(regencies.items.filter((r) => inProvince(r.code)));
      const through = regions.refreshed_through ? new Date(regions.refreshed_through) : null;
      status.textContent = "Periode " + regions.period.from + " s.d. " + regions.period.to +
        (through ? " · data sampai " + through.toLocaleString("id-ID") : "") +
        " · ukuran dengan kurang dari " + regions.period.min_count + " aduan tidak dinilai";
      document.body.dataset.loaded = "true";
    } catch (err) {
      if (err.status === 401) { signOut(); $("login-error").textContent = "Sesi berakhir, silakan masuk lagi."; return; }
      status.textContent = err.status === 403
        ? "Akun ini bukan admin atau ops: statistik tidak dapat ditampilkan."
        : err.status === 404 ? "Statistik belum tersedia di server ini." : "Gagal memuat: " + err.message;
      document.body.dataset.loaded = "error";
    }
  }

  function fillProvinces(items) {
    if (provinces.length) return;
    provinces = items.map((r) => ({ code: r.code, name: r.name }));
    const select = $("filters").province;
    for (const p of provinces) select.appendChild(el("option", { value: p.code }, p.name));
  }

  function measure(item, name) {
    const m = item.measures && item.measures[name];
    return m ? m.value : null;
  }

  // --- drawing ---------------------------------------------------------------------------

  function drawKpis(regions) {
    const sum = (name) => regions.reduce((acc, r) => acc + (measure(r, name) || 0), 0);
    const ratio = (name) => {
      let num = 0, den = 0;
      for (const r of regions) {
        const m = r.measures[name];
        if (m && m.denominator) { num += m.numerator; den += m.denominator; }
      }
      return den ? (100 * num) / den : null;
    };
    const set = (id, value, text) => { const n = $(id); n.dataset.value = value === null ? "" : String(value); n.textContent = text; };
    const complaints = sum("complaints");
    set("kpi-complaints", complaints, fmt(complaints));
    const finished = ratio("finished_share");
    set("kpi-finished", finished, pct(finished === null ? null : Math.round(finished * 10) / 10));
    const completion = ratio("completion_compliance");
    set("kpi-completion", completion, pct(completion === null ? null : Math.round(completion * 10) / 10));
    const overdue = sum("overdue");
    set("kpi-overdue", overdue, fmt(overdue));
  }

  function drawTiles(items, selected) {
    const box = $("tiles");
    box.replaceChildren();
    for (const item of [...items].sort((a, b) => a.code.localeCompare(b.code))) {
      const grade = item.grade;
      const tile = el("button", {
        type: "button", class: "tile " + (GRADE_CLASS[grade] || "g-none") + (item.code === selected ? " selected" : ""),
        "data-code": item.code, "data-grade": grade || "", "data-score": item.score === null ? "" : item.score,
        title: item.reason,
      });
      tile.appendChild(el("b", {}, item.name));
      tile.appendChild(document.createTextNode((grade || "—") + (item.score === null ? "" : " · " + fmt(item.score))));
      tile.addEventListener("click", () => {
        const select = $("filters").province;
        select.value = select.value === item.code ? "" : item.code;
        load();
      });
      box.appendChild(tile);
    }
  }

  function drawRanking(ranking, province) {
    const name = province ? (provinces.find((p) => p.code === province) || {}).name : null;
    $("ranking-title").textContent = name ? "Peringkat kabupaten/kota — " + name : "Peringkat provinsi";
    const body = $("ranking").tBodies[0];
    body.replaceChildren();
    const items = [...ranking.items].sort((a, b) => (a.rank ?? 1e9) - (b.rank ?? 1e9));
    for (const item of items) {
      const row = el("tr", { "data-code": item.code, "data-rank": item.rank ?? "", "data-score": item.score ?? "" });
      row.appendChild(el("td", { class: "num" }, item.rank === null ? "–" : String(item.rank)));
      row.appendChild(el("td", {}, item.name));
      const badge = el("span", { class: "badge " + (GRADE_CLASS[item.grade] || "g-none") }, item.grade || "Tidak dinilai");
      row.appendChild(el("td")).appendChild(badge);
      row.appendChild(el("td", { class: "num" }, fmt(item.score)));
      row.appendChild(el("td", { class: "reason" }, item.reason));
      body.appendChild(row);
    }
  }

  function drawSla(regions, selected) {
    const name = $("sla-clock").value;
    const rows = regions
      .map((r) => ({ code: r.code, name: r.name, m: r.measures[name] || { value: null, small: true } }))
      .sort((a, b) => (b.m.value ?? -1) - (a.m.value ?? -1));
    const bar = 14, gap = 4, left = 150, width = 520, top = 6;
    const height = top + rows.length * (bar + gap) + 20;
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Kepatuhan SLA per provinsi" });
    const scale = (v) => ((width - left - 50) * v) / 100;
    for (const t of [0, 50, 100]) {
      chart.appendChild(svg("line", { class: "axis", x1: left + scale(t), x2: left + scale(t), y1: 0, y2: height - 16 }));
      chart.appendChild(svg("text", { x: left + scale(t), y: height - 4, "text-anchor": "middle" }, t + "%"));
    }
    rows.forEach((r, i) => {
      const y = top + i * (bar + gap);
      const label = svg("text", { x: left - 6, y: y + bar - 3, "text-anchor": "end" }, r.name.length > 22 ? r.name.slice(0, 21) + "…" : r.name);
      chart.appendChild(label);
      const value = r.m.value;
      const group = svg("g", { "data-code": r.code, "data-value": value === null ? "" : value, class: "sla-bar" });
      group.appendChild(svg("title", {}, `${r.name}: ${pct(value)}${r.m.small ? " (data sedikit)" : ""}`));
      group.appendChild(svg("rect", {
        class: "bar-rect" + (value !== null && value < 70 ? " low" : ""), x: left, y,
        width: value === null ? 0 : Math.max(scale(value), 1), height: bar,
        opacity: r.m.small ? 0.4 : (selected && selected !== r.code ? 0.45 : 1),
      }));
      group.appendChild(svg("text", { x: left + (value === null ? 0 : scale(value)) + 4, y: y + bar - 3 }, pct(value)));
      chart.appendChild(group);
    });
    $("sla-chart").replaceChildren(chart);
  }

  function drawTrend(trend) {
    const points = trend.points;
    const width = 520, height = 220, left = 44, bottom = 28, top = 10, right = 10;
    const values = points.map((p) => p.value).filter((v) => v !== null);
    const max = Math.max(1, ...values);
    const x = (i) => left + ((width - left - right) * i) / Math.max(points.length - 1, 1);
    const y = (v) => top + (height - top - bottom) * (1 - v / max);
    const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": "Tren mingguan" });
    for (const t of [0, max / 2, max]) {
      chart.appendChild(svg("line", { class: "axis", x1: left, x2: width - right, y1: y(t), y2: y(t) }));
      chart.appendChild(svg("text", { x: left - 4, y: y(t) + 4, "text-anchor": "end" }, fmt(Math.round(t * 10) / 10)));
    }
    let d = "";
    points.forEach((p, i) => {
      if (p.value === null) return;
      d += (d ? " L" : "M") + x(i).toFixed(1) + " " + y(p.value).toFixed(1);
    });
    chart.appendChild(svg("path", { class: "line", d }));
    points.forEach((p, i) => {
      const dot = svg("circle", {
        class: "dot trend-point", cx: x(i), cy: p.value === null ? y(0) : y(p.value), r: p.value === null ? 0 : 2.5,
        "data-week": p.week, "data-value": p.value === null ? "" : p.value,
      });
      dot.appendChild(svg("title", {}, `${p.week}: ${fmt(p.value)}`));
      chart.appendChild(dot);
      if (i % Math.ceil(points.length / 6) === 0) {
        chart.appendChild(svg("text", { x: x(i), y: height - 8, "text-anchor": "middle" }, p.week.slice(5)));
      }
    });
    $("trend-chart").replaceChildren(chart);
  }

  function drawOverdue(regencies) {
    const rows = regencies
      .map((r) => ({ r, backlog: measure(r, "backlog") || 0, overdue: measure(r, "overdue") || 0 }))
      .filter((x) => x.backlog > 0)
      .sort((a, b) => b.overdue - a.overdue || b.backlog - a.backlog)
      .slice(0, 25);
    const body = $("overdue").tBodies[0];
    body.replaceChildren();
    for (const { r, backlog, overdue } of rows) {
      const share = backlog ? (100 * overdue) / backlog : 0;
      const row = el("tr", { "data-code": r.code, "data-overdue": overdue, "data-backlog": backlog });
      row.appendChild(el("td", {}, r.name));
      row.appendChild(el("td", { class: "num" }, fmt(backlog)));
      row.appendChild(el("td", { class: "num" }, fmt(overdue)));
      row.appendChild(el("td", { class: "num" }, pct(Math.round(share))));
      const meter = el("div", { class: "meter" });
      const fill = el("i");
      fill.style.width = share.toFixed(0) + "%";
      meter.appendChild(fill);
      row.appendChild(el("td")).appendChild(meter);
      body.appendChild(row);
    }
    if (!rows.length) body.appendChild(el("tr")).appendChild(el("td", { colspan: "5" }, "Tidak ada tunggakan."));
  }

  // --- wiring ----------------------------------------------------------------------------

  document.addEventListener("DOMContentLoaded", () => {
    $("login-form").addEventListener("submit", (e) => { signIn(e).catch((err) => { $("login-error").textContent = err.message; }); });
    $("logout").addEventListener("click", signOut);
    $("filters").addEventListener("submit", (e) => { e.preventDefault(); load(); });
    $("sla-clock").addEventListener("change", load);
    $("trend-measure").addEventListener("change", load);
    const signedIn = Boolean(token());
    show(signedIn);
    if (signedIn) load();
  });
})();
