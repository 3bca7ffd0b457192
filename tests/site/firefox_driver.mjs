// Firefox for the engine tests (tests/site/_engines.py): puppeteer-core over WebDriver BiDi.
//
// Usage: node firefox_driver.mjs <firefox executable>
// Reads one JSON command per line on stdin, {"id": 1, "op": "goto", "args": [url]}, and answers
// each with one line on stdout, {"id": 1, "value": ...} or {"id": 1, "error": "..."}.
// The browser lives as long as stdin is open: the test closes it to end the session.
import readline from "node:readline";
import puppeteer from "puppeteer-core";

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: process.argv[2],
  headless: true,
  protocolTimeout: 1_200_000, // Run All waits in one evaluate
});
const page = await browser.newPage();
await page.setViewport({ width: 1100, height: 900 });

const ops = {
  goto: (url) => page.goto(url, { waitUntil: "load", timeout: 120_000 }).then(() => null),
  reload: () => page.reload({ waitUntil: "load", timeout: 120_000 }).then(() => null),
  // `source` is a JavaScript function (maybe async) called in the page with `arg`.
  js: (source, arg) => page.evaluate(`(${source})(${JSON.stringify(arg)})`),
  click: (selector) => page.click(selector),
  type: (text) => page.keyboard.type(text),
  // "Control+s": hold the modifiers, press the last key.
  press: async (combo) => {
    const keys = combo.split("+");
    for (const key of keys.slice(0, -1)) await page.keyboard.down(key);
    await page.keyboard.press(keys.at(-1));
    for (const key of keys.slice(0, -1).reverse()) await page.keyboard.up(key);
    return null;
  },
  screenshot: (path) => page.screenshot({ path, fullPage: false }).then(() => null),
};

const lines = readline.createInterface({ input: process.stdin });
for await (const line of lines) {
  const { id, op, args = [] } = JSON.parse(line);
  let reply;
  try {
    reply = { id, value: (await ops[op](...args)) ?? null };
  } catch (error) {
    reply = { id, error: String(error && error.stack ? error.stack : error) };
  }
  process.stdout.write(JSON.stringify(reply) + "\n");
}
await browser.close();
