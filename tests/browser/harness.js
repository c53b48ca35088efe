// What the browser tests share: `bcauth demo --serve` started on 127.0.0.1 (port 0) and stopped,
// Debian's chromium driven by playwright-core (no browser download), screenshots of each step,
// the browser console watched for errors, axe-core and a keyboard walk over a page.
"use strict";

const { spawn } = require("node:child_process");
const fs = require("node:fs");
const path = require("node:path");
const { chromium } = require("playwright-core");

const BCAUTH = process.env.BCAUTH_CLI_PATH || path.resolve(__dirname, "../../build/bcauth");
const SHOTS = process.env.BCAUTH_SCREENSHOT_DIR || path.resolve(__dirname, "../../build/tests/browser-screenshots");
const CHROMIUM = process.env.BCAUTH_CHROMIUM || "/usr/bin/chromium";
const AXE_SOURCE = fs.readFileSync(require.resolve("axe-core/axe.min.js"), "utf8");
// Every wait is bounded: a step that does not happen fails the test instead of hanging it.
const STEP_MS = 15000;

// Starts the demo and reads its two URLs and API key from its output.
function startDemo() {
  const child = spawn(BCAUTH, ["demo", "--serve"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  const exited = new Promise((done) => child.on("exit", (code, signal) => done(signal || code)));
  child.stderr.on("data", (chunk) => (err += chunk));
  const stop = async () => {
    child.kill("SIGTERM");
    const kill = setTimeout(() => child.kill("SIGKILL"), STEP_MS);
    const how = await exited;
    clearTimeout(kill);
    return how;
  };
  const started = new Promise((resolve, reject) => {
    exited.then((how) => reject(new Error("bcauth demo --serve ended (" + how + "): " + err)));
    child.stdout.on("data", (chunk) => {
      out += chunk;
      const consoleUrl = /console: (\S+)/.exec(out);
      const phoneUrl = /phone: +(\S+)/.exec(out);
      const apiKey = /API key: ([^)\s]+)/.exec(out);
      if (consoleUrl && phoneUrl && apiKey) {
        resolve({ consoleUrl: consoleUrl[1], phoneUrl: phoneUrl[1], apiKey: apiKey[1], api: consoleUrl[1].replace(/\/console\/$/, ""),
          stop, stderr: () => err });
      }
    });
  });
  let timer;
  const timeout = new Promise((resolve, reject) => {
    timer = setTimeout(() => reject(new Error("bcauth demo --serve printed no URLs in time: " + out + err)), STEP_MS);
  });
  return Promise.race([started, timeout]).finally(() => clearTimeout(timer)).catch(async (e) => {
    await stop();
    throw e;
  });
}

function launch() {
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ["--no-sandbox"] });
}

// A page whose console errors and uncaught exceptions are collected; `expected` lists the
// messages a test provokes on purpose (a refused API call is logged by the browser as a failed load).
function watch(page, errors) {
  page.on("console", (message) => {
    if (message.type() === "error") errors.push(page.url() + ": " + message.text());
  });
  page.on("pageerror", (error) => errors.push(page.url() + ": uncaught " + error.message));
  return page;
}

function unexpected(errors, expected = []) {
  return errors.filter((e) => !expected.some((pattern) => pattern.test(e)));
}

class Shots {
  constructor(test) {
    this.dir = path.join(SHOTS, test);
    fs.rmSync(this.dir, { recursive: true, force: true });
    fs.mkdirSync(this.dir, { recursive: true });
    this.n = 0;
  }
  async take(page, step) {
    this.n += 1;
    await page.screenshot({ path: path.join(this.dir, String(this.n).padStart(2, "0") + "-" + step + ".png"), fullPage: true });
  }
}

// axe-core on the page as it is (evaluated through the driver: the page's CSP allows no injected
// script tag); returns the serious and critical violations.
async function axeViolations(page) {
  await page.evaluate(AXE_SOURCE);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => v.id + ": " + v.help + " (" + v.nodes.map((n) => n.target.join(" ")).join(", ") + ")");
}

// Tabs through the page and returns the visible, enabled controls Tab never reached.
async function unreachableByKeyboard(page) {
  const count = await page.evaluate(() => {
    for (const old of document.querySelectorAll("[data-kb]")) old.removeAttribute("data-kb");
    const controls = [...document.querySelectorAll("button, input, select, textarea, a[href], iframe, [tabindex]")]
      .filter((c) => !c.disabled && c.getClientRects().length > 0 && getComputedStyle(c).visibility !== "hidden" &&
        c.getAttribute("tabindex") !== "-1" && !c.closest("[hidden]"));
    controls.forEach((c, i) => c.setAttribute("data-kb", String(i)));
    document.activeElement && document.activeElement.blur();
    window.scrollTo(0, 0);
    return controls.length;
  });
  const reached = new Set();
  for (let i = 0; i < count * 2 + 5 && reached.size < count; i++) {
    await page.keyboard.press("Tab");
    const at = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute("data-kb"));
    if (at !== null && at !== undefined) reached.add(at);
  }
  return page.evaluate((seen) => [...document.querySelectorAll("[data-kb]")]
    .filter((c) => !seen.includes(c.getAttribute("data-kb")))
    .map((c) => c.tagName.toLowerCase() + (c.id ? "#" + c.id : "") + " " + (c.textContent || c.getAttribute("aria-label") || "").trim().slice(0, 40)),
  [...reached]);
}

module.exports = { startDemo, launch, watch, unexpected, Shots, axeViolations, unreachableByKeyboard, STEP_MS };
