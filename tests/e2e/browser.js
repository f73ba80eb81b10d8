'use strict';
// Headless Chromium for SEV's end-to-end tests: Debian's /usr/bin/chromium driven by
// playwright-core (never a downloaded browser), and a watch on every page for console errors,
// uncaught exceptions and Content-Security-Policy violations.
const fs = require('node:fs');
const path = require('node:path');
const { chromium } = require('playwright-core');
const h = require('../lib/harness');

const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';
const SHOTS = path.join(h.ARTIFACTS);

async function launch() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
  });
}

// Collects what must never happen on a page. `allow` lists regexps of console texts that are
// expected (e.g. the 401 of GET /api/me for a stranger).
function watch(page, { allow = [] } = {}) {
  const problems = [];
  page.on('console', (m) => {
    if (m.type() !== 'error' && !/Content.Security.Policy|Refused to/i.test(m.text())) return;
    const where = m.location()?.url || '';
    const text = `${m.text()}${where ? ` (${where})` : ''}`;
    if (allow.some((re) => re.test(text))) return;
    problems.push(`console ${m.type()}: ${text}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  return problems;
}

// Records CSP violations from inside the page (init scripts are not subject to the CSP).
async function recordCsp(context) {
  await context.addInitScript(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) => {
      window.__cspViolations.push(`${e.violatedDirective} ${e.blockedURI}`);
    });
  });
}

async function cspViolations(page) {
  return page.evaluate(() => window.__cspViolations || []);
}

async function shot(page, name, opts = {}) {
  fs.mkdirSync(SHOTS, { recursive: true });
  const file = path.join(SHOTS, name);
  await page.screenshot({ path: file, animations: 'disabled', ...opts });
  return file;
}

// True when the document is wider than the viewport (horizontal scrolling).
async function overflowX(page) {
  return page.evaluate(() => document.documentElement.scrollWidth > window.innerWidth + 1);
}

module.exports = { launch, watch, recordCsp, cspViolations, shot, overflowX, SHOTS };
