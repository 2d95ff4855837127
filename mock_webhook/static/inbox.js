// Mock webhook inbox: polls the admin JSON API and adds each callback (and each failed TLS handshake) as a
// row. Rows are added, never rebuilt, so an opened row stays open while new ones stream in. Attempts of one
// message are grouped (newest first). Every value from a request is inserted with textContent.
"use strict";

const POLL_MS = 1000;
const LIMIT = 200;
const SKIP_IN_CURL = new Set(["host", "content-length", "user-agent", "accept", "accept-encoding", "connection"]);
const MASKED = /^\*\*\*sha256:/;
const state = { afterSeq: 0, path: "", info: {}, groups: new Map(), count: 0 };
const timeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  fractionalSecondDigits: 3, hour12: false, timeZoneName: "short",
});

function el(tag, cls, text) {
  const node = document.createElement(tag);
  if (cls) node.className = cls;
  if (text !== undefined) node.textContent = text;
  return node;
}

function cell(row, text, cls) {
  const td = el("td", cls, text);
  row.appendChild(td);
  return td;
}

function localTime(ms) {
  return timeFormat.format(new Date(ms));
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

function signatureText(sig) {
  const parts = Object.entries(sig.schemes || {});
  if (!parts.length) return [sig.valid === null ? "none" : String(sig.valid), "none"];
  const text = parts.map(([scheme, p]) => scheme + " " + p.verdict + (p.required ? "" : " (not owed)")).join(", ");
  return [text, sig.valid === true ? "ok" : sig.valid === false ? "bad" : "none"];
}

function responseMessage(rec) {
  try {
    const body = JSON.parse(rec.response.body);
    if (body && typeof body.message === "string") return body.message;
  } catch (e) { /* not JSON */ }
  return rec.response.body || "";
}

// Why this request was not a clean success, in words (empty when it was).
function whyNot(rec) {
  if (rec.kind === "handshake") return "TLS handshake failed: " + rec.reason;
  const why = [];
  if (rec.faultDetail) why.push(rec.faultDetail);
  if (rec.response.status === null) why.push("connection reset, no response");
  if (rec.tls && rec.tls.clientCertPresented && !rec.tls.clientCertVerified) why.push(rec.tls.detail);
  if (rec.apiKeyValid === false) why.push("API key does not match the configured one");
  if (rec.signature.valid === false) why.push("signature: " + rec.signature.detail);
  const status = rec.response.status;
  if (status !== null && status >= 300 && !rec.faultDetail) why.push(status + " " + responseMessage(rec));
  return why.join(" · ");
}

function pretty(text) {
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return text; }
}

