// The console and the phone page in a real browser: Debian's chromium, headless, driven by
// playwright-core, against `bcauth demo --serve` (bcauth, Apple's gateway double, the IdP double
// and the phone, on 127.0.0.1). Screenshots of each step go to BCAUTH_SCREENSHOT_DIR/<test>/.
// Run by ctest (tests/CMakeLists.txt, browser_console) and so by scripts/test.
"use strict";

const { test, before, after, beforeEach, afterEach } = require("node:test");
const assert = require("node:assert/strict");
const h = require("./harness");

const LEGACY = "urn:mbid:AQAAYdemo+phone/legacy=";
const IOS16 = "urn:mbid:AQAAYdemo+phone/ios16=";
// A refused API call on purpose (a 400 for a bad URL) is logged by chromium as a failed load.
const REFUSED_LOAD = /Failed to load resource: the server responded with a status of 400/;

let browser;
let demo;
let context;
let errors;

before(async () => {
  browser = await h.launch();
});
after(async () => {
  await browser.close();
});
beforeEach(async () => {
  demo = await h.startDemo();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  errors = [];
});
afterEach(async () => {
  await context.close();
  await demo.stop();
});

async function consolePage() {
  const page = h.watch(await context.newPage(), errors);
  await page.goto(demo.consoleUrl);
  await page.getByLabel("API key", { exact: true }).fill(demo.apiKey);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.locator("#nav").waitFor({ state: "visible", timeout: h.STEP_MS });
  return page;
}

// Opens the provider form from the Identity providers view and fills it; returns the form.
async function fillNewProvider(page, fields) {
  await page.getByRole("button", { name: "Identity providers" }).click();
  await page.getByRole("button", { name: "Add provider" }).click();
  const form = page.locator("#provider-form");
  for (const [label, value] of Object.entries(fields)) await form.getByLabel(label, { exact: true }).fill(value);
  return form;
}

async function phonePage(device) {
  const page = h.watch(await context.newPage(), errors);
  await page.setViewportSize({ width: 480, height: 900 });
  await page.goto(demo.phoneUrl + "?device=" + device);
  await page.locator("#thread li").first().waitFor({ timeout: h.STEP_MS });
  return page;
}

async function openConversation(page, customerId) {
  const entry = page.locator("#conversation-list button", { has: page.locator(`span[title="${customerId}"]`) });
  await entry.click({ timeout: h.STEP_MS });
  await page.locator("#transcript").waitFor({ state: "visible", timeout: h.STEP_MS });
}

// The agent asks with the example provider; returns when the console shows the request as delivered.
async function agentSends(page, providerId = "example") {
  const delivered = await page.locator("#transcript .bubble", { hasText: "Delivered to the customer's device" }).count();
  await page.getByLabel("Identity provider", { exact: true }).selectOption(providerId);
  await page.getByRole("button", { name: "Send", exact: true }).click();
  await page.locator("#transcript .bubble", { hasText: "Delivered to the customer's device" }).nth(delivered)
    .waitFor({ timeout: h.STEP_MS });
}

// The customer taps the latest sign-in bubble; returns the sheet's frame.
async function customerTaps(phone) {
  await phone.locator(".received button").last().click({ timeout: h.STEP_MS });
  const sheet = phone.frameLocator("#sheet-frame");
  await sheet.getByLabel("User name").waitFor({ timeout: h.STEP_MS });
  return sheet;
}

async function customerSignsIn(phone, shots, password = "hunter2") {
  const sheet = await customerTaps(phone);
  await shots.take(phone, "phone-login-form");
  // The IdP's own form, as Password AutoFill expects it.
  assert.equal(await sheet.getByLabel("User name").getAttribute("autocomplete"), "username");
  assert.equal(await sheet.getByLabel("Password").getAttribute("autocomplete"), "current-password");
  await sheet.getByLabel("User name").fill("casey");
  await sheet.getByLabel("Password").fill(password);
  await sheet.getByRole("button", { name: "Sign in" }).click();
  await phone.locator("#sheet").waitFor({ state: "hidden", timeout: h.STEP_MS });
}

