// The console page: one WebSocket feed (snapshot, then pushed batches), no framework.
// Everything shown comes from clients and handlers, so it is set with textContent only.
"use strict";

const MAX_LOG_ROWS = 2000;
const token = new URLSearchParams(location.search).get("token") || "";
const state = {
  api: null, connections: new Map(), connectionCount: 0, functions: [], tables: [],
  log: [], routesSeen: new Set(), pending: new Map(), nextId: 1, selected: null,
  tableNext: null, clients: new Map(), rowFields: {},
};
// Log records travel as [kind, fields] (access and output fields as arrays: the snapshot
// says their names), numbered from their batch's seq on; other items are plain objects.
function expandItems(seq, items) {
  return items.map((item) => {
    if (!Array.isArray(item)) return item;
    const [kind, fields] = item;
    const names = state.rowFields[kind];
    const entry = names ? Object.fromEntries(names.map((name, i) => [name, fields[i]])) : { ...fields };
    entry.kind = kind;
    entry.seq = seq++;
    return entry;
  });
}
// Lines whose Lambda invocations a click shows (the console pairs them when asked).
const INVOKING = new Set(["CONNECT", "MESSAGE", "DISCONNECT"]);

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === "class") node.className = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined) node.append(child instanceof Node ? child : String(child));
  }
  return node;
}
const $ = (selector) => document.querySelector(selector);
const time = (at) => (at ? new Date(at * 1000).toLocaleTimeString([], { hour12: false }) : "");
const pretty = (value) => (typeof value === "string" ? value : JSON.stringify(value, null, 2));

// -- feed -----------------------------------------------------------------------------------
let feed;
function openFeed() {
  feed = new WebSocket(`ws://${location.host}/_console/feed?token=${encodeURIComponent(token)}`);
  let opened = false;
  feed.onopen = () => { opened = true; setStatus("feed: live", "ok"); };
  feed.onmessage = (message) => onFeed(JSON.parse(message.data));
  feed.onclose = (event) => {
    for (const { reject } of state.pending.values()) reject(new Error("feed closed"));
    state.pending.clear();
    if (!opened) {
      setStatus("feed refused: open the console URL printed by cdk-ws-api local (it carries this run's token)", "bad");
      return;
    }
    setStatus(`feed closed: ${describeClose(event.code, event.reason)}; reconnecting…`, "bad");
    setTimeout(openFeed, 2000);
  };
}
function setStatus(text, kind) {
  const node = $("#feed-status");
  node.textContent = text;
  node.className = `status ${kind}`;
}
function request(op, params = {}) {
  const id = state.nextId++;
  feed.send(JSON.stringify({ id, op, ...params }));
  return new Promise((resolve, reject) => state.pending.set(id, { resolve, reject }));
}

function onFeed(message) {
  if (message.type === "snapshot") return onSnapshot(message);
  if (message.type === "batch") {
    for (const item of expandItems(message.seq, message.items)) onItem(item);
    if (message.dropped) {
      const node = $("#dropped");
      node.hidden = false;
      node.textContent = `${message.dropped} events dropped (this page read too slowly)`;
    }
    renderConnections();
    return;
  }
  if (message.type === "stats") return onStats(message);
  if (message.type === "reply") {
    const waiter = state.pending.get(message.id);
    state.pending.delete(message.id);
    if (!waiter) return;
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new Error(message.error));
  }
}

function onSnapshot(snapshot) {
  state.api = snapshot.api;
  state.rowFields = snapshot.rowFields;
  const api = snapshot.api;
  $("#api").textContent = `${api.stack} · ${api.name} (${api.id}) · stage ${api.stage} · ${api.websocketUrl}`;
  renderRoutes(snapshot.routes);
  state.tables = snapshot.tables;
  renderTables();
  $("#log tbody").replaceChildren();
  state.log = [];
  for (const entry of expandItems(snapshot.logSeq, snapshot.log)) addLog(entry);
  onStats(snapshot);
}

function onStats(stats) {
  state.connections = new Map(stats.connections.items.map((c) => [c.connectionId, c]));
  state.connectionCount = stats.connections.count;
  state.functions = stats.functions;
  renderConnections();
  renderFunctions();
}

