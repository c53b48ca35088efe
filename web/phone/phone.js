// The demo's phone page: the device's Messages thread, polled from the phone server
// (src/demo/phone.cpp). Every text comes from Apple's message or the customer: set with
// textContent, never parsed as HTML.
"use strict";

const $ = (id) => document.getElementById(id);
const { el, clear } = window.bcauthDom;
const view = { device: new URLSearchParams(location.search).get("device") || "ios16", devices: [], sheet: "", shown: "" };

async function post(path, body) {
  const response = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error((await response.json()).error.message);
}

function bubbleFor(entry) {
  if (entry.kind === "customer") return el("li", { className: "from-me", text: entry.text });
  if (entry.kind === "reply") return el("li", { className: "reply" + (entry.failed ? " failed" : ""), text: entry.text });
  const content = [
    entry.image ? el("img", { src: entry.image, alt: "" }) : null,
    el("span", {}, el("span", { className: "title", text: entry.text }),
      entry.subtitle ? el("span", { className: "subtitle", text: entry.subtitle }) : null,
      entry.answered ? null : el("span", { className: "tap", text: "Tap to sign in" })),
  ];
  const card = entry.answered
    ? el("div", { className: "card" }, ...content)
    : el("button", { type: "button", onclick: () => openSheet(entry.requestIdentifier) }, ...content);
  return el("li", { className: "received" }, card);
}

function render() {
  const device = view.devices.find((d) => d.id === view.device) || view.devices[0];
  if (!device) return;
  const select = $("device");
  if (select.options.length !== view.devices.length) {
    for (const d of view.devices) select.append(el("option", { value: d.id, text: d.label }));
  }
  select.value = device.id;
  const customer = $("customer");
  customer.textContent = "Customer " + device.customerId;
  const shown = JSON.stringify(device.thread);
  if (shown !== view.shown) {
    view.shown = shown;
    const thread = $("thread");
    clear(thread);
    for (const entry of device.thread) thread.append(bubbleFor(entry));
    thread.scrollTop = thread.scrollHeight;
  }
  // The sheet closes once the device has answered its message.
  const open = device.thread.find((e) => e.kind === "received" && e.requestIdentifier === view.sheet);
  if (view.sheet && (!open || open.answered)) closeSheetView();
}

async function poll() {
  try {
    const response = await fetch("/phone/api/state", { cache: "no-store" });
    if (response.ok) {
      view.devices = (await response.json()).devices;
      render();
    }
  } catch (e) {
    $("phone-error").textContent = "The phone lost its connection.";
  }
  setTimeout(poll, 400);
}

function openSheet(requestIdentifier) {
  view.sheet = requestIdentifier;
  $("sheet-frame").src = "/phone/sheet?rid=" + encodeURIComponent(requestIdentifier);
  $("sheet").hidden = false;
  $("sheet-close").focus();
}

function closeSheetView() {
  view.sheet = "";
  $("sheet").hidden = true;
  $("sheet-frame").removeAttribute("src");
  $("message").focus();
}

$("sheet-close").addEventListener("click", async () => {
  const rid = view.sheet;
  closeSheetView();
  try {
    await post("/phone/api/close", { requestIdentifier: rid });
  } catch (e) {
    $("phone-error").textContent = e.message;
  }
});
$("device").addEventListener("change", (event) => {
  view.device = event.target.value;
  view.shown = "";
  render();
});
$("compose").addEventListener("submit", async (event) => {
  event.preventDefault();
  const text = $("message").value;
  if (!text) return;
  $("message").value = "";
  try {
    await post("/phone/api/say", { device: view.device, text });
  } catch (e) {
    $("phone-error").textContent = e.message;
  }
});
poll();
