// processd's web UI: plain JavaScript over the service's own REST API, no build step.
// Every value from the server reaches the page as text (textContent), never as HTML.
"use strict";

// The API beside the page's folder: `/ui/` → `/api`, also behind a proxy's path prefix.
const API = new URL("../api", location.href).pathname;
const main = document.getElementById("main");
let refreshTimer = null;
let stopFollowing = null;

// ---- session: a login JWT or an API token, kept for this tab only ----
const session = {
  get token() { return sessionStorage.getItem("processd.token"); },
  set token(t) { t ? sessionStorage.setItem("processd.token", t) : sessionStorage.removeItem("processd.token"); },
  // Capabilities of processes this tab launched anonymously, by process id.
  capability(id) { return JSON.parse(sessionStorage.getItem("processd.caps") || "{}")[id]; },
  keep(id, cap) {
    const caps = JSON.parse(sessionStorage.getItem("processd.caps") || "{}");
    caps[id] = cap;
    sessionStorage.setItem("processd.caps", JSON.stringify(caps));
  },
};

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`);
    this.status = status;
    this.code = body && body.code;
  }
}

async function api(path, { method = "GET", body, headers = {}, process } = {}) {
  const h = { Accept: "application/json", ...headers };
  if (session.token) h.Authorization = `Bearer ${session.token}`;
  const cap = process && session.capability(process);
  if (cap) h["X-Process-Access"] = cap;
  const res = await fetch(API + path, { method, body, headers: h });
  if (!res.ok) {
    let err = null;
    try { err = await res.json(); } catch (_) { /* not JSON */ }
    if (res.status === 401 && session.token) { session.token = null; showWho(); }
    throw new ApiError(res.status, err);
  }
  return res;
}
const getJson = async (path, opts) => (await api(path, opts)).json();

// ---- DOM helpers ----
function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "class") node.className = v;
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
function render(...nodes) {
  main.replaceChildren(...nodes.flat().filter((n) => n !== null && n !== undefined && n !== false));
}
function when(iso) {
  if (!iso) return el("span", { class: "note" }, "–");
  const d = new Date(iso);
  return el("time", { datetime: iso, title: `${d.toISOString().replace(".000", "")} (UTC)` }, d.toLocaleString());
}
function statusText(p) {
  if (p.processStatus !== "FAILED") return p.processStatus;
  if (p.statusReason === "exit" && p.exitCode !== null) return `FAILED (exit ${p.exitCode})`;
  return p.statusReason ? `FAILED (${p.statusReason})` : "FAILED";
}
function statusCell(p) {
  return el("span", { class: `status ${p.processStatus}` }, statusText(p));
}
function failure(err) {
  if (err.status === 401) return el("p", { class: "error", role: "alert" }, "Please ", el("a", { href: "#/login" }, "log in"), " to see this.");
  if (err.status === 404) return el("p", { class: "error", role: "alert" }, "Not found, or not visible to you.");
  return el("p", { class: "error", role: "alert" }, err.message);
}
function confirmDialog(text) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
    dialog.showModal();
  });
}

// ---- who is logged in ----
let me = null; // {name, uuid, admin} of the logged-in user
const userNames = new Map(); // uuid -> name, for the admin's user column
async function userName(uuid) {
  if (!userNames.has(uuid)) {
    userNames.set(uuid, getJson(`/eperson/epersons/${encodeURIComponent(uuid)}`).then((e) => e.name, () => uuid));
  }
  return userNames.get(uuid);
}
async function showWho() {
  const who = document.getElementById("who");
  const login = document.getElementById("login-link");
  const logout = document.getElementById("logout");
  let name = null;
  if (session.token) {
    try {
      const status = await getJson("/authn/status");
      const eperson = status.authenticated && status._embedded ? status._embedded.eperson : null;
      name = eperson ? eperson.name : null;
      me = eperson ? { name: eperson.name, uuid: eperson.uuid, admin: !!eperson.admin } : null;
    } catch (_) { name = null; me = null; }
  } else me = null;
  who.textContent = name ? `Logged in as ${name}` : "";
  login.hidden = !!name;
  logout.hidden = !name;
}
document.getElementById("logout").addEventListener("click", async () => {
  try { await api("/authn/logout", { method: "POST" }); } catch (_) { /* the session ends here anyway */ }
  session.token = null;
  await showWho();
  location.hash = "#/login";
});
// A login JWT lasts 30 minutes: refresh it while the page is open.
setInterval(async () => {
  if (!session.token || session.token.startsWith("pd_")) return;
  try {
    const res = await api("/authn/login", { method: "POST" });
    const auth = res.headers.get("Authorization");
    if (auth) session.token = auth.replace(/^Bearer /, "");
  } catch (_) { /* expired: the next call says so */ }
}, 10 * 60 * 1000);

// ---- pages ----
async function loginPage() {
  const error = el("p", { class: "error", role: "alert" });
  const user = el("input", { id: "user", name: "user", autocomplete: "username", required: true });
  const password = el("input", { id: "password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const token = el("input", { id: "token", name: "token", autocomplete: "off" });
  const byPassword = el("form", { class: "login", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    try {
      const res = await fetch(`${API}/authn/login`, { method: "POST", body: new URLSearchParams({ user: user.value, password: password.value }) });
      if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
      session.token = res.headers.get("Authorization").replace(/^Bearer /, "");
      await showWho();
      location.hash = "#/processes";
    } catch (err) {
      error.textContent = err.status === 401 ? "Wrong user name or password." : err.message;
    }
  } },
    el("label", { for: "user" }, "User name"), user,
    el("label", { for: "password" }, "Password"), password,
    el("button", { class: "primary", type: "submit" }, "Log in"));
  const byToken = el("form", { class: "login", onsubmit: async (e) => {
    e.preventDefault();
    error.textContent = "";
    session.token = token.value.trim();
    await showWho();
    if (document.getElementById("logout").hidden) {
      session.token = null;
      error.textContent = "That token was not accepted.";
    } else location.hash = "#/processes";
  } },
    el("label", { for: "token" }, "API token"), token,
    el("button", { type: "submit" }, "Use token"));
  render(el("h1", {}, "Log in"), error, byPassword, el("h2", {}, "Or with an API token"), byToken);
  user.focus();
}

async function processesPage(query, n) {
  const page = Number(query.get("page") || 0);
  const status = query.get("status") || "";
  const script = query.get("script") || "";
  const user = query.get("user") || "";
  const sort = query.get("sort") || "creationTime,desc";
  const params = new URLSearchParams({ page, size: 20, sort });
  if (status) params.set("processStatus", status);
  if (script) params.set("scriptName", script);
  if (user) params.set("userId", user);
  if (session.token && !me) await showWho();
  const admin = !!(me && me.admin);
  let list;
  try {
    list = await getJson(`/system/processes?${params}`);
  } catch (err) {
    if (!stale(n)) render(el("h1", {}, "Processes"), failure(err));
    return;
  }
  if (stale(n)) return;
  const go = (changes) => {
    const q = new URLSearchParams({ page: 0, status, script, user, sort, ...changes });
    for (const [k, v] of [...q]) if (v === "" || (k === "page" && v === "0")) q.delete(k);
    location.hash = `#/processes?${q}`;
  };
  const statusSelect = el("select", { id: "f-status", onchange: (e) => go({ status: e.target.value }) },
    ["", "SCHEDULED", "RUNNING", "COMPLETED", "FAILED"].map((s) => el("option", { value: s, selected: s === status }, s || "any")));
  const scriptInput = el("input", { id: "f-script", value: script, placeholder: "any", onchange: (e) => go({ script: e.target.value.trim() }) });
  const sortSelect = el("select", { id: "f-sort", onchange: (e) => go({ sort: e.target.value }) },
    [["creationTime,desc", "newest first"], ["creationTime,asc", "oldest first"], ["endTime,desc", "recently ended"], ["scriptName,asc", "script name"]]
      .map(([v, label]) => el("option", { value: v, selected: v === sort }, label)));
  const items = (list._embedded && list._embedded.processes) || [];
  // Admins see everyone's processes: whose each is, and a filter by user.
  const userCell = (p) => {
    if (!p.userId) return el("td", { class: "opt" }, el("span", { class: "note" }, "anonymous"));
    const link = el("a", { href: "#", title: "only this user's processes", onclick: (e) => { e.preventDefault(); go({ user: p.userId }); } }, "…");
    userName(p.userId).then((n) => { link.textContent = n; });
    return el("td", { class: "opt" }, link);
  };
  const rows = items.map((p) => el("tr", {},
    el("td", {}, el("a", { href: `#/processes/${encodeURIComponent(p.processId)}` }, p.processId)),
    el("td", {}, p.scriptName),
    admin ? userCell(p) : null,
    el("td", {}, statusCell(p)),
    el("td", {}, p.percentComplete === null ? "–" : `${p.percentComplete}%`),
    el("td", { class: "opt" }, when(p.creationTime)),
    el("td", { class: "opt" }, when(p.endTime))));
  const total = list.page.totalPages;
  render(
    el("h1", {}, "Processes"),
    el("div", { class: "filters", role: "search" },
      el("label", { for: "f-status" }, "Status", statusSelect),
      el("label", { for: "f-script" }, "Script", scriptInput),
      el("label", { for: "f-sort" }, "Order", sortSelect),
      admin ? userFilter(user, go) : null),
    items.length === 0 ? el("p", { class: "note" }, "No processes.") :
      el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, ["Id", "Script"].map((h) => el("th", { scope: "col" }, h)),
          admin ? el("th", { scope: "col", class: "opt" }, "User") : null,
          ["Status", "Progress"].map((h) => el("th", { scope: "col" }, h)),
          el("th", { scope: "col", class: "opt" }, "Created"), el("th", { scope: "col", class: "opt" }, "Ended"))),
        el("tbody", {}, rows))),
    el("nav", { class: "pager", "aria-label": "pages" },
      el("button", { type: "button", disabled: page <= 0, onclick: () => go({ page: page - 1 }) }, "Previous"),
      el("span", {}, `Page ${total === 0 ? 0 : page + 1} of ${total} (${list.page.totalElements} ${list.page.totalElements === 1 ? "process" : "processes"})`),
      el("button", { type: "button", disabled: page + 1 >= total, onclick: () => go({ page: page + 1 }) }, "Next")));
  // Keep the list current while anything on it may still change.
  if (items.some((p) => p.processStatus === "SCHEDULED" || p.processStatus === "RUNNING")) {
    const again = () => {
      if (stale(n)) return;
      // Not while someone types a filter: the refresh would take the text away.
      if (main.contains(document.activeElement) && document.activeElement.tagName === "INPUT") {
        refreshTimer = setTimeout(again, 2000);
      } else route();
    };
    refreshTimer = setTimeout(again, 2000);
  }
}