function onItem(item) {
  switch (item.kind) {
    case "open":  // may repeat one the snapshot already listed
      if (!state.connections.has(item.connectionId)) state.connectionCount += 1;
      state.connections.set(item.connectionId, item);
      break;
    case "close":
      if (state.connections.delete(item.connectionId)) state.connectionCount -= 1;
      addLog({ ...item, kind: "closed" });
      break;
    case "client":
      onClientEvent(item);
      break;
    default:
      addLog(item);
  }
}

// -- connections ----------------------------------------------------------------------------
// Rows are keyed by connection id and updated in place: a row (and the post box being typed
// in, and a button under the pointer) survives the counters' updates.
const connectionRows = new Map();
function connectionRow(id) {
  const input = el("input", { class: "post-data", placeholder: "message to post" });
  const cells = Array.from({ length: 7 }, (_, i) => el("td", { class: [0, 3, 4].includes(i) ? "mono" : "" }));
  return el("tr", { class: "connection", "data-id": id }, cells,
    el("td", { class: "actions" }, input,
      el("button", { class: "post", onclick: () => manage("post", id, { data: input.value }) }, "Post"),
      el("button", { class: "inspect", onclick: () => manage("inspect", id) }, "Inspect"),
      el("button", { class: "disconnect danger", onclick: () => manage("disconnect", id) }, "Disconnect")));
}
function renderConnections() {
  $("#connection-count").textContent = state.connectionCount;
  const body = $("#connections tbody");
  for (const [id, row] of connectionRows) {
    if (!state.connections.has(id)) { row.remove(); connectionRows.delete(id); }
  }
  for (const c of state.connections.values()) {
    let row = connectionRows.get(c.connectionId);
    if (!row) {
      row = connectionRow(c.connectionId);
      connectionRows.set(c.connectionId, row);
      body.append(row);
    }
    const values = [c.connectionId, time(c.connectedAt / 1000), c.sourceIp,
      c.query.map(([k, v]) => `${k}=${v}`).join("&"), c.authorizer ? JSON.stringify(c.authorizer) : "",
      time(c.lastActiveAt / 1000), `${c.framesIn} / ${c.framesOut}`];
    values.forEach((value, i) => {
      if (row.children[i].textContent !== value) row.children[i].textContent = value;
    });
  }
  $("#no-connections").hidden = connectionRows.size > 0;
}

async function manage(op, connectionId, params = {}) {
  const output = $("#connection-result");
  output.hidden = false;
  try {
    const result = await request(op, { connectionId, ...params });
    output.className = result.status < 300 ? "result ok" : "result bad";
    output.textContent = `${op} ${connectionId}: HTTP ${result.status}\n${result.body ? pretty(result.body) : ""}`;
  } catch (error) {
    output.className = "result bad";
    output.textContent = `${op} ${connectionId}: ${error.message}`;
  }
}

// -- log ------------------------------------------------------------------------------------
function statusClass(status) {
  if (typeof status !== "number") return "";
  return status >= 500 ? "s5" : status >= 400 ? "s4" : "s2";
}
function logRow(entry) {
  let cells;
  if (entry.kind === "access") {
    cells = [entry.type, entry.route, entry.connectionId, entry.status, `${Math.round(entry.ms)}ms`];
  } else if (entry.kind === "output") {
    cells = ["output", `[${entry.function}]`, entry.line, "", ""];
  } else if (entry.kind === "closed") {
    cells = ["closed", "", entry.connectionId, entry.code, describeClose(entry.code, entry.reason)];
  } else {
    cells = [entry.type || entry.kind, "", JSON.stringify(entry.fields || {}), "", ""];
  }
  const row = el("tr", { class: `log-line ${entry.kind} ${statusClass(entry.status)}` },
    el("td", { class: "time" }, time(entry.at)), ...cells.map((c) => el("td", {}, c)));
  row.dataset.connection = entry.connectionId || "";
  row.dataset.route = entry.route || "";
  row.dataset.status = entry.kind === "access" ? String(entry.status)[0] : entry.kind;
  if (entry.kind === "access" && INVOKING.has(entry.type)) row.classList.add("clickable");
  row.addEventListener("click", () => showDetail(entry, row));
  return row;
}
function addLog(entry) {
  state.log.push(entry);
  const body = $("#log tbody");
  const row = logRow(entry);
  applyFilter(row);
  body.append(row);
  if (state.log.length > MAX_LOG_ROWS) { state.log.shift(); body.firstChild.remove(); }
  if (entry.route && !state.routesSeen.has(entry.route)) {
    state.routesSeen.add(entry.route);
    $("#filter-route").append(el("option", { value: entry.route }, entry.route));
  }
  if ($("#follow").checked && !row.hidden) row.scrollIntoView({ block: "end" });
}
function applyFilter(row) {
  const connection = $("#filter-connection").value.trim();
  const route = $("#filter-route").value;
  const status = $("#filter-status").value;
  row.hidden = Boolean(
    (connection && !row.dataset.connection.includes(connection)) ||
    (route && row.dataset.route !== route) ||
    (status && row.dataset.status !== status));
}
function refilter() { document.querySelectorAll("#log tr").forEach(applyFilter); }

