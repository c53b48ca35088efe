// The bcauth console: an agent's desk and an operator's settings over bcauth's own API.
// Rules it keeps (docs/security.md, The console's Content-Security-Policy):
// - the API key lives in sessionStorage only and travels as the Authorization header, never in a URL;
// - every text that came from a customer, Apple, an identity provider or the API is set with
//   textContent (never parsed as HTML);
// - the live feed is GET /v1/events/stream read with fetch (the browser's own SSE client cannot send the header),
//   resumed with Last-Event-ID after a drop.
"use strict";

const KEY_ITEM = "bcauth.apiKey";
const $ = (id) => document.getElementById(id);
const { el, clear } = window.bcauthDom;

const state = {
  key: "",
  operator: false,
  businesses: [],
  business: "",            // the operator's business filter ("" for all)
  providers: [],
  conversations: new Map(), // businessId + "\n" + conversationId -> conversation
  requests: new Map(),      // authRequestId -> {id, conversation (its key), providerId, scopes, ended}
  providerHealth: new Map(),// providerId -> {ok, what, detail, at}
  selected: "",
  lastSeq: 0,
  stream: null,             // the AbortController of the open stream
  view: "conversations",
  editingProvider: null,
  editingWebhook: null,
};

// ---- DOM helpers (el and clear: web/shared/dom.js) ------------------------------------------

function show(node, visible) {
  node.hidden = !visible;
}

function shortId(id) {
  return id.length > 22 ? id.slice(0, 14) + "…" + id.slice(-6) : id;
}

function time(iso) {
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? "" : d.toLocaleTimeString();
}

function newIdempotencyKey() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

// ---- the API ----------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || "HTTP " + status);
    this.status = status;
    this.code = error.code || "";
    this.field = error.field || "";
  }
}

async function api(method, path, body, headers) {
  const init = { method, headers: Object.assign({ Authorization: "Bearer " + state.key }, headers || {}), cache: "no-store" };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  const text = await response.text();
  let json = null;
  try {
    json = text ? JSON.parse(text) : null;
  } catch (e) {
    json = null;
  }
  // 401: no key; 403: a key bcauth does not know or that was revoked (api_auth.cpp).
  if (response.status === 401 || response.status === 403) {
    if (state.key) signOut("bcauth refused this API key; sign in again.");
    throw new ApiError(response.status, json);
  }
  if (!response.ok) throw new ApiError(response.status, json);
  return json;
}

// Shows an API error beside the field it names (error.field), else under the form.
function showFormError(form, formError, err) {
  clearFormErrors(form);
  const field = err.field || "";
  const target = field ? fieldErrorFor(form, field) : null;
  if (target) {
    target.textContent = err.message;
    const input = form.querySelector("[aria-describedby~='" + target.id + "']");
    if (input) {
      input.setAttribute("aria-invalid", "true");
      input.focus();
    }
  } else {
    formError.textContent = (field ? field + ": " : "") + err.message;
  }
}