async function endToEnd(name, device, customerId) {
  const shots = new h.Shots(name);
  const page = await consolePage();
  await openConversation(page, customerId);
  await shots.take(page, "console-conversation");
  const sent = Date.now();
  await agentSends(page);
  const deliveredMs = Date.now() - sent;
  await shots.take(page, "console-requested");

  const phone = await phonePage(device);
  await phone.locator(".received button").last().waitFor({ timeout: h.STEP_MS });
  await shots.take(phone, "phone-bubble");
  await customerSignsIn(phone, shots);
  await phone.locator(".reply", { hasText: "You signed in" }).waitFor({ timeout: h.STEP_MS });
  const replied = Date.now();
  await shots.take(phone, "phone-replied");

  const signedIn = page.locator("#transcript .bubble.outcome-ok", { hasText: "Signed in" });
  await signedIn.waitFor({ timeout: h.STEP_MS });
  const outcomeMs = Date.now() - replied;
  assert.match(await signedIn.innerText(), /customer@example\.com/);
  assert.match(await signedIn.innerText(), /Casey Customer/);
  const entry = page.locator("#conversation-list button", { has: page.locator(`span[title="${customerId}"]`) });
  assert.match(await entry.innerText(), /signed in/);
  await shots.take(page, "console-signed-in");
  console.log(`# ${name}: request delivered on the console ${deliveredMs} ms after Send; outcome ${outcomeMs} ms after the phone's reply`);
  assert.deepEqual(h.unexpected(errors), []);
}

test("legacy end to end: the agent sends, the customer signs in on the phone, the console shows the profile", async () => {
  await endToEnd("legacy-end-to-end", "legacy", LEGACY);
});

test("iOS 16+ end to end: the redirect through /oauth/callback back to messages-auth:", async () => {
  await endToEnd("ios16-end-to-end", "ios16", IOS16);
});

test("a wrong password and a closed sheet: the console shows the mapped outcome and the agent text", async () => {
  const shots = new h.Shots("wrong-password-and-cancel");
  const page = await consolePage();
  for (const [device, customerId] of [["ios16", IOS16], ["legacy", LEGACY]]) {
    await openConversation(page, customerId);
    await agentSends(page);
    const phone = await phonePage(device);
    await customerSignsIn(phone, shots, "not-the-password");
    await phone.locator(".reply.failed", { hasText: "Authentication Failed" }).waitFor({ timeout: h.STEP_MS });
    await shots.take(phone, device + "-wrong-password");
    const failed = page.locator("#transcript .bubble.outcome-bad", { hasText: "Sign-in failed" }).last();
    await failed.waitFor({ timeout: h.STEP_MS });
    const text = await failed.innerText();
    assert.match(text, /provider_error/);
    assert.match(text, /Asking again may work/);
    await shots.take(page, device + "-console-failed");
    // Retryable: the agent sends again from the failure, and the customer closes the sheet.
    const delivered = await page.locator("#transcript .bubble", { hasText: "Delivered to the customer's device" }).count();
    await failed.getByRole("button", { name: "Send again" }).click();
    await page.locator("#transcript .bubble", { hasText: "Delivered to the customer's device" }).nth(delivered)
      .waitFor({ timeout: h.STEP_MS });
    await customerTaps(phone);
    await phone.getByRole("button", { name: "Close" }).click();
    await phone.locator(".reply.failed", { hasText: "Sign-in cancelled" }).waitFor({ timeout: h.STEP_MS });
    await shots.take(phone, device + "-closed-sheet");
    if (device === "ios16") {
      const cancelled = page.locator("#transcript .bubble", { hasText: "Cancelled by the customer" }).last();
      await cancelled.waitFor({ timeout: h.STEP_MS });
      assert.match(await cancelled.innerText(), /The customer cancelled the sign-in\./);
    } else {
      // The legacy device's cancel is not known: a failed reply with no error, as bcauth maps it.
      const unknown = page.locator("#transcript .bubble.outcome-bad", { hasText: "Sign-in failed (unknown)" }).last();
      await unknown.waitFor({ timeout: h.STEP_MS });
      assert.match(await unknown.innerText(), /the device gave no error/);
    }
    await shots.take(page, device + "-console-cancelled");
    await phone.close();
  }
  assert.deepEqual(h.unexpected(errors), []);
});