async function showDetail(entry, row) {
  document.querySelectorAll("#log tr.selected").forEach((r) => r.classList.remove("selected"));
  row.classList.add("selected");
  const detail = $("#detail");
  const head = el("h3", {}, entry.kind === "access" ? `${entry.type} ${entry.route} → ${entry.status}` : entry.kind);
  const none = () => detail.replaceChildren(head,
    el("p", { class: "empty" }, "No Lambda invocation for this line."), el("pre", {}, pretty(entry)));
  if (entry.kind !== "access" || !INVOKING.has(entry.type)) return none();
  detail.replaceChildren(head, el("p", {}, "loading…"));
  let found;
  try {
    found = (await request("line", { seq: entry.seq })).invocations;
  } catch (error) {
    detail.replaceChildren(head, el("p", { class: "warn" }, error.message));
    return;
  }
  if (!found.length) return none();
  const parts = [head];
  for (const inv of found) {
    parts.push(el("h4", {}, `${inv.functionName} · ${inv.eventType || inv.route} · ${inv.ms}ms`),
      el("div", { class: "label" }, "event sent"), el("pre", { class: "event" }, pretty(inv.event)),
      el("div", { class: "label" }, inv.error ? "error" : "response returned"),
      el("pre", { class: inv.error ? "response bad" : "response" }, inv.error || pretty(inv.result)));
  }
  detail.replaceChildren(...parts);
}

// -- routes, functions, tables ----------------------------------------------------------------
function renderRoutes(routes) {
  $("#routes tbody").replaceChildren(...routes.map((r) => el("tr", { class: "route", "data-key": r.key },
    el("td", { class: "mono" }, r.key), el("td", {}, r.integration),
    el("td", {}, r.functionName || r.function || "(not emulated)"),
    el("td", {}, r.authorizer ? `${r.authorizer} (${r.authorizationType})` :
      r.authorizationType !== "NONE" ? r.authorizationType : ""),
    el("td", {}, r.twoWay ? "yes (route response)" : "no"))));
}
function renderFunctions() {
  $("#functions").replaceChildren(...state.functions.map((f) => el("div", { class: "function" },
    el("h3", {}, f.name, el("span", { class: "muted" }, ` ${f.handler} · ${f.runtime} · timeout ${f.timeout}s`)),
    el("p", {}, `warm workers: ${f.warm} (busy ${f.busy})`),
    f.recent.length ? el("table", {}, el("tbody", {}, f.recent.slice().reverse().map((i) => el("tr",
      { class: `clickable ${statusClass(i.status)}`, onclick: (e) => showInvocation(i, e.currentTarget) },
      el("td", { class: "time" }, time(i.at)), el("td", {}, i.eventType || i.route),
      el("td", {}, i.route), el("td", { class: "mono" }, i.connectionId || ""),
      el("td", {}, i.error || i.status), el("td", {}, `${i.ms}ms`)))))
      : el("p", { class: "empty" }, "not invoked yet"))));
}
async function showInvocation(summary, row) {
  const pre = el("pre", {}, "loading…");
  row.after(el("tr", {}, el("td", { colspan: 6 }, pre)));
  try {
    const inv = await request("invocation", { invocationId: summary.id });
    pre.textContent = `event sent:\n${pretty(inv.event)}\n\n${inv.error ? "error" : "response returned"}:\n${inv.error || pretty(inv.result)}`;
  } catch (error) { pre.textContent = error.message; }
}
function renderTables() {
  const select = $("#table-select");
  select.replaceChildren(...state.tables.map((t) => el("option", { value: t.name }, `${t.logicalId} (${t.name})`)));
  if (!state.tables.length) $("#table-status").textContent = "This stack has no DynamoDB table.";
}
async function scan(next) {
  const name = $("#table-select").value;
  if (!name) return;
  $("#table-status").textContent = "scanning (the first scan starts the embedded DynamoDB)…";
  try {
    const page = await request("scan", { table: name, limit: 25, startKey: next ? state.tableNext : null });
    state.tableNext = page.nextKey;
    $("#table-next").disabled = !page.nextKey;
    $("#table-status").textContent = `${page.items.length} items${page.nextKey ? " (more: Next page)" : ""}`;
    const columns = [...new Set(page.items.flatMap((item) => Object.keys(item)))];
    $("#table-items").replaceChildren(el("table", { class: "items" },
      el("thead", {}, el("tr", {}, columns.map((c) => el("th", {}, c)))),
      el("tbody", {}, page.items.map((item) => el("tr", {}, columns.map((c) =>
        el("td", { class: "mono" }, item[c] === undefined ? "" : typeof item[c] === "object" ? JSON.stringify(item[c]) : item[c])))))));
  } catch (error) { $("#table-status").textContent = error.message; }
}