function fieldErrorFor(form, field) {
  // "scopes[0]" and "profileFields.email" belong to the scopes and profileFields inputs.
  const base = field.split(/[.[]/)[0];
  for (const node of form.querySelectorAll("[data-error-for]")) {
    if (node.dataset.errorFor === field || node.dataset.errorFor === base) return node;
  }
  return null;
}

function clearFormErrors(form) {
  for (const node of form.querySelectorAll("[data-error-for]")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  for (const node of form.querySelectorAll(".error")) node.textContent = "";
}

// ---- sign-in --------------------------------------------------------------------------

async function signIn(key) {
  state.key = key;
  // GET /v1/me says whose key it is; only an operator's reads the businesses.
  const me = await api("GET", "/v1/me");
  state.operator = me.operator === true;
  state.keyBusiness = me.businessId || "";
  state.businesses = state.operator ? (await api("GET", "/v1/businesses")).businesses || [] : [];
  sessionStorage.setItem(KEY_ITEM, key);
  enterConsole();
}

function signOut(message) {
  sessionStorage.removeItem(KEY_ITEM);
  state.key = "";
  if (state.stream) state.stream.abort();
  state.stream = null;
  state.conversations.clear();
  state.requests.clear();
  state.providerHealth.clear();
  state.selected = "";
  state.lastSeq = 0;
  show($("nav"), false);
  show($("session"), false);
  for (const view of document.querySelectorAll(".view")) show(view, view.id === "view-signin");
  $("signin-error").textContent = message || "";
  $("api-key").value = "";
  $("api-key").focus();
}

function enterConsole() {
  show($("view-signin"), false);
  show($("nav"), true);
  show($("session"), true);
  for (const node of document.querySelectorAll(".operator-only")) show(node, state.operator);
  $("principal").textContent = state.operator ? "Operator key" : "Business key";
  renderBusinessSwitch();
  startStream();
  loadProviders();
  showView(state.view);
}

function renderBusinessSwitch() {
  const select = $("business-switch");
  clear(select);
  select.append(el("option", { value: "", text: "All businesses" }));
  for (const b of state.businesses) select.append(el("option", { value: b.id, text: b.name ? b.name + " (" + b.id + ")" : b.id }));
  select.value = state.business;
  const keyBusiness = $("kf-business");
  clear(keyBusiness);
  keyBusiness.append(el("option", { value: "", text: "Operator (every business)" }));
  for (const b of state.businesses) keyBusiness.append(el("option", { value: b.id, text: b.name || b.id }));
}

// ---- views ----------------------------------------------------------------------------

function showView(name) {
  state.view = name;
  for (const view of document.querySelectorAll(".view")) show(view, view.id === "view-" + name);
  for (const button of document.querySelectorAll("#nav button")) {
    if (button.dataset.view === name) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  if (name === "providers") loadProviders();
  if (name === "webhooks") loadWebhooks();
  if (name === "businesses") loadBusinesses();
  if (name === "conversations") renderConversations();
}

// ---- the live event feed ----------------------------------------------------------------

function setStreamStatus(text) {
  $("stream-status").textContent = text;
}

async function startStream() {
  if (state.stream) state.stream.abort();
  const controller = new AbortController();
  state.stream = controller;
  let retryMs = 2000;
  while (state.stream === controller && state.key) {
    try {
      const headers = { Authorization: "Bearer " + state.key };
      if (state.lastSeq > 0) headers["Last-Event-ID"] = String(state.lastSeq);
      const response = await fetch("/v1/events/stream", { headers, signal: controller.signal, cache: "no-store" });
      if (response.status === 401 || response.status === 403) return signOut("bcauth refused this API key; sign in again.");
      if (!response.ok) {
        setStreamStatus("The live feed answered " + response.status + "; retrying.");
      } else {
        setStreamStatus("Live");
        retryMs = await readStream(response.body, retryMs);
        setStreamStatus("The live feed closed; reconnecting…");
      }
    } catch (err) {
      if (controller.signal.aborted) return;
      setStreamStatus("The live feed dropped; reconnecting…");
    }
    await new Promise((resolve) => setTimeout(resolve, retryMs));
  }
}

// Reads Server-Sent Events: blocks separated by a blank line, fields "id", "event", "data",
// "retry"; comments (": keep-alive") ignored. Returns the server's retry delay.
async function readStream(body, retryMs) {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return retryMs;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let data = "";
      for (const line of block.split("\n")) {
        if (line.startsWith("data:")) data += line.slice(5).trimStart();
        else if (line.startsWith("retry:")) retryMs = Number(line.slice(6)) || retryMs;
      }
      if (data) {
        try {
          onEvent(JSON.parse(data));
        } catch (e) {
          setStreamStatus("An event could not be read.");
        }
      }
    }
  }
}

// A conversation is one customer with one business (the same customer id may write to two).
function conversationOf(event) {
  const business = event.businessId || "";
  const key = business + "\n" + event.conversationId;
  let c = state.conversations.get(key);
  if (!c) {
    c = { key, id: event.conversationId, business, capabilities: null, events: [], lastAt: "", status: "" };
    state.conversations.set(key, c);
  }
  return c;
}

const STATUS_OF = {
  "auth.requested": "requested",
  "auth.delivered": "delivered",
  "auth.delivery_failed": "delivery failed",
  "auth.succeeded": "signed in",
  "auth.failed": "failed",
  "auth.cancelled": "cancelled",
  "auth.expired": "expired",
};
const TERMINAL = new Set(["auth.succeeded", "auth.failed", "auth.cancelled", "auth.expired", "auth.delivery_failed"]);

function onEvent(event) {
  if (typeof event.seq !== "number" || event.seq <= state.lastSeq) return;
  state.lastSeq = event.seq;
  const c = conversationOf(event);
  c.events.push(event);
  c.lastAt = event.at;
  const data = event.data || {};
  if (event.type === "message.received") {
    c.capabilities = data.capabilities || [];
    if (!c.business && data.payload && data.payload.destinationId) c.business = data.payload.destinationId;
  }
  if (STATUS_OF[event.type]) c.status = event.type;
  if (event.authRequestId) {
    let r = state.requests.get(event.authRequestId);
    if (!r) {
      r = { id: event.authRequestId, conversation: c.key, providerId: data.providerId, scopes: data.scopes, ended: false };
      state.requests.set(event.authRequestId, r);
    }
    if (data.providerId) r.providerId = data.providerId;
    if (data.scopes) r.scopes = data.scopes;
    if (TERMINAL.has(event.type)) r.ended = true;
    r.lastType = event.type;
  }
  noteProviderHealth(event);
  scheduleRender();
}

// A provider whose last token exchange or profile fetch failed is shown in an error state
// (Identity providers), with what to check; a later clean sign-in clears it.
function noteProviderHealth(event) {
  const data = event.data || {};
  if (!data.providerId) return;
  if (event.type === "auth.succeeded") {
    if (data.profileError) {
      state.providerHealth.set(data.providerId, { ok: false, at: event.at, detail: data.profileError,
        fix: "The profile fetch failed: check the userinfo URL and the profile fields." });
    } else {
      state.providerHealth.set(data.providerId, { ok: true, at: event.at });
    }
  } else if (event.type === "auth.failed" && tokenExchangeFailed(data)) {
    state.providerHealth.set(data.providerId, { ok: false, at: event.at, detail: data.detail || data.agentMessage || data.reason,
      fix: "The token exchange failed: check the token URL, the client id and the client secret." });
  }
}

function tokenExchangeFailed(data) {
  const e = data.deviceError;
  if (!e) return false;
  if (e.domain === "com.apple.messages.business.oauth2") return e.code === 3 || e.code === 4;
  if (e.domain === "com.apple.icloud.messages.business.authentication.error") return e.code === 2;
  return e.domain === "NSURLErrorDomain";
}

let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  requestAnimationFrame(() => {
    renderPending = false;
    renderConversations();
    if (state.view === "providers") renderProviders();
  });
}

