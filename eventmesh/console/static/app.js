// The eventmesh console: polls the daemon's /_eventmesh/ JSON endpoints and draws them.
// Plain browser JavaScript, no framework and nothing loaded from elsewhere: it works offline.
"use strict";

const REFRESH_MS = 2000;
const COLORS = { queue: "--queue", topic: "--topic", stream: "--stream", bus: "--bus", rule: "--rule",
                 function: "--function", mapping: "--mapping", external: "--external" };
const FAILURE_EDGES = new Set(["dlq", "on-failure"]);
const SVG = "http://www.w3.org/2000/svg";

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return node;
}

function svg(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
  return node;
}

async function getJSON(path, options) {
  const reply = await fetch(path, options);
  const body = await reply.json();
  if (!reply.ok) throw new Error(body.message || reply.statusText);
  return body;
}

function table(columns, rows) {
  const head = el("tr", {}, ...columns.map(([label, , num]) => el("th", num ? { class: "num" } : {}, label)));
  const body = rows.map(row => el("tr", {}, ...columns.map(([, get, num]) => {
    const value = get(row);
    return el("td", num ? { class: "num" } : {}, value instanceof Node ? value : (value ?? "–"));
  })));
  return el("table", {}, el("thead", {}, head), el("tbody", {}, ...body));
}

function shortArn(arn) {
  if (!arn || !arn.startsWith("arn:")) return arn;
  const tail = arn.split(":").slice(5).join(":");
  return tail.includes("/") ? tail.split("/").slice(1).join("/") : tail.replace(/^function:/, "");
}

function renderResources(data) {
  document.getElementById("where").textContent = `account ${data.account_id} · ${data.region}`;
  const out = [];
  const section = (title, rows, columns) => {
    out.push(el("h3", {}, `${title} (${rows.length})`));
    out.push(rows.length ? table(columns, rows) : el("p", { class: "muted" }, "none"));
  };
  section("SQS queues", data.sqs, [
    ["name", q => q.is_dlq ? el("span", {}, q.name + " ", el("span", { class: "tag" }, "DLQ")) : q.name],
    ["visible", q => q.visible, true], ["in flight", q => q.in_flight, true], ["delayed", q => q.delayed, true],
    ["oldest (s)", q => q.oldest_age_s, true], ["redrive to", q => shortArn(q.dlq)]]);
  section("SNS topics", data.sns, [["name", t => t.name], ["subscriptions", t => t.subscriptions, true],
    ["published", t => t.published, true], ["delivered", t => t.delivered, true], ["failed", t => t.failed, true]]);
  section("Kinesis streams", data.kinesis, [["name", s => s.name], ["status", s => s.status],
    ["open shards", s => s.open_shards, true], ["records", s => s.records, true]]);
  section("EventBridge buses", data.events, [["name", b => b.name], ["rules", b => b.rules, true],
    ["matched events", b => b.matched, true]]);
  section("Lambda functions", data.lambda, [["name", f => f.name], ["concurrency", f => f.concurrent, true],
    ["reserved", f => f.reserved, true], ["invocations", f => f.invocations, true],
    ["errors", f => f.errors, true], ["throttles", f => f.throttles, true], ["async queued", f => f.async_queue, true]]);
  section("Event source mappings", data.event_source_mappings, [["uuid", m => m.uuid], ["source", m => shortArn(m.source)],
    ["function", m => shortArn(m.function)], ["state", m => m.state], ["batch size", m => m.batch_size, true]]);
  document.getElementById("resources").replaceChildren(...out);
  fillPicker("function-pick", data.lambda.map(f => f.name));
  // DLQs first, the fullest first: what a person opens the console to look at.
  const depth = q => q.visible + q.in_flight + q.delayed;
  const queues = [...data.sqs].sort((a, b) => (b.is_dlq - a.is_dlq) || (depth(b) - depth(a)) || a.name.localeCompare(b.name));
  fillPicker("queue-pick", queues.map(q => q.name), queues.map(q => q.is_dlq ? `${q.name} (DLQ)` : q.name));
}

