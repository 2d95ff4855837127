// Mock webhook inbox: polls the admin JSON API and renders each callback with its verdicts.
// Every value from a request is inserted with textContent (never innerHTML).
"use strict";

const POLL_MS = 1000;
const LIMIT = 200;
const state = { afterSeq: 0, records: [], path: "" };

function cell(row, text, cls) {
  const td = document.createElement("td");
  td.textContent = text;
  if (cls) td.className = cls;
  row.appendChild(td);
  return td;
}

function verdict(value, okText, badText) {
  if (value === true) return [okText, "ok"];
  if (value === false) return [badText, "bad"];
  return ["not checked", "none"];
}

function tlsVerdict(tls) {
  if (!tls || !tls.clientCertPresented) return ["no client cert", "none"];
  return tls.clientCertVerified ? ["verified", "ok"] : ["not verified", "bad"];
}

function renderRecord(rec) {
  const row = document.createElement("tr");
  row.className = "callback";
  row.dataset.seq = rec.seq;
  row.dataset.messageId = rec.messageId || "";
  const status = rec.response.status === null ? "reset" : String(rec.response.status);
  const [tlsText, tlsCls] = tlsVerdict(rec.tls);
  const [keyText, keyCls] = verdict(rec.apiKeyValid, "valid", "invalid");
  const sigMissing = rec.signature.valid === false && /^missing /.test(rec.signature.detail || "");
  const [sigText, sigCls] = verdict(rec.signature.valid, "valid", sigMissing ? "missing" : "invalid");
  cell(row, String(rec.seq));
  cell(row, new Date(rec.receivedAtMs).toISOString().replace("T", " ").replace("Z", ""));
  cell(row, rec.path);
  cell(row, rec.messageId || "—", "message-id");
  cell(row, rec.callbackType || "—");
  cell(row, tlsText, "tls " + tlsCls);
  cell(row, keyText, "api-key " + keyCls);
  cell(row, sigText + (rec.signature.scheme !== "none" ? " (" + rec.signature.scheme + ")" : ""), "signature " + sigCls);
  cell(row, status, "response status-" + status.charAt(0));
  cell(row, rec.latencyMs.toFixed(2) + " ms");
  cell(row, rec.fault || "");
  const details = document.createElement("tr");
  details.className = "details";
  details.hidden = true;
  const td = document.createElement("td");
  td.colSpan = 11;
  const pre = document.createElement("pre");
  pre.textContent = JSON.stringify(
    { headers: rec.headers, body: tryJson(rec.body), tls: rec.tls, signature: rec.signature, response: rec.response },
    null, 2);
  td.appendChild(pre);
  details.appendChild(td);
  row.addEventListener("click", () => { details.hidden = !details.hidden; });
  return [row, details];
}

function tryJson(text) {
  try { return JSON.parse(text); } catch (e) { return text; }
}

function render() {
  const rows = document.getElementById("rows");
  rows.textContent = "";
  const shown = state.records.slice(-LIMIT).reverse();
  for (const rec of shown) {
    for (const el of renderRecord(rec)) rows.appendChild(el);
  }
  document.getElementById("empty").hidden = shown.length > 0;
}

async function getJson(url) {
  const resp = await fetch(url, { cache: "no-store" });
  if (!resp.ok && resp.status !== 408) throw new Error(url + ": HTTP " + resp.status);
  return resp.json();
}

async function poll() {
  const params = new URLSearchParams({ afterSeq: String(state.afterSeq), limit: String(LIMIT) });
  if (state.path) params.set("path", state.path);
  try {
    const data = await getJson("/requests?" + params.toString());
    if (data.requests.length) {
      state.records = state.records.concat(data.requests).slice(-LIMIT);
      state.afterSeq = data.requests[data.requests.length - 1].seq;
      render();
    }
    const health = await getJson("/health");
    document.getElementById("info-total").textContent = String(health.total);
    document.getElementById("status").textContent = "updated " + new Date().toLocaleTimeString();
  } catch (err) {
    document.getElementById("status").textContent = "admin API unreachable: " + err.message;
  }
}

async function loadInfo() {
  try {
    const info = await getJson("/info");
    document.getElementById("info-url").textContent = info.url + "/<targetId>";
    document.getElementById("info-mtls").textContent = info.mtls + (info.albPassthrough ? " (ALB passthrough)" : "");
    document.getElementById("info-pin").textContent = info.serverPin;
  } catch (err) {
    document.getElementById("status").textContent = "admin API unreachable: " + err.message;
  }
}

function restart() {
  state.afterSeq = 0;
  state.records = [];
  render();
  poll();
}

document.getElementById("filter-path").addEventListener("change", (ev) => {
  const value = ev.target.value.trim();
  state.path = value && !value.startsWith("/") ? "/" + value : value;
  restart();
});
document.getElementById("clear").addEventListener("click", async () => {
  await fetch("/requests", { method: "DELETE" });
  restart();
});
setInterval(() => { if (document.getElementById("live").checked) poll(); }, POLL_MS);
loadInfo();
poll();