// ---- conversations ------------------------------------------------------------------------

function flowOf(capabilities) {
  if (!capabilities) return "capabilities not known yet";
  if (capabilities.includes("AUTH2")) return "iOS 16+ flow (AUTH2)";
  if (capabilities.includes("AUTH")) return "legacy flow (AUTH)";
  return "cannot authenticate (no AUTH capability)";
}

function badgeFor(type) {
  const label = STATUS_OF[type] || "no request";
  const tone = { "auth.succeeded": "ok", "auth.failed": "bad", "auth.delivery_failed": "bad", "auth.cancelled": "warn",
    "auth.expired": "warn", "auth.requested": "info", "auth.delivered": "info" }[type] || "none";
  return el("span", { className: "badge " + tone, text: label });
}

function renderConversations() {
  const list = $("conversation-list");
  const conversations = [...state.conversations.values()]
    .filter((c) => !state.business || c.business === state.business)
    .sort((a, b) => (a.lastAt < b.lastAt ? 1 : -1));
  clear(list);
  for (const c of conversations) {
    const button = el("button", { type: "button", "aria-pressed": c.key === state.selected ? "true" : "false",
      onclick: () => selectConversation(c.key) },
      el("span", { className: "customer", title: c.id, text: shortId(c.id) }),
      badgeFor(c.status),
      el("span", { className: "flow", text: flowOf(c.capabilities) + (c.business ? " · " + c.business : "") }));
    list.append(el("li", {}, button));
  }
  show($("no-conversations"), conversations.length === 0);
  renderSelected();
}

function selectConversation(key) {
  state.selected = key;
  $("auth-error").textContent = "";
  renderConversations();
}

function renderSelected() {
  const c = state.conversations.get(state.selected);
  show($("conversation"), Boolean(c));
  show($("no-selection"), !c);
  if (!c) return;
  const title = $("conversation-title");
  title.textContent = "Customer " + shortId(c.id);
  title.title = c.id;
  $("conversation-meta").textContent = flowOf(c.capabilities) + (c.business ? " · business " + c.business : "");
  const transcript = $("transcript");
  const atBottom = transcript.scrollHeight - transcript.scrollTop - transcript.clientHeight < 40;
  clear(transcript);
  const latest = latestRequest(c.key);
  for (const event of c.events) transcript.append(bubbleFor(event, latest));
  if (atBottom) transcript.scrollTop = transcript.scrollHeight;
  const pending = latest && !latest.ended;
  show($("auth-cancel"), Boolean(pending));
  renderProviderChoice();
}

