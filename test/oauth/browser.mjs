// Debian's chromium, headless, driven by puppeteer-core (which never downloads a browser).
import fs from 'node:fs';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

export const chromiumPath = process.env.WARDEN_CHROMIUM ?? '/usr/bin/chromium';

// Options: resultsDir (screenshots go there; created). Returns { browser, page(), screenshot,
// close }.
export async function launchBrowser({ resultsDir } = {}) {
  const args = ['--disable-dev-shm-usage', '--disable-gpu', '--no-first-run',
    '--no-default-browser-check', '--password-store=basic'];
  // Chromium refuses to start as root with its sandbox on (CI and these machines run as root);
  // the pages it visits are our own fixtures on loopback.
  if (process.getuid?.() === 0) args.push('--no-sandbox');
  const browser = await puppeteer.launch({
    executablePath: chromiumPath,
    headless: true,
    args,
  });
  if (resultsDir) fs.mkdirSync(resultsDir, { recursive: true });
  return {
    browser,
    // A page in a fresh browser context (no cookies: no IdP session from an earlier sign-in).
    // Closing the page closes its context.
    async page() {
      const context = await browser.createBrowserContext();
      const p = await context.newPage();
      p.setDefaultTimeout(15000);
      p.once('close', () => context.close().catch(() => {}));
      return p;
    },
    // Saves a full-page PNG as RESULTS/NAME.png and returns its path.
    async screenshot(page, name) {
      if (!resultsDir) return undefined;
      const file = path.join(resultsDir, `${name}.png`);
      await page.screenshot({ path: file, fullPage: true });
      return file;
    },
    close: () => browser.close(),
  };
}

// Opens `url` (an authorization request), signs in at the fixture IdP's login page with
// `login`/`password`, and waits until the browser lands on a URL starting with `until` (the
// redirect catcher or warden). Screenshots: NAME-login.png, NAME-done.png.
export async function signInAtIdp(session, page, { url, login, password, until, name = 'idp' }) {
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#login');
  await session.screenshot(page, `${name}-login`);
  await page.type('#login', login);
  await page.type('#password', password);
  await Promise.all([
    page.waitForFunction((prefix) => location.href.startsWith(prefix) ||
      document.querySelector('#error') !== null, { polling: 100 }, until),
    page.click('#submit'),
  ]);
  await session.screenshot(page, `${name}-done`);
  return page.url();
}
