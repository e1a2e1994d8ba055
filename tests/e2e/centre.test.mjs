// The centre's desks in a real browser, with the keyboard alone where WEB.md §4.2 asks for it:
// the dispatcher takes a suggestion with Enter and upholds a dispute; the visit agent answers
// 2 Y Y Ctrl+Enter (closed) and 3 Ctrl+Enter (reopened, back in the street's inbox as 重办); the
// supervisor urges an overdue order with a double click and a reload, and one 督办 is recorded.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, checkPage, firstPaint, guardedPage, launch, logIn, screenshot, startServer } from "./harness.mjs";

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

async function newOrder(text, { dispatch = true } = {}) {
  const created = await api(server, "POST", "/orders", {
    request_type: "complaint",
    text,
    category: "11.04.01",
    location: { street: "110105010", address: "惠新东街" },
    requester: { name: "李四", phone: "13700005555" },
    dispatch,
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return created.body.no;
}

async function history(no) {
  const { body } = await api(server, "GET", `/orders/${no}/history`);
  return body.events.map((e) => e.event);
}

/** The street handler accepts and replies through the order page. */
async function replyAsStreet(no, text) {
  const { context, page } = await guardedPage(browser);
  await logIn(page, server, "street", `/ui/orders/${no}`);
  await page.click("#act-accept button");
  await page.waitForSelector("#reply-actions");
  await page.fill("#reply-actions", text);
  await page.focus("#reply-actions");
  await page.keyboard.press("Control+Enter");
  await page.waitForFunction(() => !document.querySelector("#act-reply"));
  await context.close();
}

test("a dispatcher takes the catalogue's suggestion with Enter and upholds a dispute", async () => {
  const waiting = await newOrder("惠新东街早市占道经营", { dispatch: false });
  const { context, page } = await guardedPage(browser);
  await logIn(page, server, "dispatcher", "/ui/dispatch");
  assert.match(await page.innerText("#queue"), new RegExp(waiting));
  assert.match(await page.innerText("#queue"), /小关街道/);
  assert.match(await page.innerText("#queue"), /目录 v\d+/);
  await checkPage(page);
  await screenshot(page, "dispatch");
  // Keyboard only: the first row's button has the focus; ↓ to this order's, Enter dispatches it.
  for (let i = 0; i < 60; i += 1) {
    const label = await page.evaluate(() => document.activeElement?.getAttribute("aria-label") ?? "");
    if (label.includes(waiting)) break;
    await page.keyboard.press("ArrowDown");
  }
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Enter")]);
  assert.doesNotMatch(await page.innerText("main"), new RegExp(waiting));
  const { body: dispatched } = await api(server, "GET", `/orders/${waiting}`);
  assert.equal(dispatched.stage.stage, "dispatched");
  assert.equal(dispatched.stage.lead, "110105010");

  // The street disputes it; the dispatcher upholds the dispute and redispatches by name.
  const street = await guardedPage(browser);
  await logIn(street.page, server, "street", `/ui/orders/${waiting}`);
  await street.page.fill("#dispute-reason", "在商场红线内，属城管执法");
  await street.page.click("#act-dispute button");
  await street.page.waitForSelector(".badge >> text=异议待审");
  await street.context.close();
  await page.goto(`${server.url}/ui/dispatch?tab=disputes`);
  assert.match(await page.innerText("#queue"), /在商场红线内/);
  await checkPage(page);
  await screenshot(page, "dispatch-disputes");
  const form = page.locator("#queue li", { hasText: waiting }).locator("form");
  await form.locator("input[name=upheld][value=yes]").check();
  await form.locator("input[name=redispatch_to]").fill("朝阳区城市管理综合行政执法局");
  await form.locator("input[name=note]").focus();
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Control+Enter")]);
  const events = (await history(waiting)).map((e) => e.event);
  assert.deepEqual(events.slice(-3), ["disputed", "dispute_reviewed", "dispatched"]);
  const { body: redispatched } = await api(server, "GET", `/orders/${waiting}`);
  assert.equal(redispatched.stage.lead, "110105.dept.urban-management");
  await context.close();
});

test("a visit agent closes the satisfied and reopens the dissatisfied with the keyboard", async () => {
  const pleased = await newOrder("小区门口占道经营，已多次反映");
  const unhappy = await newOrder("惠新东街夜市噪音");
  await replyAsStreet(pleased, "已清理占道摊点");
  await replyAsStreet(unhappy, "已劝离摊贩");
  const { context, page } = await guardedPage(browser);
  await logIn(page, server, "visit", `/ui/visits?no=${pleased}`);
  assert.match(await page.innerText("#reply"), /已清理占道摊点/);
  assert.doesNotMatch(await page.innerText("#current"), /13700005555/, "masked");
  await checkPage(page);
  await screenshot(page, "visits");
  for (const key of ["2", "y", "y"]) await page.keyboard.press(key);
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Control+Enter")]);
  const { body: closed } = await api(server, "GET", `/orders/${pleased}`);
  assert.equal(closed.stage.stage, "closed");

  await page.goto(`${server.url}/ui/visits?no=${unhappy}`);
  for (const key of ["3", "y", "n"]) await page.keyboard.press(key);
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Control+Enter")]);
  const { body: reopened } = await api(server, "GET", `/orders/${unhappy}`);
  assert.equal(reopened.stage.stage, "dispatched");
  assert.equal(reopened.reopen_count, 1);
  const visit = (await history(unhappy)).find((e) => e.event === "visited");
  assert.equal(visit.result.satisfaction, "dissatisfied");
  assert.equal(visit.result.contacted, true);
  assert.equal(visit.result.resolved, false);
  await context.close();

  const street = await guardedPage(browser);
  await logIn(street.page, server, "street", "/ui/inbox?tab=rework");
  assert.match(await street.page.innerText("#orders"), new RegExp(unhappy));
  assert.doesNotMatch(await street.page.innerText("#orders"), new RegExp(pleased));
  assert.match(await street.page.innerText("nav.tabs [aria-current]"), /重办/);
  await screenshot(street.page, "inbox-rework");
  await street.page.goto(`${server.url}/ui/orders/${unhappy}`);
  assert.match(await street.page.innerText(".card"), /重办/);
  await street.context.close();
});

test("a supervisor urges an overdue order once, whatever the clicks and reloads", async () => {
  const { context, page } = await guardedPage(browser);
  await logIn(page, server, "supervisor", "/ui/supervision?tab=overdue");
  await checkPage(page);
  await screenshot(page, "supervision");
  const row = page.locator("#board tbody tr").first();
  const no = (await row.locator("td a").first().innerText()).trim();
  const urges = async () => (await history(no)).filter((e) => e.event === "supervised" && e.action.action === "urge").length;
  const before = await urges();
  await Promise.all([page.waitForNavigation(), row.locator("button").dblclick()]);
  await page.reload();
  await checkPage(page);
  assert.equal(await urges(), before + 1);
  await context.close();
});

test("a shift leader switches from supervising to dispatching and back", async () => {
  const { context, page } = await guardedPage(browser);
  await logIn(page, server, "supervisor", "/ui/");
  const nav = async () => page.locator("header nav a").evaluateAll((links) => links.map((a) => a.getAttribute("href")));
  assert.ok((await nav()).includes("/ui/supervision"));
  assert.ok(!(await nav()).includes("/ui/dispatch"));
  await page.selectOption(".role-switch select", "dispatcher@11.center");
  await Promise.all([page.waitForNavigation(), page.click(".role-switch button")]);
  assert.ok((await nav()).includes("/ui/dispatch"));
  assert.ok(!(await nav()).includes("/ui/supervision"));
  await page.goto(`${server.url}/ui/dispatch`);
  assert.match(await page.innerText("h1"), /派单/);
  await checkPage(page);
  await screenshot(page, "role-switch");
  await page.selectOption(".role-switch select", "supervisor@11.center");
  await Promise.all([page.waitForNavigation(), page.click(".role-switch button")]);
  assert.ok((await nav()).includes("/ui/supervision"));
  await context.close();
});

test("an order's page offers the dispatcher only the dispatcher's commands", async () => {
  const waiting = await newOrder("惠新东街人行道被占", { dispatch: false });
  const { context, page } = await guardedPage(browser);
  await logIn(page, server, "dispatcher", `/ui/orders/${waiting}`);
  const actions = await page.locator("#actions form").evaluateAll((forms) => forms.map((f) => f.dataset.action));
  assert.ok(actions.includes("dispatch") && actions.includes("forward"));
  assert.ok(!actions.includes("accept") && !actions.includes("reply") && !actions.includes("visit"));
  // Typeahead over units by name: typing 小关 offers 小关街道.
  await page.fill("#dispatch-unit", "小关");
  await page.waitForFunction(() => document.querySelectorAll("#dispatch-unit-list option").length > 0);
  const options = await page.locator("#dispatch-unit-list option").evaluateAll((o) => o.map((x) => x.value));
  assert.ok(options.some((v) => v.startsWith("小关街道 ")), options.join(","));
  await checkPage(page);
  await screenshot(page, "order-dispatcher");
  await context.close();
});

test("an administrator creates an account and edits the standard reply texts", async () => {
  const { context, page } = await guardedPage(browser);
  page.expectRefusals(/\/ui\/admin$/);
  await logIn(page, server, "admin", "/ui/admin");
  await checkPage(page);
  await page.fill("#u-login", "wangwu");
  await page.fill("#u-name", "王五");
  await page.selectOption("#u-role", "handler");
  await page.fill("#u-unit", "小关");
  await page.waitForFunction(() => document.querySelectorAll("#u-unit-list option").length > 0);
  await page.fill("#u-unit", "小关街道 110105010");
  await Promise.all([page.waitForNavigation(), page.click("#new-user button")]);
  assert.match(await page.innerText("#notice"), /初始密码/);
  assert.match(await page.innerText("#users"), /wangwu/);
  await checkPage(page);
  await screenshot(page, "admin");
  // A bad line is refused with its number; the texts typed stay in the editor.
  await page.fill("#replies", "category,outcome,text\n11.04,finished,已处理\n");
  await page.focus("#replies");
  await Promise.all([page.waitForNavigation(), page.keyboard.press("Control+Enter")]);
  assert.match(await page.innerText("#admin-error"), /第 2 行/);
  assert.match(await page.inputValue("#replies"), /finished/);
  await context.close();
});

test("the list pages paint within 300 ms", async () => {
  const { context, page } = await guardedPage(browser);
  const pages = [
    ["street", "/ui/inbox?tab=all"],
    ["dispatcher", "/ui/dispatch"],
    ["supervisor", "/ui/supervision?tab=overdue"],
    ["visit", "/ui/visits"],
  ];
  const painted = [];
  for (const [login, path] of pages) {
    await logIn(page, server, login, path);
    // A second, warm visit: what a person at the desk sees all day (the files are cached).
    await page.goto(`${server.url}${path}`);
    const fcp = await firstPaint(page);
    painted.push(`${path} ${fcp.toFixed(0)} ms`);
    assert.ok(fcp <= 300, `${path}: first contentful paint ${fcp} ms`);
    await page.context().clearCookies();
  }
  console.log(`first contentful paint: ${painted.join(", ")}`);
  await context.close();
});