function latestRequest(conversationKey) {
  let latest = null;
  for (const r of state.requests.values()) if (r.conversation === conversationKey) latest = r;
  return latest;
}

function profileList(customer) {
  const list = el("dl", {});
  for (const [name, value] of Object.entries(customer)) {
    list.append(el("dt", { text: name }), el("dd", { text: typeof value === "string" ? value : JSON.stringify(value) }));
  }
  return list;
}

function bubble(kind, title, text, event, ...extra) {
  return el("li", { className: "bubble " + kind },
    el("p", { className: "title", text: title }),
    text ? el("p", { className: "text", text }) : null,
    ...extra,
    el("p", { className: "time", text: time(event.at) }));
}

function bubbleFor(event, latest) {
  const d = event.data || {};
  switch (event.type) {
    case "message.received": {
      const p = d.payload || {};
      const text = typeof p.body === "string" ? p.body : "(" + (d.type || "message") + ")";
      return bubble("customer", "Customer", text, event);
    }
    case "auth.requested":
      return bubble("agent", "Sign-in requested", "with " + providerName(d.providerId) + " · " + (d.flow === "v2" ? "iOS 16+ flow" : "legacy flow") +
        " · scopes " + (d.scopes || []).join(" "), event);
    case "auth.delivered":
      return bubble("system", "Delivered to the customer's device", null, event);
    case "auth.delivery_failed":
      return bubble("system outcome-bad", "Delivery to Apple failed", (d.reason || "") + (d.detail ? ": " + d.detail : ""), event);
    case "auth.succeeded":
      return bubble("system outcome-ok", "Signed in", d.agentMessage || "The customer signed in.", event,
        d.customer ? profileList(d.customer) : null,
        d.profileError ? el("p", { className: "text", text: "No profile: " + d.profileError }) : null);
    case "auth.failed": {
      const again = d.retryable && latest && latest.id === event.authRequestId
        ? el("button", { type: "button", className: "primary", onclick: () => sendAgain(latest) }, "Send again") : null;
      return bubble("system outcome-bad", "Sign-in failed (" + (d.reason || "unknown") + ")", d.agentMessage || "", event,
        d.detail ? el("p", { className: "text", text: d.detail }) : null,
        el("p", { className: "text", text: d.retryable ? "Asking again may work." : "Asking again will not help until it is fixed." }),
        again);
    }
    case "auth.cancelled":
      return bubble("system outcome-warn", d.by === "agent" ? "Cancelled by the agent" : "Cancelled by the customer",
        d.agentMessage || "", event);
    case "auth.expired":
      return bubble("system outcome-warn", "Expired", "The customer did not answer in time.", event);
    case "auth.rejected":
      return bubble("system", "A reply was refused", d.reason || "", event);
    default:
      return bubble("system", event.type, null, event);
  }
}

function providerName(id) {
  const p = state.providers.find((x) => x.id === id);
  return p ? p.name : id || "?";
}

// ---- the agent's authenticate panel -------------------------------------------------------

function renderProviderChoice() {
  const select = $("auth-provider");
  const enabled = state.providers.filter((p) => p.enabled);
  const previous = select.value;
  const ids = enabled.map((p) => p.id).join("\n");
  if (select.dataset.ids !== ids) {
    clear(select);
    for (const p of enabled) select.append(el("option", { value: p.id, text: p.name }));
    select.dataset.ids = ids;
    if (enabled.some((p) => p.id === previous)) select.value = previous;
    renderScopes();
  }
  $("auth-send").disabled = enabled.length === 0;
  const none = "No enabled identity provider: add one under Identity providers.";
  if (enabled.length === 0) $("auth-error").textContent = none;
  else if ($("auth-error").textContent === none) $("auth-error").textContent = "";
}

function renderScopes() {
  const fieldset = $("auth-scopes");
  for (const node of [...fieldset.querySelectorAll("label")]) node.remove();
  const provider = state.providers.find((p) => p.id === $("auth-provider").value);
  for (const scope of (provider && provider.scopes) || []) {
    fieldset.append(el("label", { className: "inline" }, el("input", { type: "checkbox", value: scope, checked: true }), scope));
  }
}