test("the live feed resumes with Last-Event-ID after a drop, missing nothing and repeating nothing", async () => {
  const shots = new h.Shots("stream-resume");
  const auth = { headers: { Authorization: "Bearer " + demo.apiKey } };
  const first = (await (await fetch(demo.api + "/v1/events?limit=1", auth)).json()).events[0];
  // The first connection carries the first event and then drops; the console reconnects to the
  // real stream, which must start after that event.
  const streams = [];
  await context.route("**/v1/events/stream", async (route) => {
    streams.push(route.request().headers());
    if (streams.length > 1) return route.continue();
    return route.fulfill({ status: 200, contentType: "text/event-stream",
      body: `retry: 200\n\nid: ${first.seq}\nevent: ${first.type}\ndata: ${JSON.stringify(first)}\n\n` });
  });
  const page = await consolePage();
  await page.locator("#conversation-list button").nth(1).waitFor({ timeout: h.STEP_MS });
  await page.locator("#stream-status", { hasText: "Live" }).waitFor({ timeout: h.STEP_MS });
  assert.equal(streams.length >= 2, true);
  assert.equal(streams[0]["last-event-id"], undefined);
  assert.equal(streams[1]["last-event-id"], String(first.seq));
  assert.match(streams[1].authorization, /^Bearer /);
  await openConversation(page, first.conversationId);
  assert.equal(await page.locator("#transcript .bubble").count(), 1);  // not repeated
  await openConversation(page, first.conversationId === IOS16 ? LEGACY : IOS16);
  assert.equal(await page.locator("#transcript .bubble").count(), 1);  // not missed
  await shots.take(page, "resumed");
  assert.deepEqual(h.unexpected(errors), []);
});

test("the pending request can be cancelled by the agent", async () => {
  const shots = new h.Shots("agent-cancels");
  const page = await consolePage();
  await openConversation(page, IOS16);
  await agentSends(page);
  await page.getByRole("button", { name: "Cancel pending request" }).click();
  await page.locator("#transcript .bubble", { hasText: "Cancelled by the agent" }).waitFor({ timeout: h.STEP_MS });
  await page.getByRole("button", { name: "Cancel pending request" }).waitFor({ state: "hidden", timeout: h.STEP_MS });
  await shots.take(page, "cancelled");
  assert.deepEqual(h.unexpected(errors), []);
});

test("provider form: the secret is write-only and an API error shows beside its field", async () => {
  const shots = new h.Shots("provider-form");
  const secret = "browser-test-secret-4711";
  const page = await consolePage();
  const form = await fillNewProvider(page, { "Id": "acme", "Name": "Acme IdP", "Authorization URL": "ftp://idp.example.com/authorize",
    "Token URL": "https://idp.example.com/token", "Client id": "acme-client", "Client secret": secret });
  await form.getByRole("button", { name: "Save" }).click();
  const fieldError = page.locator("#pf-authorizationUrl-error");
  await fieldError.waitFor({ state: "visible", timeout: h.STEP_MS });
  assert.match(await fieldError.innerText(), /URL/);
  assert.equal(await page.getByLabel("Authorization URL").getAttribute("aria-invalid"), "true");
  await shots.take(page, "bad-url-beside-its-field");

  await form.getByLabel("Authorization URL").fill("https://idp.example.com/authorize");
  await form.getByRole("button", { name: "Save" }).click();
  await page.locator("#provider-form").waitFor({ state: "hidden", timeout: h.STEP_MS });
  const row = page.locator("#provider-rows tr", { hasText: "Acme IdP" });
  await row.waitFor({ timeout: h.STEP_MS });
  assert.match(await row.innerText(), /\bset\b/);
  await page.reload();
  await page.locator("#nav").waitFor({ state: "visible", timeout: h.STEP_MS });  // signed in again from sessionStorage
  await page.getByRole("button", { name: "Identity providers" }).click();
  await page.locator("#provider-rows tr", { hasText: "Acme IdP" }).getByRole("button", { name: "Edit Acme IdP" }).click();
  assert.match(await page.locator("#pf-secret-state").innerText(), /A client secret is set/);
  assert.equal(await page.getByLabel("Client secret").inputValue(), "");
  const dom = await page.content();
  assert.equal(dom.includes(secret), false, "the client secret is in the DOM");
  // The API key is in this tab's sessionStorage only: not in localStorage, not in the URL.
  assert.equal(await page.evaluate(() => localStorage.length), 0);
  assert.equal(page.url().includes(demo.apiKey), false);
  await shots.take(page, "edit-after-reload");
  assert.deepEqual(h.unexpected(errors, [REFUSED_LOAD]), []);
});

