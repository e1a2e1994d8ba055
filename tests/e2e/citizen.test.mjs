// The citizen's page on a 360 px phone, without login: submit a request (district → street by
// the cascade), read the number and the deadline, track it with the phone's last four digits,
// and after the street's reply rate it 满意 — the order is closed, and nothing personal or
// about staff is ever on the page.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, checkPage, guardedPage, launch, logIn, png, screenshot, startServer } from "./harness.mjs";

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launch();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a citizen submits a request, tracks it and rates the reply", async () => {
  const { context, page } = await guardedPage(browser, { width: 360, height: 780 });
  page.expectRefusals(/\/submit$/);
  await page.goto(`${server.url}/`);
  await checkPage(page);
  // Refused: no category chosen; what was typed stays.
  await page.fill("#s-text", "惠新东街人行道上有商贩占道经营，行人只能走机动车道");
  await page.fill("#s-phone", "13600006666");
  await page.click("#submit button[type=submit]");
  await page.waitForSelector("#s-category[aria-invalid=true]");
  assert.equal(await page.inputValue("#s-text"), "惠新东街人行道上有商贩占道经营，行人只能走机动车道");
  await page.selectOption("#s-category", "11.04.01");
  await page.selectOption("#s-district", "110105");
  await page.waitForFunction(() => document.querySelectorAll("#s-street option").length > 5);
  await page.selectOption("#s-street", { label: "小关街道" });
  await page.fill("#s-address", "惠新东街");
  await page.setInputFiles("#s-photo", { name: "现场.png", mimeType: "image/png", buffer: png() });
  await screenshot(page, "citizen-submit");
  await Promise.all([page.waitForNavigation(), page.click("#submit button[type=submit]")]);
  await page.waitForSelector("#submitted");
  const no = (await page.innerText("#submitted .big")).trim();
  assert.match(no, /^\d{8}-\d{6}$/);
  assert.match(await page.innerText("#submitted"), /小关街道/);
  await checkPage(page);
  await screenshot(page, "citizen-submitted");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `no horizontal scrolling at 360 px (${width})`);

  // The street replies; the citizen tracks the order and rates it.
  const street = await guardedPage(browser);
  await logIn(street.page, server, "street", `/ui/orders/${no}`);
  // The citizen's photo is on the order, for the street to see.
  await street.page.waitForSelector("#files img");
  // Loaded and decoded (the thumbnails load lazily): the bytes are the photo the citizen sent.
  await street.page.waitForFunction(() => {
    const img = document.querySelector("#files img");
    return img && img.complete && img.naturalWidth === 64;
  });
  await checkPage(street.page);
  await street.page.setInputFiles("#file", { name: "整改后.png", mimeType: "image/png", buffer: png(64, 48, [103, 194, 58]) });
  await Promise.all([street.page.waitForNavigation(), street.page.click("form.upload button")]);
  assert.equal(await street.page.locator("#files img").count(), 2);
  await screenshot(street.page, "order-attachments");
  await street.page.click("#act-accept button");
  await street.page.fill("#reply-actions", "已清理占道摊点，并安排城管每日巡查");
  await street.page.focus("#reply-actions");
  await street.page.keyboard.press("Control+Enter");
  await street.page.waitForFunction(() => !document.querySelector("#act-reply"));
  await street.context.close();

  await page.fill("#no", no);
  await page.fill("#last4", "6666");
  await Promise.all([page.waitForNavigation(), page.press("#last4", "Enter")]);
  assert.match(await page.innerText("#tracked"), /已清理占道摊点/);
  await page.check("#rate input[name=contacted][value=yes]");
  await page.check("#rate input[name=resolved][value=yes]");
  await page.check("#rate input[name=satisfaction][value=satisfied]");
  await checkPage(page);
  await screenshot(page, "citizen-rate");
  await Promise.all([page.waitForNavigation(), page.click("#rate button")]);
  await page.waitForSelector("#rated");
  const { body } = await api(server, "GET", `/orders/${no}`);
  assert.equal(body.stage.stage, "closed");
  const html = await page.content();
  assert.ok(!html.includes("13600006666"), "no phone on the page");
  assert.ok(!/demo-|承办人/.test(html), "no staff names");
  await context.close();
});