async function sendRequest(providerId, scopes) {
  const c = state.conversations.get(state.selected);
  if (!c) return;
  const businessId = c.business || state.business;
  const error = $("auth-error");
  error.textContent = "";
  if (!businessId && state.operator) {
    error.textContent = "This conversation's business is not known yet; choose one in the Business switcher.";
    return;
  }
  // A business key's requests are its own business's: it may leave businessId out.
  const body = businessId ? { conversationId: c.id, businessId, providerId, scopes } : { conversationId: c.id, providerId, scopes };
  try {
    await api("POST", "/v1/auth-requests", body,
      { "Idempotency-Key": newIdempotencyKey() });
  } catch (err) {
    error.textContent = (err.field ? err.field + ": " : "") + err.message;
  }
}

function sendAgain(request) {
  sendRequest(request.providerId, request.scopes || []);
}

async function cancelPending() {
  const latest = latestRequest(state.selected);
  if (!latest || latest.ended) return;
  try {
    await api("POST", "/v1/auth-requests/" + encodeURIComponent(latest.id) + "/cancel", {});
  } catch (err) {
    $("auth-error").textContent = err.message;
  }
}

// ---- identity providers -------------------------------------------------------------------

async function loadProviders() {
  try {
    state.providers = (await api("GET", "/v1/providers")).providers || [];
    $("providers-error").textContent = "";
  } catch (err) {
    $("providers-error").textContent = "Identity providers: " + err.message;
  }
  renderProviders();
  renderSelected();
}

function renderProviders() {
  const rows = $("provider-rows");
  clear(rows);
  for (const p of state.providers) {
    const health = state.providerHealth.get(p.id);
    const healthCell = el("td", {});
    if (!health) healthCell.append(el("span", { className: "badge none", text: "none yet" }));
    else if (health.ok) healthCell.append(el("span", { className: "badge ok", text: "worked" }));
    else {
      healthCell.append(el("span", { className: "badge bad", text: "error" }),
        el("p", { className: "health-error", text: health.detail }),
        el("p", { className: "health-error", text: health.fix }),
        el("button", { type: "button", onclick: () => editProvider(p), "aria-label": "Reconfigure " + p.name }, "Reconfigure"));
    }
    rows.append(el("tr", {},
      el("td", {}, el("span", { text: p.name }),
        el("span", { className: "sub", text: p.id + (p.businessId ? " · " + p.businessId : p.shared ? " · shared" : "") })),
      el("td", {}, el("span", { className: "badge " + (p.enabled ? "ok" : "none"), text: p.enabled ? "enabled" : "disabled" })),
      el("td", { text: p.clientSecretSet ? "set" : "not set" }),
      healthCell,
      el("td", {}, el("div", { className: "actions" },
        sharedForMe(p) ? null : el("button", { type: "button", onclick: () => editProvider(p), "aria-label": "Edit " + p.name }, "Edit"),
        el("button", { type: "button", onclick: () => toggleProvider(p), "aria-label": (p.enabled ? "Disable " : "Enable ") + p.name },
          p.enabled ? "Disable" : "Enable"),
        sharedForMe(p) ? null : el("button", { type: "button", className: "danger", onclick: () => deleteProvider(p),
          "aria-label": "Delete " + p.name }, "Delete")))));
  }
  show($("providers-empty"), state.providers.length === 0);
}

// An add or edit form made ready: its errors cleared, its title, and its id (fixed once the thing exists).
function prepareForm(prefix, title, id) {
  const form = $(prefix + "-form");
  clearFormErrors(form);
  $(prefix + "-form-title").textContent = title;
  const idInput = form.querySelector("input[name='id']");
  idInput.value = id || "";
  idInput.readOnly = Boolean(id);
  return form;
}