// The admin's user filter: everyone, only theirs, or the user picked in the list.
function userFilter(user, go) {
  const select = el("select", { id: "f-user", onchange: (e) => go({ user: e.target.value }) },
    el("option", { value: "", selected: !user }, "everyone"),
    el("option", { value: me.uuid, selected: user === me.uuid }, `mine (${me.name})`));
  if (user && user !== me.uuid) {
    const picked = el("option", { value: user, selected: true }, "…");
    userName(user).then((n) => { picked.textContent = n; });
    select.append(picked);
  }
  return el("label", { for: "f-user" }, "User", select);
}

async function downloadLink(file, id) {
  // A plain link cannot carry the Authorization header: ask for a two-minute token first.
  // The content is fetched from this page's own service, whatever host a link names.
  let url = `${API}/core/bitstreams/${encodeURIComponent(file.uuid)}/content`;
  if (session.token) {
    const res = await getJson("/authn/shortlivedtokens", { method: "POST" });
    url += (url.includes("?") ? "&" : "?") + `authentication-token=${encodeURIComponent(res.token)}`;
  } else if (session.capability(id)) {
    url += (url.includes("?") ? "&" : "?") + `access=${encodeURIComponent(session.capability(id))}`;
  }
  return url;
}

async function processPage(id, n) {
  let p;
  try {
    p = await getJson(`/system/processes/${encodeURIComponent(id)}`, { process: id });
  } catch (err) {
    if (!stale(n)) render(el("h1", {}, `Process ${id}`), failure(err));
    return;
  }
  if (stale(n)) return;
  const active = p.processStatus === "SCHEDULED" || p.processStatus === "RUNNING";
  const status = el("dd", {}, statusCell(p));
  const bar = el("progress", { id: "progress", max: 100, value: p.percentComplete || 0, "aria-label": "progress" });
  const pct = el("span", {}, p.percentComplete === null ? "" : ` ${p.percentComplete}%`);
  const params = p.parameters.length === 0 ? el("span", { class: "note" }, "none") :
    el("ul", {}, p.parameters.map((x) => el("li", {}, el("code", {}, x.name), " ", x.value)));
  const deps = p.dependsOn.length === 0 ? el("span", { class: "note" }, "none") :
    el("span", {}, p.dependsOn.map((d, i) => [i ? ", " : "", el("a", { href: `#/processes/${encodeURIComponent(d)}` }, d)]), ` (${p.dependencyType})`);
  const stop = el("button", { type: "button", class: "danger", hidden: !active, onclick: async () => {
    if (!(await confirmDialog(`Stop process ${id}?`))) return;
    try { await api(`/system/processes/${encodeURIComponent(id)}/stop`, { method: "POST", process: id }); } catch (err) { alertBox.replaceChildren(failure(err)); }
  } }, "Stop");
  const del = el("button", { type: "button", hidden: active, onclick: async () => {
    if (!(await confirmDialog(`Delete process ${id} with its output and files?`))) return;
    try {
      await api(`/system/processes/${encodeURIComponent(id)}`, { method: "DELETE", process: id });
      location.hash = "#/processes";
    } catch (err) { alertBox.replaceChildren(failure(err)); }
  } }, "Delete");
  const alertBox = el("div", { role: "alert" });
  const started = el("dd", {}, when(p.startTime));
  const ended = el("dd", {}, when(p.endTime));
  const consoleBox = el("pre", { class: "console", id: "console", tabindex: 0, "aria-label": "console output" });
  const paused = el("input", { type: "checkbox", id: "pause" });
  const filesBox = el("div", {});
  render(
    el("h1", {}, `Process ${p.processId}: ${p.scriptName}`),
    el("dl", { class: "facts" },
      el("dt", {}, "Status"), status,
      el("dt", {}, "Progress"), el("dd", {}, bar, pct),
      el("dt", {}, "Parameters"), el("dd", {}, params),
      el("dt", {}, "Depends on"), el("dd", {}, deps),
      el("dt", {}, "Created"), el("dd", {}, when(p.creationTime)),
      el("dt", {}, "Started"), started,
      el("dt", {}, "Ended"), ended,
      el("dt", {}, "Job"), el("dd", {}, p.executorJobId || "–")),
    el("div", { class: "actions" }, stop, del),
    alertBox,
    el("div", { class: "console-bar" }, el("h2", {}, "Console"),
      el("label", { class: "checkbox", for: "pause" }, paused, "Pause")),
    consoleBox,
    el("h2", {}, "Files"), filesBox);

  const showFiles = async () => {
    const list = await getJson(`/system/processes/${encodeURIComponent(id)}/files?size=100`, { process: id });
    const files = (list._embedded && list._embedded.bitstreams) || [];
    filesBox.replaceChildren(files.length === 0 ? el("p", { class: "note" }, "No files.") :
      el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, ["Name", "Type", "Size", "MD5", ""].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, files.map((f) => el("tr", {},
          el("td", {}, f.name),
          el("td", {}, ((f.metadata["dspace.process.filetype"] || [])[0] || {}).value || ""),
          el("td", {}, `${f.sizeBytes} B`),
          el("td", {}, el("code", {}, f.checkSum.value)),
          el("td", {}, el("a", { href: "#", class: "download", "data-name": f.name, onclick: async (e) => {
            e.preventDefault();
            location.href = await downloadLink(f, id);
          } }, "Download"))))))));
  };
  showFiles().catch((err) => filesBox.replaceChildren(failure(err)));

  // The live console: the output stream read with fetch (it can carry the Authorization
  // header, which EventSource cannot), resumed with Last-Event-ID after a broken connection.
  // At most MAX_LINES stay on the page; the full log is a file above.
  const MAX_LINES = 5000;
  let lastId = null;
  let buffered = [];
  const controller = new AbortController();
  stopFollowing = () => controller.abort();
  const flush = () => {
    if (paused.checked || buffered.length === 0) return;
    const frag = document.createDocumentFragment();
    for (const line of buffered) frag.append(el("span", { class: line.stream }, line.line + "\n"));
    buffered = [];
    consoleBox.append(frag);
    while (consoleBox.childNodes.length > MAX_LINES) consoleBox.firstChild.remove();
    consoleBox.scrollTop = consoleBox.scrollHeight;
  };
  paused.addEventListener("change", flush);
  const painter = setInterval(flush, 100);
  controller.signal.addEventListener("abort", () => clearInterval(painter));
  // What the console does not say (status, times) is read again while the process goes on.
  const refreshFacts = async () => {
    const q = await getJson(`/system/processes/${encodeURIComponent(id)}`, { process: id });
    status.replaceChildren(statusCell(q));
    started.replaceChildren(when(q.startTime));
    ended.replaceChildren(when(q.endTime));
    if (q.percentComplete !== null) {
      bar.value = q.percentComplete;
      pct.textContent = ` ${q.percentComplete}%`;
    }
    const running = q.processStatus === "SCHEDULED" || q.processStatus === "RUNNING";
    stop.hidden = !running;
    del.hidden = running;
    return running;
  };
  const facts = setInterval(() => refreshFacts().catch(() => {}), 2000);
  controller.signal.addEventListener("abort", () => clearInterval(facts));
  const onEnd = async () => {
    try {
      await refreshFacts();
      showFiles().catch(() => {});
    } catch (_) { /* the page shows what it had */ }
  };
  (async () => {
    while (!controller.signal.aborted) {
      try {
        const headers = { Accept: "text/event-stream" };
        if (lastId !== null) headers["Last-Event-ID"] = lastId;
        const res = await api(`/system/processes/${encodeURIComponent(id)}/output`, { headers, process: id });
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let text = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          text += value;
          let cut;
          while ((cut = text.indexOf("\n\n")) >= 0) {
            const block = text.slice(0, cut);
            text = text.slice(cut + 2);
            const event = { name: "message", id: null, data: [] };
            for (const line of block.split("\n")) {
              if (line.startsWith("event:")) event.name = line.slice(6).trim();
              else if (line.startsWith("id:")) event.id = line.slice(3).trim();
              else if (line.startsWith("data:")) event.data.push(line.slice(5).replace(/^ /, ""));
            }
            if (event.id !== null) lastId = event.id;
            if (event.name === "line") {
              const data = JSON.parse(event.data.join("\n"));
              // The service's rule for progress lines: `::progress::N`, N from 0 to 100.
              const progress = /^::progress::(\d{1,3})$/.exec(data.line);
              if (progress && Number(progress[1]) <= 100) {
                bar.value = Number(progress[1]);
                pct.textContent = ` ${progress[1]}%`;
              }

              buffered.push(data);
            } else if (event.name === "end") {
              flush();
              await onEnd();
              controller.abort();
              return;
            }
          }
        }
      } catch (err) {
        if (controller.signal.aborted) return;
        if (err instanceof ApiError && err.status !== 429 && err.status < 500) {
          consoleBox.replaceChildren(failure(err));
          return;
        }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
  })();
}

