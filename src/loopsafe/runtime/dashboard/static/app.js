// loopsafe dashboard: plain DOM and SVG, no dependencies, no build step.
// Data arrives over Server-Sent Events ("events"); each message carries the new stall events and
// series points since the last one, and the small figures whole. Text from the server is only
// ever set with textContent, never parsed as HTML.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const KEEP_S = 600; // the server keeps ten minutes of series
const LIBRARY = /\/(site-packages|dist-packages|lib\/python3\.\d+)\//; // dimmed in stacks
const state = {
  snap: null, // the latest message, without its deltas
  lag: new Map(), // second -> highest lag (s)
  pool: new Map(), // second -> [total, used, waiting]
  stalls: new Map(), // id -> stall event, without its stack
  now: 0, // the server's clock at the latest message
  windowS: 300,
  selected: null, // the id of the stall whose stack is shown
  lastMessage: 0,
};

// -- small helpers ---------------------------------------------------------------------------

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function svg(tag, attrs, parent) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  if (parent) parent.append(node);
  return node;
}

function dur(s) {
  if (s === null || s === undefined) return "–";
  if (s === 0) return "0";
  if (s < 0.001) return (s * 1000).toFixed(2) + " ms";
  if (s < 0.1) return (s * 1000).toFixed(1) + " ms";
  if (s < 1) return Math.round(s * 1000) + " ms";
  if (s < 120) return s.toFixed(2) + " s";
  return Math.round(s / 60) + " min";
}

function clock(t) {
  return new Date(t * 1000).toLocaleTimeString([], { hour12: false });
}

function frameLabel(f) {
  return f ? `${f.path}:${f.line} ${f.function}` : "(not sampled)";
}

function shortPath(path) {
  const parts = String(path).split("/");
  return parts.length > 3 ? "…/" + parts.slice(-3).join("/") : path;
}

function facts(dl, pairs) {
  dl.replaceChildren(
    ...pairs.map(([k, v, cls]) => el("div", {}, el("dt", {}, k), el("dd", cls ? { class: cls } : {}, v))),
  );
}

function fillTable(table, rows) {
  table.tBodies[0].replaceChildren(...rows);
  const empty = table.parentElement.querySelector(".empty");
  if (empty) empty.classList.toggle("hidden", rows.length > 0);
  table.classList.toggle("hidden", rows.length === 0);
}

function niceStep(range, count) {
  const raw = range / Math.max(count, 1);
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * mag >= raw) return m * mag;
  return 10 * mag;
}

// -- charts ----------------------------------------------------------------------------------