function editProvider(p) {
  state.editingProvider = p;
  const form = prepareForm("provider", p ? "Edit " + p.name : "Add provider", p && p.id);
  $("pf-name").value = p ? p.name : "";
  $("pf-authorizationUrl").value = p ? p.authorizationUrl : "";
  $("pf-tokenUrl").value = p ? p.tokenUrl : "";
  $("pf-userinfoUrl").value = p && p.userinfoUrl ? p.userinfoUrl : "";
  $("pf-clientId").value = p ? p.clientId : "";
  $("pf-clientSecret").value = "";
  $("pf-secret-remove").checked = false;
  const secretSet = Boolean(p && p.clientSecretSet);
  $("pf-secret-state").textContent = secretSet
    ? "A client secret is set. Leave this empty to keep it, or type a new one to replace it."
    : "No client secret is set.";
  show($("pf-secret-remove-label"), secretSet);
  $("pf-scopes").value = p ? (p.scopes || []).join(" ") : "openid email profile";
  $("pf-profileFields").value = p ? Object.entries(p.profileFields || {}).map(([k, v]) => k + "=" + v).join("\n") : "";
  $("pf-tokenAuthMethod").value = (p && p.tokenAuthMethod) || "client_secret_post";
  $("pf-enabled").checked = p ? p.enabled : true;
  show(form, true);
  (p ? $("pf-name") : $("pf-id")).focus();
}

// A PUT replaces the provider whole: its owner goes with it (absent: shared, or the key's own).
function providerBody(p) {
  const body = { name: p.name, authorizationUrl: p.authorizationUrl, tokenUrl: p.tokenUrl, userinfoUrl: p.userinfoUrl || "",
    clientId: p.clientId, scopes: p.scopes, profileFields: p.profileFields || {}, enabled: p.enabled,
    tokenAuthMethod: p.tokenAuthMethod || "client_secret_post" };
  if (p.businessId) body.businessId = p.businessId;
  return body;
}

// A shared provider seen by a business key is the operator's: the business only turns it on or
// off for itself.
function sharedForMe(p) {
  return p.shared && !state.operator;
}

async function saveProvider(event) {
  event.preventDefault();
  const form = $("provider-form");
  clearFormErrors(form);
  const profileFields = {};
  for (const line of $("pf-profileFields").value.split("\n")) {
    const at = line.indexOf("=");
    if (line.trim()) profileFields[(at < 0 ? line : line.slice(0, at)).trim()] = at < 0 ? "" : line.slice(at + 1).trim();
  }
  const body = providerBody({ name: $("pf-name").value.trim(), authorizationUrl: $("pf-authorizationUrl").value.trim(),
    tokenUrl: $("pf-tokenUrl").value.trim(), userinfoUrl: $("pf-userinfoUrl").value.trim(), clientId: $("pf-clientId").value.trim(),
    scopes: $("pf-scopes").value.split(/\s+/).filter(Boolean), profileFields, enabled: $("pf-enabled").checked,
    tokenAuthMethod: $("pf-tokenAuthMethod").value,
    // Editing keeps the owner; an operator's new provider belongs to the business it has chosen
    // (none chosen: shared); a business key's is its own.
    businessId: state.editingProvider ? state.editingProvider.businessId : state.operator ? state.business : "" });
  const secret = $("pf-clientSecret").value;
  if (secret) body.clientSecret = secret;
  else if ($("pf-secret-remove").checked) body.clientSecret = "";
  const id = $("pf-id").value.trim();
  if (!id) {
    showFormError(form, $("provider-form-error"), { field: "providerId", message: "is required" });
    return;
  }
  try {
    const saved = await api("PUT", "/v1/providers/" + encodeURIComponent(id), body);
    $("pf-clientSecret").value = "";  // written once, never kept in the page
    show(form, false);
    state.editingProvider = null;
    await loadProviders();
    $("providers-error").textContent = "";
    $("provider-add").focus();
    return saved;
  } catch (err) {
    showFormError(form, $("provider-form-error"), err);
  }
}

// One action from a list's button: its failure said in the list's error line, then the list reloaded.
async function listAction(request, errorId, what, reload) {
  try {
    await request();
  } catch (err) {
    $(errorId).textContent = what + ": " + err.message;
  }
  reload();
}

function toggleProvider(p) {
  const request = sharedForMe(p)
    ? () => api(p.enabled ? "DELETE" : "PUT", "/v1/businesses/" + encodeURIComponent(state.keyBusiness) + "/providers/" +
        encodeURIComponent(p.id))
    : () => api("PUT", "/v1/providers/" + encodeURIComponent(p.id), Object.assign(providerBody(p), { enabled: !p.enabled }));
  listAction(request, "providers-error", p.name, loadProviders);
}

function deleteProvider(p) {
  listAction(() => api("DELETE", "/v1/providers/" + encodeURIComponent(p.id)), "providers-error", p.name, loadProviders);
}

// ---- webhooks -------------------------------------------------------------------------------