// -- test client ------------------------------------------------------------------------------
async function openClient(event) {
  event.preventDefault();
  const headers = $("#client-headers").value.split("\n").map((line) => line.split(/:(.*)/s))
    .filter((parts) => parts[0].trim()).map(([name, value]) => [name.trim(), (value || "").trim()]);
  try {
    const { clientId } = await request("client.open", { query: $("#client-query").value, headers });
    const frames = el("div", { class: "frames" });
    const input = el("input", { class: "client-text", placeholder: '{"action":"whoami"}' });
    const box = el("div", { class: "client", "data-client": clientId },
      el("h3", {}, `test connection #${clientId}`, el("span", { class: "client-state muted" }, " connecting…")),
      el("form", { onsubmit: (e) => { e.preventDefault(); sendClient(clientId, input); } }, input,
        el("button", {}, "Send"),
        el("button", { type: "button", onclick: () => request("client.close", { clientId }) }, "Close")),
      frames);
    state.clients.set(clientId, box);
    $("#client-sessions").prepend(box);
  } catch (error) { alert(error.message); }
}
async function sendClient(clientId, input) {
  try {
    await request("client.send", { clientId, text: input.value });
    clientFrame(clientId, "sent", input.value);
  } catch (error) { clientFrame(clientId, "error", error.message); }
}
function clientFrame(clientId, kind, text) {
  const box = state.clients.get(clientId);
  if (box) box.querySelector(".frames").append(el("div", { class: `frame ${kind}` }, el("b", {}, kind), " ", text));
}
function onClientEvent(item) {
  const box = state.clients.get(item.clientId);
  if (!box) return;
  const label = box.querySelector(".client-state");
  if (item.event === "open") label.textContent = ` open: ${item.url}`;
  else if (item.event === "frame") clientFrame(item.clientId, "received", item.binary ? `(binary, base64) ${item.data}` : item.data);
  else if (item.event === "refused") {
    label.textContent = ` refused: HTTP ${item.status}`;
    clientFrame(item.clientId, "error", `handshake refused: HTTP ${item.status} ${item.body}`);
  } else if (item.event === "close") {
    label.textContent = ` closed: ${describeClose(item.code, item.reason)}`;
    clientFrame(item.clientId, "closed", `${item.byServer ? "by the server" : "by the client"}: ${describeClose(item.code, item.reason)}`);
  } else if (item.event === "error") {
    label.textContent = " failed";
    clientFrame(item.clientId, "error", item.message);
  }
}

// -- wiring ---------------------------------------------------------------------------------
document.querySelectorAll("nav button").forEach((button) => button.addEventListener("click", () => {
  document.querySelectorAll("nav button, .view").forEach((node) => node.classList.remove("active"));
  button.classList.add("active");
  $(`#view-${button.dataset.view}`).classList.add("active");
}));
$("#filter-connection").addEventListener("input", refilter);
$("#filter-route").addEventListener("change", refilter);
$("#filter-status").addEventListener("change", refilter);
$("#table-load").addEventListener("click", () => scan(false));
$("#table-next").addEventListener("click", () => scan(true));
$("#client-form").addEventListener("submit", openClient);
openFeed();