// Draws series over [t0, t1] in an SVG; returns the scales so callers can add marks.
function chart(node, { t0, t1, yMax, yFormat, series, hline }) {
  const W = node.clientWidth || 800;
  const H = node.clientHeight || 220;
  const m = { l: 58, r: 12, t: 10, b: 22 };
  node.setAttribute("viewBox", `0 0 ${W} ${H}`);
  node.replaceChildren();
  const x = (t) => m.l + ((t - t0) / (t1 - t0)) * (W - m.l - m.r);
  const y = (v) => H - m.b - (Math.min(v, yMax) / yMax) * (H - m.t - m.b);
  const grid = svg("g", { class: "grid" }, node);
  const step = niceStep(yMax, 4);
  for (let v = 0; v <= yMax * 1.0001; v += step) {
    svg("line", { x1: m.l, x2: W - m.r, y1: y(v), y2: y(v) }, grid);
    svg("text", { x: m.l - 6, y: y(v) + 4, "text-anchor": "end" }, node).textContent = yFormat(v);
  }
  const tStep = [10, 15, 30, 60, 120, 300].find((s) => (t1 - t0) / s <= 7) || 600;
  for (let t = Math.ceil(t0 / tStep) * tStep; t <= t1; t += tStep) {
    if (x(t) < m.l + 24 || x(t) > W - m.r - 24) continue; // a label cut by the edge says nothing
    svg("text", { x: x(t), y: H - 6, "text-anchor": "middle" }, node).textContent = clock(t);
  }
  svg("line", { class: "axis", x1: m.l, x2: W - m.r, y1: H - m.b, y2: H - m.b }, node);
  for (const s of series) {
    const pts = s.points.filter(([t]) => t >= t0 - 1);
    if (!pts.length) continue;
    let d = "";
    let prev = null;
    for (const [t, v] of pts) {
      // A gap of more than five seconds (monitor stopped) breaks the line.
      d += `${prev !== null && t - prev <= 5 ? "L" : "M"}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      prev = t;
    }
    if (s.area) {
      const first = x(pts[0][0]).toFixed(1);
      const last = x(pts[pts.length - 1][0]).toFixed(1);
      svg("path", { class: "area", d: `M${first},${y(0)}${d.replace(/M/g, "L")}L${last},${y(0)}Z` }, node);
    }
    svg("path", { class: `line ${s.cls}`, d }, node);
  }
  if (hline !== undefined && hline <= yMax) {
    svg("line", { class: "threshold", x1: m.l, x2: W - m.r, y1: y(hline), y2: y(hline) }, node);
  }
  return { x, y, H, m };
}

// The chart's time range: the chosen window, or less while the data is younger than that.
function timeRange() {
  const t1 = state.now;
  const first = Math.min(...state.lag.keys(), ...state.pool.keys(), t1);
  return [Math.max(t1 - state.windowS, Math.min(first, t1 - 60)), t1];
}

function renderLag() {
  const node = document.getElementById("lag-chart");
  const [t0, t1] = timeRange();
  const points = [...state.lag].filter(([t]) => t >= t0).sort((a, b) => a[0] - b[0]);
  const stalls = [...state.stalls.values()].filter((s) => s.started_at + s.duration_s >= t0);
  const threshold = state.snap.threshold_s || 0.05;
  const highest = Math.max(0, ...points.map((p) => p[1]), ...stalls.map((s) => s.duration_s));
  const yMax = Math.max(threshold * 2, highest * 1.12);
  const { x, y, H, m } = chart(node, {
    t0, t1, yMax, hline: threshold,
    yFormat: (v) => dur(v),
    // A point covers its whole second: drawn mid-second, near the stalls that ended in it.
    series: [{ points: points.map(([t, v]) => [t + 0.5, v]), cls: "lag", area: true }],
  });
  node.dataset.points = String(points.length);
  node.dataset.max = String(highest);
  for (const s of stalls) {
    const end = s.started_at + s.duration_s;
    const g = svg("g", { class: "stall-mark", "data-id": s.id, tabindex: "0" }, node);
    if (s.id === state.selected) g.classList.add("selected");
    const left = Math.max(x(s.started_at), m.l);
    svg("rect", { class: "band", x: left, y: m.t, width: Math.max(x(end) - left, 3), height: H - m.t - m.b }, g);
    svg("circle", { class: "hit", cx: x(end), cy: y(s.duration_s), r: 10 }, g);
    svg("circle", { class: "dot", cx: x(end), cy: y(s.duration_s), r: 5.5 }, g);
    svg("title", {}, g).textContent = `${dur(s.duration_s)} in ${s.route || "(outside a request)"}`;
  }
  const lag = state.snap.lag || {};
  document.getElementById("lag-summary").textContent =
    `since start: p50 ${dur(lag.p50_s)} · p99 ${dur(lag.p99_s)} · max ${dur(lag.max_s)}`;
}

function renderPool() {
  const node = document.getElementById("pool-chart");
  const [t0, t1] = timeRange();
  const rows = [...state.pool].filter(([t]) => t >= t0).sort((a, b) => a[0] - b[0]);
  const pool = state.snap.threadpool || {};
  // Scaled to what is used and waiting, so one busy thread shows; the total (often 40) comes
  // into view as the pool fills up.
  const busiest = Math.max(0, ...rows.map(([, v]) => Math.max(v[1], v[2])));
  const total = Math.max(0, ...rows.map(([, v]) => v[0]));
  const yMax = total && total <= Math.max(4, busiest * 1.25) ? total * 1.1 : Math.max(4, busiest * 1.25);
  chart(node, {
    t0, t1, yMax,
    yFormat: (v) => String(Math.round(v * 10) / 10),
    series: [
      { points: total <= yMax ? rows.map(([t, v]) => [t + 0.5, v[0]]) : [], cls: "total" },
      { points: rows.map(([t, v]) => [t + 0.5, v[2]]), cls: "waiting" },
      { points: rows.map(([t, v]) => [t + 0.5, v[1]]), cls: "used" },
    ],
  });
  node.dataset.points = String(rows.length);
  document.getElementById("pool-summary").textContent = pool.total === null || pool.total === undefined
    ? "no thread pool seen (anyio not running this loop)"
    : `now ${pool.used} of ${pool.total} used, ${pool.waiting} waiting · peak ${pool.max_used} · `
      + `${pool.saturation_events} saturation events`;
}

// -- tables ----------------------------------------------------------------------------------

function renderCulprits() {
  const rows = (state.snap.culprits || []).slice(0, 10).map((c) => {
    const where = el("td", {}, el("span", { class: "loc", title: c.culprit }, c.frame ? `${shortPath(c.frame.path)}:${c.frame.line} ${c.frame.function}` : c.culprit));
    if (c.frame && c.frame.code) where.append(el("span", { class: "code" }, c.frame.code));
    const routes = Object.entries(c.routes || {}).sort((a, b) => b[1] - a[1])
      .map(([r, n]) => `${r} ×${n}`).join(", ");
    return el("tr", {}, where, el("td", { class: "num" }, c.count), el("td", { class: "num" }, dur(c.total_s)),
      el("td", { class: "num" }, dur(c.max_s)), el("td", { class: "routes-of" }, routes));
  });
  fillTable(document.getElementById("culprits"), rows);
}

function renderRecent() {
  const recent = [...state.stalls.values()].sort((a, b) => b.id - a.id).slice(0, 10);
  const rows = recent.map((s) => {
    const f = s.user_frame || s.culprit;
    const tr = el("tr", { class: "clickable", "data-id": s.id },
      el("td", { class: "num" }, clock(s.started_at)), el("td", { class: "num bad" }, dur(s.duration_s)),
      el("td", {}, s.route || "(outside a request)"),
      el("td", {}, el("span", { class: "loc" }, f ? `${shortPath(f.path)}:${f.line}` : "(not sampled)")));
    return tr;
  });
  fillTable(document.getElementById("recent"), rows);
}

function renderRoutes() {
  const routes = Object.entries(state.snap.routes || {});
  const busiest = Math.max(1, ...routes.map(([, r]) => r.in_flight || 0));
  const rows = routes.map(([name, r]) => {
    const fill = el("span", { class: "fill" });
    fill.style.width = `${Math.round(((r.in_flight || 0) / busiest) * 70)}px`;
    return el("tr", {},
      el("td", {}, el("span", { class: "loc" }, name)),
      el("td", {}, el("span", { class: "bar" }, fill, String(r.in_flight || 0))),
      el("td", { class: "num" }, r.requests ?? 0),
      el("td", { class: r.errors ? "num bad" : "num" }, r.errors ?? 0),
      el("td", { class: "num" }, dur(r.p50_s)), el("td", { class: "num" }, dur(r.p99_s)),
      el("td", { class: "num" }, dur(r.max_s)),
      el("td", { class: r.stalls ? "num bad" : "num" }, r.stalls ?? 0),
      el("td", { class: "num" }, dur(r.blocked_s)));
  });
  fillTable(document.getElementById("routes"), rows);
}

function renderShed() {
  const shed = state.snap.shed;
  const on = shed !== null && typeof shed === "object";
  document.getElementById("shed-off").classList.toggle("hidden", on);
  document.getElementById("shed-on").classList.toggle("hidden", !on);
  if (!on) return;
  const show = (v) => (v === null || v === undefined ? "–" : typeof v === "object" ? JSON.stringify(v) : String(v));
  facts(document.getElementById("shed-facts"), [
    ["policy", show(shed.policy)], ["limit", show(shed.limit)], ["in flight", show(shed.in_flight)],
    ["queued", show(shed.queued)], ["accepted", show(shed.accepted)],
    ["rejected", show(shed.rejected), shed.rejected ? "bad" : ""],
  ]);
  const reasons = Object.entries(shed.rejected_by_reason || {})
    .map(([k, n]) => el("tr", {}, el("td", {}, k), el("td", { class: "num" }, show(n))));
  fillTable(document.getElementById("shed-reasons"), reasons);
  const priorities = Object.entries(shed.by_priority || {}).map(([k, v]) => el("tr", {}, el("td", {}, k),
    el("td", {}, v !== null && typeof v === "object"
      ? Object.entries(v).map(([a, b]) => `${a} ${show(b)}`).join(" · ") : show(v))));
  fillTable(document.getElementById("shed-priorities"), priorities);
}

function renderHeader() {
  const s = state.snap;
  const up = s.started_at ? dur(state.now - s.started_at) : "not started";
  facts(document.getElementById("facts"), [
    ["pid", s.pid], ["up", up], ["stall threshold", dur(s.threshold_s)],
    ["stalls", s.stall_count, s.stall_count ? "bad" : ""], ["blocked", dur(s.blocked_s_total)],
    ["in flight", s.in_flight],
  ]);
}

function render() {
  if (!state.snap) return;
  renderHeader();
  renderLag();
  renderPool();
  renderCulprits();
  renderRecent();
  renderRoutes();
  renderShed();
}

// -- one stall -------------------------------------------------------------------------------

async function openStall(id) {
  state.selected = id;
  render();
  const card = document.getElementById("stall-detail");
  const title = document.getElementById("stall-title");
  title.textContent = `Stall #${id}`;
  document.getElementById("stall-stack").replaceChildren();
  card.classList.remove("hidden");
  card.dataset.id = "";
  let stall;
  try {
    const response = await fetch(`api/stalls/${encodeURIComponent(id)}`, { cache: "no-store" });
    if (!response.ok) {
      title.textContent = `Stall #${id}: no longer kept by the monitor`;
      return;
    }
    stall = await response.json();
  } catch (err) {
    title.textContent = `Stall #${id}: could not load it (${err.message})`;
    return;
  }
  if (state.selected !== id) return; // another stall was opened meanwhile
  title.textContent = `Stall #${id}: loop blocked ${dur(stall.duration_s)}`;
  facts(document.getElementById("stall-facts"), [
    ["route", stall.route || "(outside a request)"], ["blocked", dur(stall.duration_s), "bad"],
    ["at", clock(stall.started_at)], ["request", stall.request_id || "–"], ["task", stall.task || "–"],
    ["culprit", frameLabel(stall.culprit)], ["your code", frameLabel(stall.user_frame)],
    ["samples", stall.samples],
  ]);
  const same = (a, b) => a && b && a.path === b.path && a.line === b.line && a.function === b.function;
  const frames = stall.stack || [];
  const items = frames.map((f, i) => {
    const cls = [
      same(f, stall.user_frame) ? "user" : "",
      i === frames.length - 1 && same(f, stall.culprit) ? "culprit" : "",
      LIBRARY.test(f.path) ? "lib" : "",
    ];
    return el("li", { class: cls.join(" ").trim() },
      el("span", { class: "fn" }, f.function), " ", el("span", { class: "loc" }, `${f.path}:${f.line}`),
      f.code ? el("span", { class: "code" }, f.code) : null);
  });
  if (!items.length) items.push(el("li", {}, "No stack: the stall was too short to be sampled."));
  const list = document.getElementById("stall-stack");
  list.replaceChildren(...items);
  list.scrollTop = list.scrollHeight; // the innermost frames, where it blocked, are last
  card.dataset.id = String(id);
  card.scrollIntoView({ block: "nearest", behavior: "smooth" });
}

function closeStall() {
  state.selected = null;
  document.getElementById("stall-detail").classList.add("hidden");
  render();
}

// -- the live stream -------------------------------------------------------------------------

function merge(msg) {
  if (state.snap && msg.pid !== state.snap.pid) {
    // Several workers: this reconnection reached another one. Its figures are its own.
    state.lag.clear();
    state.pool.clear();
    state.stalls.clear();
    if (state.selected !== null) closeStall();
  }
  for (const [t, v] of msg.lag_series || []) state.lag.set(t, v);
  for (const [t, total, used, waiting] of msg.pool_series || []) state.pool.set(t, [total, used, waiting]);
  for (const s of msg.stalls || []) state.stalls.set(s.id, s);
  state.now = msg.now || Date.now() / 1000;
  const oldest = state.now - KEEP_S;
  for (const t of state.lag.keys()) if (t < oldest) state.lag.delete(t);
  for (const t of state.pool.keys()) if (t < oldest) state.pool.delete(t);
  const ids = [...state.stalls.keys()].sort((a, b) => a - b);
  for (const id of ids.slice(0, Math.max(0, ids.length - 500))) state.stalls.delete(id);
  delete msg.lag_series;
  delete msg.pool_series;
  delete msg.stalls;
  state.snap = msg;
}

function setStatus(text, cls) {
  const pill = document.getElementById("status");
  pill.textContent = text;
  pill.className = `pill ${cls}`;
}

function connect() {
  const source = new EventSource("events");
  source.addEventListener("snapshot", (event) => {
    state.lastMessage = Date.now();
    merge(JSON.parse(event.data));
    setStatus(state.snap.running ? "live" : "monitor stopped", state.snap.running ? "live" : "stopped");
    render();
  });
  // The server ends each stream after a few seconds and the browser reconnects where it left
  // off (Last-Event-ID); only a silence longer than that is worth showing.
  setInterval(() => {
    if (state.lastMessage && Date.now() - state.lastMessage > 4000) setStatus("reconnecting", "stale");
  }, 1000);
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("window").addEventListener("change", (e) => {
    state.windowS = Number(e.target.value);
    render();
  });
  document.getElementById("stall-close").addEventListener("click", closeStall);
  // Delegated: the charts and tables are redrawn every second, their containers stay.
  const opener = (selector) => (e) => {
    const mark = e.target.closest(selector);
    if (mark && (e.type === "click" || e.key === "Enter")) openStall(Number(mark.dataset.id));
  };
  const lag = document.getElementById("lag-chart");
  lag.addEventListener("click", opener(".stall-mark"));
  lag.addEventListener("keydown", opener(".stall-mark"));
  document.getElementById("recent").addEventListener("click", opener("tr[data-id]"));
  window.addEventListener("resize", render);
  connect();
});