function fillPicker(id, values, labels) {
  const pick = document.getElementById(id);
  const current = pick.value;
  const same = pick.options.length === values.length && values.every((v, i) => pick.options[i].value === v);
  if (same) return;
  pick.replaceChildren(...values.map((v, i) => el("option", { value: v }, labels ? labels[i] : v)));
  if (values.includes(current)) pick.value = current;
  pick.dispatchEvent(new Event("change"));
}

// A layered drawing: each node one column right of everything that points at it (sources left).
function layout(graph) {
  const rank = new Map(graph.nodes.map(n => [n.id, 0]));
  for (let pass = 0; pass < graph.nodes.length; pass++) {
    let moved = false;
    for (const e of graph.edges) {
      if (e.from === e.to || FAILURE_EDGES.has(e.kind) && rank.get(e.to) > 0) continue;
      const want = rank.get(e.from) + 1;
      if (want > rank.get(e.to) && want < graph.nodes.length) { rank.set(e.to, want); moved = true; }
    }
    if (!moved) break;
  }
  const columns = [];
  for (const n of graph.nodes) (columns[rank.get(n.id)] ||= []).push(n);
  const at = new Map();
  columns.forEach((column, x) => (column || []).forEach((n, y) => at.set(n.id, { x, y })));
  return { at, columns: columns.length, rows: Math.max(1, ...columns.map(c => (c || []).length)) };
}

function renderTopology(graph) {
  const W = 170, H = 34, GX = 70, GY = 22, PAD = 16;
  const { at, columns, rows } = layout(graph);
  const width = PAD * 2 + columns * W + (columns - 1) * GX, height = PAD * 2 + rows * H + (rows - 1) * GY;
  const root = svg("svg", { width: Math.max(width, 300), height: Math.max(height, 60), role: "img",
                            "aria-label": "topology graph" });
  const defs = svg("defs");
  for (const [id, color] of [["arrow", "#8a93a6"], ["arrow-bad", "#c62828"]]) {
    const marker = svg("marker", { id, viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 7, markerHeight: 7,
                                   orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: color }));
    defs.append(marker);
  }
  root.append(defs);
  const box = id => { const p = at.get(id); return { x: PAD + p.x * (W + GX), y: PAD + p.y * (H + GY) }; };
  for (const e of graph.edges) {
    if (!at.has(e.from) || !at.has(e.to)) continue;
    const a = box(e.from), b = box(e.to), bad = FAILURE_EDGES.has(e.kind);
    const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
    const back = x2 <= x1;
    const d = back ? `M ${a.x + W / 2} ${a.y + H} C ${a.x + W / 2} ${a.y + H + 40}, ${b.x + W / 2} ${b.y + H + 40}, ${b.x + W / 2} ${b.y + H}`
                   : `M ${x1} ${y1} C ${x1 + GX / 2} ${y1}, ${x2 - GX / 2} ${y2}, ${x2} ${y2}`;
    const path = svg("path", { d, fill: "none", stroke: bad ? "#c62828" : "#8a93a6", "stroke-width": 1.4,
                               "stroke-dasharray": bad ? "5 3" : "", "marker-end": `url(#${bad ? "arrow-bad" : "arrow"})` });
    const title = svg("title"); title.textContent = `${e.kind}${e.label ? ": " + e.label : ""}`;
    path.append(title);
    root.append(path);
  }
  const styles = getComputedStyle(document.documentElement);
  for (const n of graph.nodes) {
    const p = box(n.id), color = styles.getPropertyValue(COLORS[n.kind] || "--external").trim();
    const g = svg("g", { class: `node ${n.kind}` });
    g.append(svg("rect", { x: p.x, y: p.y, width: W, height: H, rx: 6, fill: "#fff", stroke: color, "stroke-width": 2 }));
    g.append(svg("rect", { x: p.x, y: p.y, width: 6, height: H, rx: 3, fill: color }));
    const label = svg("text", { x: p.x + 14, y: p.y + H / 2 + 4 });
    label.textContent = n.label.length > 22 ? n.label.slice(0, 21) + "…" : n.label;
    const title = svg("title"); title.textContent = `${n.kind}: ${n.id}`;
    g.append(label, title);
    root.append(g);
  }
  document.getElementById("topology").replaceChildren(
    graph.nodes.length ? root : el("p", { class: "muted" }, "no resources yet"));
  document.getElementById("legend").replaceChildren(...Object.entries(COLORS).map(
    ([kind, v]) => el("span", { style: `--c: var(${v})` }, kind)),
    el("span", { style: "--c: var(--bad)" }, "failure path (DLQ, on-failure)"));
}