test("a provider whose token exchange failed shows its error state and what to fix", async () => {
  const shots = new h.Shots("provider-error-state");
  const example = await (await fetch(demo.api + "/v1/providers/example", { headers: { Authorization: "Bearer " + demo.apiKey } })).json();
  const idp = example.authorizationUrl.replace(/\/authorize$/, "");
  const page = await consolePage();
  const form = await fillNewProvider(page, { "Id": "broken", "Name": "Broken IdP", "Authorization URL": idp + "/authorize",
    "Token URL": idp + "/no-such-token-endpoint", "Client id": example.clientId, "Client secret": "idp-client-secret-0001" });
  await form.getByRole("button", { name: "Save" }).click();
  await page.locator("#provider-rows tr", { hasText: "Broken IdP" }).waitFor({ timeout: h.STEP_MS });
  await page.getByRole("button", { name: "Conversations" }).click();
  await openConversation(page, IOS16);
  await agentSends(page, "broken");
  const phone = await phonePage("ios16");
  await customerSignsIn(phone, shots);
  await phone.locator(".reply.failed", { hasText: "Authentication Failed" }).waitFor({ timeout: h.STEP_MS });
  await page.locator("#transcript .bubble.outcome-bad", { hasText: "Sign-in failed" }).waitFor({ timeout: h.STEP_MS });
  await page.getByRole("button", { name: "Identity providers" }).click();
  const row = page.locator("#provider-rows tr", { hasText: "Broken IdP" });
  await row.locator(".badge.bad", { hasText: "error" }).waitFor({ timeout: h.STEP_MS });
  assert.match(await row.innerText(), /check the token URL, the client id and the client secret/);
  assert.match(await page.locator("#provider-rows tr", { hasText: "Example IdP" }).innerText(), /none yet|worked/);
  await shots.take(page, "provider-in-error");
  await row.getByRole("button", { name: "Reconfigure Broken IdP" }).click();
  assert.equal(await form.getByLabel("Token URL").inputValue(), idp + "/no-such-token-endpoint");
  await shots.take(page, "reconfigure");
  assert.deepEqual(h.unexpected(errors), []);
});