async function scriptsPage(n) {
  let list;
  try {
    list = await getJson("/system/scripts?size=100");
  } catch (err) {
    if (!stale(n)) render(el("h1", {}, "Scripts"), failure(err));
    return;
  }
  if (stale(n)) return;
  const scripts = (list._embedded && list._embedded.scripts) || [];
  render(el("h1", {}, "Scripts"),
    scripts.length === 0 ? el("p", { class: "note" }, "No script you may start.") :
      el("div", { class: "table-wrap" }, el("table", {},
        el("thead", {}, el("tr", {}, ["Script", "Description", "Parameters"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, scripts.map((s) => el("tr", {},
          el("td", {}, el("a", { href: `#/scripts/${encodeURIComponent(s.name)}` }, s.name)),
          el("td", {}, s.description || ""),
          el("td", {}, s.parameters.map((x) => x.name).join(" "))))))));
}

const INPUT_TYPES = { String: "text", Integer: "number", date: "date", boolean: "checkbox", InputStream: "file" };

async function launchPage(name, n) {
  let script;
  try {
    script = await getJson(`/system/scripts/${encodeURIComponent(name)}`);
  } catch (err) {
    if (!stale(n)) render(el("h1", {}, name), failure(err));
    return;
  }
  if (stale(n)) return;
  const fields = script.parameters.map((spec, i) => {
    const id = `param-${i}`;
    const type = INPUT_TYPES[spec.type] || "text";
    const input = el("input", { id, name: spec.name, type, "aria-required": spec.mandatory ? "true" : null, "aria-describedby": `${id}-error` });
    const error = el("span", { class: "field-error", id: `${id}-error`, "aria-live": "polite" });
    const text = [el("span", { class: spec.mandatory ? "required" : null }, spec.name + (spec.nameLong ? ` (${spec.nameLong})` : "")),
      spec.description ? el("span", { class: "note" }, spec.description) : null];
    const label = type === "checkbox" ? el("label", { for: id, class: "checkbox" }, input, text) : el("label", { for: id }, text, input);
    return { spec, input, error, node: el("div", {}, label, error) };
  });
  const formError = el("p", { class: "error", role: "alert" });
  const startTime = el("input", { id: "start-time", type: "datetime-local" });
  const dependsOn = el("input", { id: "depends-on", placeholder: "e.g. 12, 13" });
  const submit = el("button", { type: "submit", class: "primary" }, "Start");
  const form = el("form", { class: "launch", novalidate: true, onsubmit: async (e) => {
    e.preventDefault();
    formError.textContent = "";
    for (const f of fields) f.error.textContent = "";
    const properties = [];
    const body = new FormData();
    for (const f of fields) {
      if (f.input.type === "checkbox") {
        if (f.input.checked) properties.push({ name: f.spec.name });
      } else if (f.input.type === "file") {
        const file = f.input.files[0];
        if (file) {
          properties.push({ name: f.spec.name, value: file.name });
          body.append("file", file, file.name);
        }
      } else if (f.input.value !== "") {
        properties.push({ name: f.spec.name, value: f.input.value });
      }
    }
    body.append("properties", JSON.stringify(properties));
    if (startTime.value) body.append("startTime", new Date(startTime.value).toISOString());
    if (dependsOn.value.trim()) body.append("dependsOn", dependsOn.value.replace(/\s/g, ""));
    submit.disabled = true;
    try {
      const p = await (await api(`/system/scripts/${encodeURIComponent(name)}/processes`, { method: "POST", body })).json();
      if (p.accessToken) session.keep(p.processId, p.accessToken);
      location.hash = `#/processes/${encodeURIComponent(p.processId)}`;
    } catch (err) {
      // The service names the parameter a message is about: show it next to that field.
      const named = /parameter (\S+)/.exec(err.message);
      const field = named && fields.find((f) => f.spec.name === named[1] || f.spec.nameLong === named[1]);
      if (field) {
        field.error.textContent = err.message;
        field.input.setAttribute("aria-invalid", "true");
        field.input.focus();
      } else formError.replaceChildren(failure(err));
    } finally {
      submit.disabled = false;
    }
  } },
    fields.map((f) => f.node),
    el("label", { for: "start-time" }, el("span", {}, "Start not before (optional)"), startTime),
    el("label", { for: "depends-on" }, el("span", {}, "After processes (optional)"), dependsOn),
    submit);
  render(el("h1", {}, `Start ${script.name}`),
    script.description ? el("p", {}, script.description) : null,
    el("p", { class: "note" }, "Fields marked * are required."),
    formError, form);
}

// ---- routing ----
// Each navigation gets a number; a page that finishes loading after the next navigation
// draws nothing.
let currentRoute = 0;
const stale = (n) => n !== currentRoute;

async function route() {
  const n = ++currentRoute;
  clearTimeout(refreshTimer);
  if (stopFollowing) { stopFollowing(); stopFollowing = null; }
  const hash = location.hash.replace(/^#/, "") || "/processes";
  const [path, qs] = hash.split("?");
  const query = new URLSearchParams(qs || "");
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "login") return loginPage();
  if (parts[0] === "scripts" && parts[1]) return launchPage(parts[1], n);
  if (parts[0] === "scripts") return scriptsPage(n);
  if (parts[0] === "processes" && parts[1]) return processPage(parts[1], n);
  return processesPage(query, n);
}
window.addEventListener("hashchange", () => { route(); main.focus(); });
showWho();
route();
