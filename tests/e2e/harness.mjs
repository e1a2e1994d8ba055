// The browser tests' harness: a fresh demo server on a free port, Debian's chromium through
// playwright-core, and the checks every page must pass (WEB.md §4.1): no request leaves
// 127.0.0.1, no console error, no serious or critical axe-core violation, the page's language,
// no untranslated message key. Screenshots go to tests/e2e/screenshots/.

import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { crc32, deflateSync } from "node:zlib";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, "../..");
export const screenshots = join(here, "screenshots");
const axeSource = readFileSync(join(here, "node_modules/axe-core/axe.min.js"), "utf8");
export const PASSWORD = "demo-password";

function freePort() {
  return new Promise((ok, fail) => {
    const server = createServer();
    server.unref();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => ok(port));
    });
  });
}

/** The demo's clock starts here on every run (a Tuesday), so screenshots show the same dates. */
export const CLOCK = "2026-12-01 09:30";

/** Starts `whistle demo` on a fresh database; resolves when it listens. */
export async function startServer({ orders = 30, clock = CLOCK } = {}) {
  const bin = process.env.WHISTLE_BIN ?? join(repo, "target/debug/whistle");
  const dir = mkdtempSync(join(tmpdir(), "whistle-e2e-"));
  const port = await freePort();
  const child = spawn(
    bin,
    ["demo", "--data-dir", join(dir, "data"), "--listen", `127.0.0.1:${port}`,
      "--orders", String(orders), "--simulated-per-day", "0", "--clock", clock],
    { stdio: ["ignore", "pipe", "pipe"], env: { ...process.env, RUST_LOG: "warn" } },
  );
  let log = "";
  child.stdout.on("data", (chunk) => { log += chunk; });
  child.stderr.on("data", (chunk) => { log += chunk; });
  const deadline = Date.now() + 60_000;
  while (!/whistle listening on/.test(log)) {
    if (child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`the server did not start:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  const token = /API token \([^)]*\): (\S+)/.exec(log)?.[1];
  return {
    url: `http://127.0.0.1:${port}`,
    token,
    log: () => log,
    async stop() {
      child.kill("SIGTERM");
      await new Promise((r) => (child.exitCode !== null ? r() : child.once("exit", r)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Debian's chromium, headless. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage"],
  });
}

/**
 * A page whose every request is checked: one that leaves 127.0.0.1 is aborted and recorded,
 * as are console errors and failed requests. `problems()` lists them.
 */
export async function guardedPage(browser, { width = 1440, height = 900, locale = "zh-CN" } = {}) {
  const context = await browser.newContext({ viewport: { width, height }, locale });
  const page = await context.newPage();
  const outside = [];
  const errors = [];
  await page.route("**", (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === "127.0.0.1") return route.continue();
    outside.push(url.href);
    return route.abort();
  });
  // A refused form answers with its 4xx status (the browser logs that as an error): a test
  // names the paths whose refusals it expects with `page.expectRefusals(regex)`.
  const expected = [];
  page.expectRefusals = (pattern) => expected.push(pattern);
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const url = message.location()?.url ?? "";
    const refusal = /status of 4\d\d/.test(message.text()) && expected.some((p) => p.test(url));
    if (!refusal) errors.push(`${message.text()} (${url})`);
  });
  page.on("pageerror", (error) => errors.push(String(error)));
  page.on("requestfailed", (request) => errors.push(`failed: ${request.url()}`));
  page.problems = () => ({ outside, errors });
  return { context, page };
}

/** Everything every page must satisfy; returns the axe violations that count. */
export async function checkPage(page, { lang = "zh-CN" } = {}) {
  const problems = page.problems();
  if (problems.outside.length) throw new Error(`requests left the server: ${problems.outside}`);
  if (problems.errors.length) throw new Error(`console errors: ${problems.errors.join("; ")}`);
  const htmlLang = await page.getAttribute("html", "lang");
  if (htmlLang !== lang) throw new Error(`<html lang="${htmlLang}">, expected ${lang}`);
  // Text shown as code (<code>, <pre>: a CSV format's field values, the policy) is meant literally.
  const text = await page.evaluate(() => {
    const body = document.body.cloneNode(true);
    body.querySelectorAll("code, pre, textarea").forEach((e) => e.remove());
    document.documentElement.appendChild(body);
    const shown = body.innerText;
    body.remove();
    return shown;
  });
  // Message keys look like `store_busy` or `order.not_found`: none may reach a reader.
  const key = /\b[a-z]+(?:[._][a-z]+)+\b/.exec(text.replace(/https?:\S+|\S+@\S+|\/\S+/g, ""));
  if (key) throw new Error(`an untranslated key on the page: ${key[0]}`);
  // Through the debugger, not a <script>: the page's content policy (rightly) refuses inline code.
  await page.evaluate(axeSource);
  const result = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    return await axe.run(document, { resultTypes: ["violations"] });
  });
  const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical");
  if (serious.length) {
    throw new Error(`axe: ${serious.map((v) => `${v.id} (${v.nodes.map((n) => n.target).join(", ")})`).join("; ")}`);
  }
}

export async function screenshot(page, name) {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: join(screenshots, `${name}.png`), fullPage: true });
}

/** Signs in through the login page. */
export async function logIn(page, server, login, next = "/ui/") {
  await page.goto(`${server.url}/ui/login?next=${encodeURIComponent(next)}`);
  await page.fill("#login", login);
  await page.fill("#password", PASSWORD);
  await page.press("#password", "Enter");
  await page.waitForURL((url) => !url.pathname.startsWith("/ui/login"));
}

/** One JSON API call with the demo's operator token. */
export async function api(server, method, path, body) {
  const response = await fetch(`${server.url}/api/v1${path}`, {
    method,
    headers: {
      authorization: `Bearer ${server.token}`,
      ...(body ? { "content-type": "application/json" } : {}),
    },
    body: body ? JSON.stringify(body) : undefined,
  });
  return { status: response.status, body: await response.json().catch(() => null) };
}

/** A small valid PNG (a flat colour), to upload as a photo. */
export function png(width = 64, height = 48, rgb = [64, 158, 255]) {
  const chunk = (type, data) => {
    const length = Buffer.alloc(4);
    length.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body) >>> 0);
    return Buffer.concat([length, body, crc]);
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header.set([8, 2, 0, 0, 0], 8);
  const row = Buffer.concat([Buffer.from([0]), Buffer.from(Array(width).fill(rgb).flat())]);
  const pixels = deflateSync(Buffer.concat(Array(height).fill(row)));
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", header), chunk("IDAT", pixels), chunk("IEND", Buffer.alloc(0)),
  ]);
}

/** The page's first contentful paint in ms (Chromium's paint timing), after it has loaded. */
export async function firstPaint(page) {
  return page.evaluate(() => new Promise((resolve) => {
    const found = () => performance.getEntriesByName("first-contentful-paint")[0];
    if (found()) return resolve(found().startTime);
    new PerformanceObserver(() => found() && resolve(found().startTime)).observe({ type: "paint", buffered: true });
  }));
}
