// The hotline's first pages in a real browser: signing in, the landing, an order's detail with
// its masked requester and history, the language switch, signing out; the citizen's tracking
// page on a phone-sized screen.

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { api, checkPage, guardedPage, launch, logIn, screenshot, startServer, PASSWORD } from "./harness.mjs";

let server;
let browser;
let order;

before(async () => {
  server = await startServer();
  browser = await launch();
  const created = await api(server, "POST", "/orders", {
    request_type: "complaint",
    text: "小区门口占道经营，早上七点开始",
    category: "11.04.01",
    location: { street: "110105010", address: "惠新东街" },
    requester: { name: "张三", phone: "13800001234" },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  order = created.body.no;
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

test("a street handler signs in, opens an order and signs out", async () => {
  const { context, page } = await guardedPage(browser);
  await page.goto(`${server.url}/ui/`);
  assert.match(page.url(), /\/ui\/login\?next=/, "a page needs a session");
  await checkPage(page);
  await screenshot(page, "login");

  page.expectRefusals(/\/ui\/login$/);
  await page.fill("#login", "street");
  await page.fill("#password", "wrong-password");
  await page.press("#password", "Enter");
  await page.waitForSelector("#login-error");
  assert.equal(await page.textContent("#login-error"), "用户名或密码错误");
  assert.equal(await page.inputValue("#login"), "street", "a refused login keeps what was typed");
  assert.equal(await page.getAttribute("#login", "aria-invalid"), "true");

  await page.fill("#password", PASSWORD);
  await page.press("#password", "Enter");
  await page.waitForURL(`${server.url}/ui/`);
  await checkPage(page);
  assert.match(await page.innerText("header"), /小关街道承办人|street/);
  await screenshot(page, "landing");

  await page.fill("#no", order);
  await page.press("#no", "Enter");
  await page.waitForURL(`${server.url}/ui/orders/${order}`);
  await checkPage(page);
  const text = await page.innerText("main");
  assert.match(text, /小区门口占道经营/);
  assert.match(text, /占道经营/);
  assert.match(text, /小关街道/);
  assert.match(text, /受理/);
  assert.match(text, /派单/);
  assert.match(text, /\d{4}-\d{2}-\d{2} \d{2}:\d{2}/, "times in Beijing as YYYY-MM-DD HH:MM");
  assert.match(text, /剩余 \d+ (个工作日|小时)/, "the running deadline counts down");
  const html = await page.content();
  assert.ok(!html.includes("13800001234"), "the phone is masked");
  assert.ok(!html.includes("张三"), "the name is masked");
  assert.match(text, /\*{7}1234/);
  await screenshot(page, "order-detail");

  await page.click("header a[lang=en]");
  await page.waitForURL(`${server.url}/ui/orders/${order}`);
  await checkPage(page, { lang: "en" });
  assert.match(await page.innerText("main"), /History/);
  await page.click("header a[lang=zh-CN]");
  await page.waitForURL(`${server.url}/ui/orders/${order}`);
  assert.equal(await page.getAttribute("html", "lang"), "zh-CN");

  await page.click("text=退出");
  await page.waitForURL(/\/ui\/login/);
  await page.goto(`${server.url}/ui/`);
  assert.match(page.url(), /\/ui\/login/, "signed out means signed out");
  await context.close();
});

test("an order outside the viewer's scope is not found", async () => {
  const { context, page } = await guardedPage(browser);
  page.expectRefusals(/\/ui\/orders\//);
  await logIn(page, server, "waterworks");
  const response = await page.goto(`${server.url}/ui/orders/${order}`);
  assert.equal(response.status(), 404);
  assert.ok(!(await page.content()).includes("占道经营，早上七点开始"));
  await context.close();
});

test("a citizen tracks a request on a phone", async () => {
  const { context, page } = await guardedPage(browser, { width: 360, height: 780 });
  await page.goto(`${server.url}/`);
  await checkPage(page);
  page.expectRefusals(/\/track\?/);
  await page.fill("#no", order);
  await page.fill("#last4", "9999");
  await page.press("#last4", "Enter");
  await page.waitForSelector("#track-error");
  assert.match(await page.textContent("#track-error"), /未找到该工单/);
  await page.fill("#last4", "1234");
  await page.press("#last4", "Enter");
  await page.waitForSelector("#tracked");
  await checkPage(page);
  const text = await page.innerText("#tracked");
  assert.match(text, /小关街道/);
  assert.match(text, /待签收|办理中/);
  const html = await page.content();
  assert.ok(!html.includes("张三") && !html.includes("13800001234"), "nothing personal");
  assert.ok(!/demo-/.test(html), "no staff names");
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  assert.ok(width <= 360, `no horizontal scrolling at 360 px (${width})`);
  await screenshot(page, "citizen-track");
  await context.close();
});

test("an operator takes a call in and dispatches it with the keyboard", async () => {
  const { context, page } = await guardedPage(browser);
  page.expectRefusals(/\/ui\/intake$/);
  await logIn(page, server, "operator", "/ui/intake?ani=13800005678");
  assert.equal(await page.inputValue("#phone"), "13800005678", "the number comes from ?ani=");
  assert.equal(await page.evaluate(() => document.activeElement.id), "text", "the content has the focus");
  await checkPage(page);
  await screenshot(page, "intake");

  // A refused save keeps everything typed and says what is wrong beside the field.
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector("#text-error");
  assert.match(await page.textContent("#text-error"), /请填写诉求内容/);
  assert.equal(await page.inputValue("#phone"), "13800005678");
  await checkPage(page);

  await page.focus("#text");
  await page.keyboard.type("小区门口占道经营，早上七点开始");
  // A reload (a timeout, a restart of the server) loses nothing typed: the draft comes back.
  await page.goto(`${server.url}/ui/intake?ani=13800005678`);
  await page.waitForSelector("#draft-restored:not([hidden])");
  assert.equal(await page.inputValue("#text"), "小区门口占道经营，早上七点开始");
  await page.selectOption("#district", "110105");
  await page.waitForSelector("#street option[value='110105010']", { state: "attached" });
  await page.selectOption("#street", "110105010");
  await page.fill("#address", "惠新东街");
  await page.fill("#category", "11.04.01 占道经营");
  await page.focus("#category");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector("#saved-no");
  const no = (await page.textContent("#saved-no")).trim();
  assert.match(no, /^\d{8}-\d{6}$/);
  assert.equal(await page.evaluate(() => document.activeElement.id), "phone", "ready for the next call");
  assert.match(await page.innerText("#saved"), /小关街道/);
  await checkPage(page);
  await screenshot(page, "intake-saved");
  const stored = await api(server, "GET", `/orders/${no}`);
  assert.equal(stored.body.stage.stage, "dispatched", JSON.stringify(stored.body.stage));
  assert.equal(stored.body.stage.lead, "110105010");
  await context.close();
});

test("a street handler accepts an order from the inbox", async () => {
  const created = await api(server, "POST", "/orders", {
    request_type: "complaint",
    text: "惠新东街路灯不亮",
    category: "11.04.01",
    location: { street: "110105010" },
    requester: { phone: "13900002222" },
  });
  const no = created.body.no;
  const { context, page } = await guardedPage(browser);
  await logIn(page, server, "street", "/ui/inbox");
  await checkPage(page);
  const row = page.locator("#orders tr", { hasText: no });
  assert.match(await row.innerText(), /待签收/);
  assert.match(await row.innerText(), /剩余/);
  await screenshot(page, "inbox");
  await row.getByRole("button", { name: `签收 ${no}` }).click();
  await page.waitForURL(/\/ui\/inbox\?tab=pending/);
  assert.equal(await page.locator("#orders tr", { hasText: no }).count(), 0, "it left 待签收");
  await page.click("nav.tabs >> text=办理中");
  await page.waitForSelector(`#orders >> text=${no}`);
  await checkPage(page);
  const stored = await api(server, "GET", `/orders/${no}`);
  assert.equal(stored.body.stage.stage, "accepted");
  // Assigned to a colleague of the street (the street official also handles its orders); the
  // inbox's 承办人 filter finds it under that colleague and no longer under 未指派.
  await page.goto(`${server.url}/ui/orders/${no}`);
  await page.selectOption("#act-assign select[name=to]", "official");
  await Promise.all([page.waitForNavigation(), page.click("#act-assign button[type=submit]")]);
  assert.match(await page.innerText("main"), /承办人 小关街道吹哨干部（official）/);
  await checkPage(page);
  await screenshot(page, "order-assigned");
  await page.goto(`${server.url}/ui/inbox?tab=all&assignee=official`);
  await page.waitForSelector(`#orders >> text=${no}`);
  await page.goto(`${server.url}/ui/inbox?tab=all&assignee=none`);
  assert.equal(await page.locator("#orders tr", { hasText: no }).count(), 0);
  await context.close();
});

test("a street handler replies and the citizen reads the reply", async () => {
  const created = await api(server, "POST", "/orders", {
    request_type: "complaint",
    text: "惠新东街早市占道",
    category: "11.04.01",
    location: { street: "110105010" },
    requester: { phone: "13900003333" },
  });
  const no = created.body.no;
  const { context, page } = await guardedPage(browser);
  await logIn(page, server, "street", `/ui/orders/${no}`);
  await page.click("#actions >> text=签收");
  await page.waitForSelector("#reply-actions");
  await checkPage(page);
  await page.fill("#contact-note", "已电话联系诉求人");
  await page.click("#actions >> text=记录联系");
  await page.waitForSelector("#reply-actions");
  // A standard reply text for 占道经营 fills the outcome and the text, which is then completed.
  const standard = await page.locator("#reply-template option").evaluateAll((o) => o.map((x) => x.value));
  const vending = standard.find((v) => v.startsWith("resolved|已安排执法人员"));
  assert.ok(vending, standard.join("\n"));
  await page.selectOption("#reply-template", vending);
  assert.match(await page.inputValue("#reply-actions"), /^已安排执法人员到场/);
  assert.equal(await page.inputValue("#reply-outcome"), "resolved");
  await page.fill("#reply-actions", "已清理占道摊点");
  await page.focus("#reply-actions");
  await page.keyboard.press("Control+Enter");
  await page.waitForFunction(() => !document.querySelector("#actions"));
  const text = await page.innerText("main");
  assert.match(text, /已答复待回访/);
  assert.match(text, /已解决：已清理占道摊点/);
  await checkPage(page);
  await screenshot(page, "order-replied");

  const citizen = await guardedPage(browser, { width: 360, height: 780 });
  await citizen.page.goto(`${server.url}/track?no=${no}&last4=3333`);
  assert.match(await citizen.page.innerText("#tracked"), /已清理占道摊点/);
  await checkPage(citizen.page);
  await citizen.context.close();
  await context.close();
});

test("an operator sees a repeat caller's order and records the call as a repeat", async () => {
  const first = await api(server, "POST", "/orders", {
    request_type: "complaint",
    text: "楼下餐馆油烟扰民",
    category: "11.04.01",
    location: { street: "110105010" },
    requester: { phone: "13700007777" },
  });
  const earlier = first.body.no;
  const { context, page } = await guardedPage(browser);
  await logIn(page, server, "operator", "/ui/intake?ani=13700007777");
  await page.waitForSelector(`#repeat-caller >> text=${earlier}`);
  const hint = await page.innerText("#repeat-caller");
  assert.match(hint, /待签收/);
  assert.match(hint, /小关街道/);
  assert.match(hint, /办理时限 \d{4}-\d{2}-\d{2} \d{2}:\d{2}/);
  await checkPage(page);
  await screenshot(page, "intake-repeat-caller");
  await page.keyboard.type("又打来问油烟的事，没有新情况");
  await page.keyboard.press("F2");
  assert.equal(await page.evaluate(() => document.activeElement.dataset.repeat), earlier);
  await page.keyboard.press("Enter");
  assert.equal(await page.inputValue("#disposition"), "repeat_no_new");
  assert.equal(await page.inputValue("#earlier"), earlier);
  await page.fill("#category", "11.04.01 占道经营");
  await page.focus("#category");
  await page.keyboard.press("Control+Enter");
  await page.waitForSelector("#saved-no");
  const no = (await page.textContent("#saved-no")).trim();
  const stored = await api(server, "GET", `/orders/${no}`);
  assert.equal(stored.body.stage.stage, "closed", JSON.stringify(stored.body.stage));
  assert.equal(stored.body.stage.closure, "triage");
  assert.equal(stored.body.stage.disposition, "repeat_no_new", JSON.stringify(stored.body.stage));
  assert.equal(stored.body.stage.earlier, earlier, "linked to the earlier order");
  await context.close();
});