async function loadWebhooks() {
  let webhooks = [];
  let dead = [];
  try {
    webhooks = (await api("GET", "/v1/webhooks")).webhooks || [];
    dead = (await api("GET", "/v1/webhooks/dead-letters")).deadLetters || [];
    $("webhooks-error").textContent = "";
  } catch (err) {
    $("webhooks-error").textContent = "Webhooks: " + err.message;
  }
  const rows = $("webhook-rows");
  clear(rows);
  for (const w of webhooks) {
    const deadCount = dead.filter((d) => d.subscriptionId === w.id).length;
    rows.append(el("tr", {},
      el("td", {}, el("span", { text: w.url }), el("span", { className: "sub", text: w.id + (w.businessId ? " · " + w.businessId : "") })),
      el("td", {}, el("span", { className: "badge " + (!w.enabled ? "none" : deadCount ? "bad" : "ok"),
        text: !w.enabled ? "disabled" : deadCount ? deadCount + " dead letter" + (deadCount > 1 ? "s" : "") : "delivering" })),
      el("td", { text: (w.eventTypes || []).length ? w.eventTypes.join(" ") : "every event" }),
      el("td", { text: w.secretSet ? "set" : "not set" }),
      el("td", {}, el("div", { className: "actions" },
        el("button", { type: "button", onclick: () => editWebhook(w), "aria-label": "Edit " + w.id }, "Edit"),
        el("button", { type: "button", className: "danger", onclick: () => deleteWebhook(w), "aria-label": "Delete " + w.id }, "Delete")))));
  }
  show($("webhooks-empty"), webhooks.length === 0);
  const deadRows = $("dead-letter-rows");
  clear(deadRows);
  for (const d of dead) {
    deadRows.append(el("tr", {},
      el("td", { text: String(d.id) }),
      el("td", { text: d.subscriptionId || "" }),
      el("td", {}, el("span", { text: "#" + d.eventSeq }), el("span", { className: "sub", title: d.conversationId || "", text: shortId(d.conversationId || "") })),
      el("td", { text: String(d.attempts) }),
      el("td", { text: (d.lastHttpStatus ? "HTTP " + d.lastHttpStatus + " " : "") + (d.lastError || "") }),
      el("td", {}, el("button", { type: "button", onclick: () => replay(d), "aria-label": "Replay delivery " + d.id }, "Replay"))));
  }
  show($("dead-letters-empty"), dead.length === 0);
}

function editWebhook(w) {
  state.editingWebhook = w;
  const form = prepareForm("webhook", w ? "Edit " + w.id : "Add webhook", w && w.id);
  $("wf-url").value = w ? w.url : "";
  $("wf-secret").value = "";
  $("wf-secret-state").textContent = w && w.secretSet
    ? "A signing secret is set. Leave this empty to keep it, or type a new one to replace it."
    : "A new webhook needs a signing secret.";
  $("wf-eventTypes").value = w ? (w.eventTypes || []).join(" ") : "";
  $("wf-enabled").checked = w ? w.enabled : true;
  show(form, true);
  (w ? $("wf-url") : $("wf-id")).focus();
}

async function saveWebhook(event) {
  event.preventDefault();
  const form = $("webhook-form");
  clearFormErrors(form);
  const body = { url: $("wf-url").value.trim(), eventTypes: $("wf-eventTypes").value.split(/\s+/).filter(Boolean),
    enabled: $("wf-enabled").checked };
  if ($("wf-secret").value) body.secret = $("wf-secret").value;
  const id = $("wf-id").value.trim();
  if (!id) {
    showFormError(form, $("webhook-form-error"), { field: "webhookId", message: "is required" });
    return;
  }
  try {
    await api("PUT", "/v1/webhooks/" + encodeURIComponent(id), body);
    $("wf-secret").value = "";
    show(form, false);
    loadWebhooks();
    $("webhook-add").focus();
  } catch (err) {
    showFormError(form, $("webhook-form-error"), err);
  }
}

function deleteWebhook(w) {
  listAction(() => api("DELETE", "/v1/webhooks/" + encodeURIComponent(w.id)), "webhooks-error", w.id, loadWebhooks);
}

function replay(d) {
  listAction(() => api("POST", "/v1/webhooks/dead-letters/" + encodeURIComponent(String(d.id)) + "/replay", {}),
    "webhooks-error", "Replay " + d.id, loadWebhooks);
}

// ---- businesses and API keys (operator keys only) -----------------------------------------