test("customer and provider text carrying <script> and <img onerror> stays inert text", async () => {
  const shots = new h.Shots("inert-text");
  const hostileName = `Evil <img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>`;
  const hostileMessage = `<script>window.__pwned=3</script><img src=x onerror="window.__pwned=4">`;
  const page = await consolePage();
  // A provider named with markup, through the console's own form.
  await page.getByRole("button", { name: "Identity providers" }).click();
  await page.getByRole("button", { name: "Edit Example IdP" }).click();
  await page.locator("#provider-form").getByLabel("Name", { exact: true }).fill(hostileName);
  await page.locator("#provider-form").getByRole("button", { name: "Save" }).click();
  await page.locator("#provider-rows tr", { hasText: "Evil <img" }).waitFor({ timeout: h.STEP_MS });
  await shots.take(page, "provider-name");
  // The customer writes markup on the phone; the agent sends a request named after the provider.
  const phone = await phonePage("ios16");
  await phone.getByLabel("Message", { exact: true }).fill(hostileMessage);
  await phone.getByRole("button", { name: "Send" }).click();
  await page.getByRole("button", { name: "Conversations" }).click();
  await openConversation(page, IOS16);
  await page.locator("#transcript .bubble.customer", { hasText: "<script>window.__pwned=3" }).waitFor({ timeout: h.STEP_MS });
  await agentSends(page);
  await phone.locator(".received button", { hasText: "Sign in to Evil <img" }).waitFor({ timeout: h.STEP_MS });
  await phone.locator(".from-me", { hasText: "<script>" }).waitFor({ timeout: h.STEP_MS });
  await shots.take(page, "console-transcript");
  await shots.take(phone, "phone-thread");
  for (const p of [page, phone]) {
    assert.equal(await p.evaluate(() => window.__pwned), undefined);
    assert.equal(await p.locator("main img[src='x'], main script:not([src])").count(), 0);
  }
  assert.deepEqual(h.unexpected(errors), []);
});

test("operator: businesses and keys (a new key shown once), the business switcher, webhooks", async () => {
  const shots = new h.Shots("operator");
  const page = await consolePage();
  await page.getByRole("button", { name: "Businesses and keys" }).click();
  await page.locator("#business-rows tr", { hasText: "demo-business" }).waitFor({ timeout: h.STEP_MS });
  await page.getByLabel("Key name", { exact: true }).fill("agent desk");
  await page.getByLabel("Acts for", { exact: true }).selectOption("demo-business");
  await page.getByRole("button", { name: "Create key" }).click();
  await page.locator("#new-key").waitFor({ state: "visible", timeout: h.STEP_MS });
  const key = (await page.locator("#new-key-value").innerText()).trim();
  assert.match(key, /^bcak_/);
  await shots.take(page, "key-shown-once");
  await page.getByRole("button", { name: "Done" }).click();
  assert.equal((await page.content()).includes(key), false, "the key stays on the page after Done");
  // The new key signs in as its business: no operator pages, the business's conversations.
  const desk = h.watch(await context.newPage(), errors);
  await desk.goto(demo.consoleUrl);
  await desk.getByLabel("API key", { exact: true }).fill(key);
  await desk.getByRole("button", { name: "Sign in" }).click();
  await desk.locator("#principal", { hasText: "Business key" }).waitFor({ timeout: h.STEP_MS });
  await desk.locator("#conversation-list button").nth(1).waitFor({ timeout: h.STEP_MS });
  assert.equal(await desk.getByRole("button", { name: "Businesses and keys" }).isVisible(), false);
  await shots.take(desk, "business-key");
  // The shared provider is the operator's: the business only turns it off and on for itself.
  await desk.getByRole("button", { name: "Identity providers" }).click();
  await desk.getByRole("button", { name: "Disable Example IdP" }).click();
  await desk.getByRole("button", { name: "Enable Example IdP" }).waitFor({ timeout: h.STEP_MS });
  assert.equal(await desk.getByRole("button", { name: "Edit Example IdP" }).count(), 0);
  assert.equal(await desk.getByRole("button", { name: "Delete Example IdP" }).count(), 0);
  await shots.take(desk, "business-key-shared-provider-off");
  await desk.getByRole("button", { name: "Enable Example IdP" }).click();
  await desk.getByRole("button", { name: "Disable Example IdP" }).waitFor({ timeout: h.STEP_MS });
  await desk.getByRole("button", { name: "Conversations" }).click();
  // Revoked by the operator, the key is refused on its next call and the desk asks for a key.
  await page.getByRole("button", { name: "Revoke key agent desk" }).click();
  await page.locator("#key-rows tr", { hasText: "revoked" }).waitFor({ timeout: h.STEP_MS });
  await desk.getByRole("button", { name: "Identity providers" }).click();
  await desk.locator("#signin-error", { hasText: "refused this API key" }).waitFor({ timeout: h.STEP_MS });
  assert.equal(await desk.evaluate(() => sessionStorage.length), 0);
  await shots.take(desk, "revoked");
  await page.getByLabel("Business", { exact: true }).selectOption("demo-business");
  await page.getByRole("button", { name: "Conversations" }).click();
  assert.equal(await page.locator("#conversation-list button").count(), 2);
  await page.getByRole("button", { name: "Webhooks" }).click();
  await page.getByRole("button", { name: "Add webhook" }).click();
  const webhookForm = page.locator("#webhook-form");
  await webhookForm.getByLabel("Id", { exact: true }).fill("crm");
  await webhookForm.getByLabel("URL", { exact: true }).fill("https://crm.example.com/hooks/bcauth");
  await webhookForm.getByLabel("Signing secret (at least 16 characters)").fill("webhook-secret-0123456789");
  await webhookForm.getByRole("button", { name: "Save" }).click();
  await page.locator("#webhook-rows tr", { hasText: "crm.example.com" }).waitFor({ timeout: h.STEP_MS });
  assert.equal((await page.content()).includes("webhook-secret-0123456789"), false);
  await shots.take(page, "webhooks");
  // The revoked key's call is 403 (the browser logs the failed load); nothing else.
  assert.deepEqual(h.unexpected(errors, [/status of 403/]), []);
});