function shellQuote(text) {
  return "'" + String(text).replace(/'/g, "'\\''") + "'";
}

function curlOf(rec) {
  const url = (state.info.url || "https://127.0.0.1:8443") + rec.path;
  const words = ["curl --request POST " + shellQuote(url)];
  for (const [name, value] of Object.entries(rec.headers)) {
    if (SKIP_IN_CURL.has(name)) continue;
    words.push(MASKED.test(value) ? '--header "' + name + ': $API_KEY"' : "--header " + shellQuote(name + ": " + value));
  }
  words.push("--cacert ca.pem --cert client-cert.pem --key client-key.pem");
  words.push("--data-binary " + shellQuote(rec.body));
  return words.join(" \\\n  ");
}

function tabsFor(rec) {
  if (rec.kind === "handshake") {
    return [["TLS", JSON.stringify(rec, null, 2)]];
  }
  const headers = Object.entries(rec.headers).map(([k, v]) => k + ": " + v).join("\n");
  const sig = Object.entries(rec.signature.schemes || {})
    .map(([scheme, p]) => scheme + ": " + p.verdict + (p.required ? " (required)" : "") + (p.sent ? "" : " (not sent)") + "\n  " + p.detail)
    .join("\n") || rec.signature.detail;
  const summary = "overall: " + (rec.signature.valid === true ? "valid" : rec.signature.valid === false ? "invalid" : "not checked");
  const response = "response " + (rec.response.status === null ? "reset" : rec.response.status) + "\n" + pretty(rec.response.body || "");
  return [
    ["Headers", headers],
    ["Body", pretty(rec.body)],
    ["TLS", JSON.stringify(rec.tls, null, 2)],
    ["Signatures", summary + "\n" + sig + "\n\nAPI key: " + verdict(rec.apiKeyValid, "valid", "invalid")[0]],
    ["Response", response + (rec.faultDetail ? "\n\nfault: " + rec.faultDetail : "")],
    ["curl", curlOf(rec)],
  ];
}

function detailsRow(rec) {
  const row = el("tr", "details");
  row.hidden = true;
  const td = el("td");
  td.colSpan = 12;
  const bar = el("div", "tabs");
  bar.setAttribute("role", "tablist");
  const panels = [];
  for (const [name, text] of tabsFor(rec)) {
    const button = el("button", "tab", name);
    button.type = "button";
    button.dataset.tab = name;
    const panel = el("pre", "panel", text);
    panel.dataset.tab = name;
    panel.hidden = panels.length > 0;
    if (!panel.hidden) button.classList.add("active");
    button.addEventListener("click", (ev) => {
      ev.stopPropagation();
      for (const b of bar.querySelectorAll(".tab")) b.classList.toggle("active", b === button);
      for (const p of panels) p.hidden = p !== panel;
    });
    bar.appendChild(button);
    panels.push(panel);
  }
  if (rec.kind !== "handshake") {
    const copy = el("button", "copy-curl", "Copy as curl");
    copy.type = "button";
    copy.addEventListener("click", async (ev) => {
      ev.stopPropagation();
      try {
        await navigator.clipboard.writeText(curlOf(rec));
        copy.textContent = "Copied";
      } catch (err) {
        copy.textContent = "Copy failed: see the curl tab";
      }
    });
    bar.appendChild(copy);
  }
  td.appendChild(bar);
  for (const panel of panels) td.appendChild(panel);
  row.appendChild(td);
  return row;
}

function entryRow(rec) {
  const row = el("tr", "entry " + rec.kind);
  row.dataset.seq = rec.seq;
  row.dataset.kind = rec.kind;
  cell(row, String(rec.seq));
  cell(row, localTime(rec.receivedAtMs), "time").title = new Date(rec.receivedAtMs).toISOString();
  if (rec.kind === "handshake") {
    cell(row, rec.peer + (rec.sni ? " → " + rec.sni : ""));
    cell(row, "—");
    cell(row, "—", "attempt");
    cell(row, "TLS handshake");
    const presented = rec.clientCertPresented;
    cell(row, presented === true ? "cert presented" : presented === false ? "no client cert" : "not reached", "tls bad");
    cell(row, "—");
    cell(row, "—");
    cell(row, "handshake failed", "response status-handshake");
    cell(row, "—");
  } else {
    row.dataset.messageId = rec.messageId || "";
    const status = rec.response.status === null ? "reset" : String(rec.response.status);
    const [tlsText, tlsCls] = tlsVerdict(rec.tls);
    const [keyText, keyCls] = verdict(rec.apiKeyValid, "valid", "invalid");
    const [sigText, sigCls] = signatureText(rec.signature);
    cell(row, rec.path);
    cell(row, rec.messageId || "—", "message-id");
    cell(row, "", "attempt");
    cell(row, rec.callbackType || "—");
    cell(row, tlsText, "tls " + tlsCls);
    cell(row, keyText, "api-key " + keyCls);
    cell(row, sigText, "signature " + sigCls);
    cell(row, status, "response status-" + status.charAt(0));
    cell(row, rec.latencyMs.toFixed(2) + " ms");
  }
  const why = whyNot(rec);
  cell(row, why || "✓", "why " + (why ? "bad" : "ok"));
  return row;
}

function groupFor(rec) {
  const key = rec.kind === "request" && rec.messageId ? "m:" + rec.messageId : "s:" + rec.seq;
  let group = state.groups.get(key);
  if (!group) {
    group = { body: el("tbody", "group"), attempts: [] };
    group.body.dataset.group = key;
    state.groups.set(key, group);
  }
  return group;
}

function add(rec) {
  const group = groupFor(rec);
  const row = entryRow(rec);
  const details = detailsRow(rec);
  row.addEventListener("click", () => {
    details.hidden = !details.hidden;
    row.classList.toggle("open", !details.hidden);
  });
  group.body.insertBefore(details, group.body.firstChild);
  group.body.insertBefore(row, details);
  group.attempts.push({ row, rec });
  const n = group.attempts.length;
  group.attempts.forEach((attempt, i) => {
    const text = attempt.rec.kind === "request" ? (i + 1) + " of " + n : "—";
    attempt.row.querySelector(".attempt").textContent = text;
  });
  const table = document.getElementById("inbox");
  const first = table.tBodies[0];
  if (first !== group.body) table.insertBefore(group.body, first || null);
  state.count += 1;
}

async function getJson(url) {
  const resp = await fetch(url, { cache: "no-store" });
  if (!resp.ok && resp.status !== 408) throw new Error(url + ": HTTP " + resp.status);
  return resp.json();
}

async function poll() {
  const params = new URLSearchParams({ afterSeq: String(state.afterSeq), limit: String(LIMIT), kind: "all" });
  if (state.path) params.set("path", state.path);
  try {
    const data = await getJson("/requests?" + params.toString());
    for (const rec of data.requests) {
      if (rec.seq > state.afterSeq) {
        add(rec);
        state.afterSeq = rec.seq;
      }
    }
    document.getElementById("empty").hidden = state.count > 0;
    const stats = await getJson("/stats");
    document.getElementById("info-total").textContent = String(stats.total);
    document.getElementById("info-handshakes").textContent = String(stats.handshakeFailures.total);
    document.getElementById("status").textContent = "updated " + localTime(Date.now());
  } catch (err) {
    document.getElementById("status").textContent = "admin API unreachable: " + err.message;
  }
}

async function loadInfo() {
  document.getElementById("info-zone").textContent =
    Intl.DateTimeFormat().resolvedOptions().timeZone + " (local time of this browser)";
  try {
    const info = await getJson("/info");
    state.info = info;
    document.getElementById("info-url").textContent = info.url + "/<targetId>";
    document.getElementById("info-mtls").textContent = info.mtls + (info.albPassthrough ? " (ALB passthrough)" : "");
    document.getElementById("info-pin").textContent = info.serverPin;
  } catch (err) {
    document.getElementById("status").textContent = "admin API unreachable: " + err.message;
  }
}

function restart() {
  state.afterSeq = 0;
  state.count = 0;
  state.groups.clear();
  for (const body of Array.from(document.getElementById("inbox").tBodies)) body.remove();
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
loadInfo().then(poll);