async function loadBusinesses() {
  if (!state.operator) return;
  let keys = [];
  try {
    state.businesses = (await api("GET", "/v1/businesses")).businesses || [];
    keys = (await api("GET", "/v1/api-keys")).apiKeys || [];
  } catch (err) {
    $("business-form-error").textContent = err.message;
  }
  renderBusinessSwitch();
  const rows = $("business-rows");
  clear(rows);
  for (const b of state.businesses) {
    rows.append(el("tr", {}, el("td", { text: b.id }), el("td", { text: b.name || "" }), el("td", { text: b.createdAt || "" })));
  }
  const keyRows = $("key-rows");
  clear(keyRows);
  for (const k of keys) {
    keyRows.append(el("tr", {},
      el("td", { text: k.name }),
      el("td", { className: "customer", text: k.id }),
      el("td", { text: k.businessId || "operator (every business)" }),
      el("td", { text: k.lastUsedAt || "never" }),
      el("td", {}, el("span", { className: "badge " + (k.revokedAt ? "none" : "ok"), text: k.revokedAt ? "revoked" : "valid" })),
      el("td", {}, k.revokedAt ? null
        : el("button", { type: "button", className: "danger", onclick: () => revokeKey(k), "aria-label": "Revoke key " + k.name }, "Revoke"))));
  }
}

async function createBusiness(event) {
  event.preventDefault();
  const form = $("business-form");
  clearFormErrors(form);
  try {
    await api("POST", "/v1/businesses", { id: $("bf-id").value.trim(), name: $("bf-name").value.trim() });
    form.reset();
    loadBusinesses();
  } catch (err) {
    showFormError(form, $("business-form-error"), err);
  }
}

async function createKey(event) {
  event.preventDefault();
  const form = $("key-form");
  clearFormErrors(form);
  const body = { name: $("kf-name").value.trim() };
  if ($("kf-business").value) body.businessId = $("kf-business").value;
  try {
    const created = await api("POST", "/v1/api-keys", body);
    form.reset();
    $("new-key-value").textContent = created.key;  // shown this once; cleared by Done
    show($("new-key"), true);
    $("new-key-done").focus();
    loadBusinesses();
  } catch (err) {
    showFormError(form, $("key-form-error"), err);
  }
}

function revokeKey(k) {
  listAction(() => api("DELETE", "/v1/api-keys/" + encodeURIComponent(k.id)), "key-form-error", k.name, loadBusinesses);
}

// ---- wiring ---------------------------------------------------------------------------------

function wire() {
  $("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const key = $("api-key").value.trim();
    $("signin-error").textContent = "";
    try {
      await signIn(key);
      $("api-key").value = "";
    } catch (err) {
      state.key = "";
      $("signin-error").textContent = err.status === 401 || err.status === 403 ? "bcauth refused this API key."
        : "Sign-in failed: " + err.message;
    }
  });
  $("sign-out").addEventListener("click", () => signOut(""));
  for (const button of document.querySelectorAll("#nav button")) button.addEventListener("click", () => showView(button.dataset.view));
  $("business-switch").addEventListener("change", (event) => {
    state.business = event.target.value;
    renderConversations();
  });
  $("auth-provider").addEventListener("change", renderScopes);
  $("authenticate-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const scopes = [...$("auth-scopes").querySelectorAll("input:checked")].map((input) => input.value);
    sendRequest($("auth-provider").value, scopes);
  });
  $("auth-cancel").addEventListener("click", cancelPending);
  $("provider-add").addEventListener("click", () => editProvider(null));
  $("provider-form").addEventListener("submit", saveProvider);
  $("provider-form-close").addEventListener("click", () => {
    $("pf-clientSecret").value = "";
    show($("provider-form"), false);
  });
  $("webhook-add").addEventListener("click", () => editWebhook(null));
  $("webhook-form").addEventListener("submit", saveWebhook);
  $("webhook-form-close").addEventListener("click", () => {
    $("wf-secret").value = "";
    show($("webhook-form"), false);
  });
  $("business-form").addEventListener("submit", createBusiness);
  $("key-form").addEventListener("submit", createKey);
  $("new-key-done").addEventListener("click", () => {
    $("new-key-value").textContent = "";
    show($("new-key"), false);
  });
}

wire();
const saved = sessionStorage.getItem(KEY_ITEM);
if (saved) {
  signIn(saved).catch(() => signOut("Sign in again."));
} else {
  $("api-key").focus();
}