test("every page: no console error, no serious or critical axe violation, every control reachable by keyboard", async () => {
  const shots = new h.Shots("accessibility");
  const signInPage = h.watch(await context.newPage(), errors);
  await signInPage.goto(demo.consoleUrl);
  const checks = [["sign-in", signInPage]];
  const page = await consolePage();
  await openConversation(page, LEGACY);
  checks.push(["conversations", page]);
  const phone = await phonePage("legacy");
  checks.push(["phone", phone]);
  for (const [name, p] of checks) {
    await shots.take(p, name);
    assert.deepEqual(await h.axeViolations(p), [], name + ": axe");
    assert.deepEqual(await h.unreachableByKeyboard(p), [], name + ": keyboard");
  }
  // The identity provider's login sheet: the IdP double's own form, which the phone shows in a
  // frame, checked as a page of its own.
  await agentSends(page);
  await customerTaps(phone);
  const sheetUrl = await phone.locator("#sheet-frame").getAttribute("src");
  const sheetPage = h.watch(await context.newPage(), errors);
  await sheetPage.goto(new URL(sheetUrl, demo.phoneUrl).href);
  await sheetPage.getByLabel("User name").waitFor({ timeout: h.STEP_MS });
  await shots.take(sheetPage, "idp-login-sheet");
  assert.deepEqual(await h.axeViolations(sheetPage), [], "login sheet: axe");
  assert.deepEqual(await h.unreachableByKeyboard(sheetPage), [], "login sheet: keyboard");
  for (const [view, button, loaded] of [["providers", "Identity providers", "#provider-rows tr"],
    ["webhooks", "Webhooks", "#webhooks-empty"], ["businesses", "Businesses and keys", "#business-rows tr"]]) {
    await page.getByRole("button", { name: button }).click();
    await page.locator(loaded).first().waitFor({ state: "visible", timeout: h.STEP_MS });
    await shots.take(page, view);
    assert.deepEqual(await h.axeViolations(page), [], view + ": axe");
    assert.deepEqual(await h.unreachableByKeyboard(page), [], view + ": keyboard");
  }
  await page.getByRole("button", { name: "Identity providers" }).click();
  await page.getByRole("button", { name: "Add provider" }).click();
  await shots.take(page, "provider-form");
  assert.deepEqual(await h.axeViolations(page), [], "provider form: axe");
  assert.deepEqual(await h.unreachableByKeyboard(page), [], "provider form: keyboard");
  assert.deepEqual(h.unexpected(errors), []);
});