async function renderInvocations() {
  const name = document.getElementById("function-pick").value;
  const target = document.getElementById("invocations");
  if (!name) { target.replaceChildren(el("p", { class: "muted" }, "no functions")); return; }
  const data = await getJSON(`/_eventmesh/invocations?function=${encodeURIComponent(name)}&limit=10`);
  if (!data.invocations.length) { target.replaceChildren(el("p", { class: "muted" }, "no invocations yet")); return; }
  target.replaceChildren(...data.invocations.map(inv => el("div", { class: "invocation" },
    el("div", {}, `t=${inv.started_at.toFixed(3)} · ${inv.duration_ms} ms · ${inv.async ? "async" : "sync"} · version ${inv.version} `,
       inv.error_type ? el("span", { class: "error" }, `${inv.error_type}: ${inv.error_message || ""}`) : el("span", { class: "muted" }, "ok")),
    el("pre", {}, inv.log))));
}

async function renderMessages() {
  const name = document.getElementById("queue-pick").value;
  const target = document.getElementById("messages");
  if (!name) { target.replaceChildren(el("p", { class: "muted" }, "no queues")); return; }
  const data = await getJSON(`/_eventmesh/messages?queue=${encodeURIComponent(name)}&limit=20`);
  if (!data.messages.length) { target.replaceChildren(el("p", { class: "muted" }, `${data.queue} is empty`)); return; }
  target.replaceChildren(table([["id", m => m.message_id.slice(0, 8)], ["state", m => m.state],
    ["receives", m => m.receive_count, true], ["body", m => el("span", { class: "mono" }, m.body.length > 120 ? m.body.slice(0, 119) + "…" : m.body)]],
    data.messages));
}

function renderClock(clock) {
  document.getElementById("clock-mode").textContent = clock.mode;
  document.getElementById("clock-now").textContent = `t = ${clock.now.toFixed(3)} s`;
  document.getElementById("advance-form").hidden = clock.mode !== "virtual";
}

async function refresh() {
  try {
    const [clock, resources, graph] = await Promise.all([
      getJSON("/_eventmesh/clock"), getJSON("/_eventmesh/resources"), getJSON("/_eventmesh/topology")]);
    renderClock(clock);
    renderResources(resources);
    renderTopology(graph);
    await Promise.all([renderInvocations(), renderMessages()]);
    document.body.dataset.loaded = "true";
  } catch (err) {
    document.getElementById("clock-message").textContent = `cannot reach the daemon: ${err.message}`;
  }
}

document.getElementById("advance-form").addEventListener("submit", async event => {
  event.preventDefault();
  const seconds = Number(document.getElementById("advance-seconds").value);
  const message = document.getElementById("clock-message");
  try {
    const reply = await getJSON("/_eventmesh/clock", { method: "POST", headers: { "Content-Type": "application/json" },
                                                      body: JSON.stringify({ advance: seconds }) });
    message.textContent = `advanced ${seconds} s (${reply.timers_run} timers ran)`;
  } catch (err) {
    message.textContent = err.message;
  }
  refresh();
});
document.getElementById("function-pick").addEventListener("change", () => renderInvocations().catch(() => {}));
document.getElementById("queue-pick").addEventListener("change", () => renderMessages().catch(() => {}));

refresh();
setInterval(refresh, REFRESH_MS);
