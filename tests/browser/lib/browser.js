'use strict';
/*
 * browser.js - what the browser tests share: Debian's Chromium driven by
 * playwright-core (never a downloaded browser), a context per visitor with
 * its region chosen by X-Forwarded-For, request counting, and helpers that
 * read the banner's state.
 *
 *   const b = await launch();
 *   const v = await visitor(b, stack, { xff: DE, gpc: true });
 *   await v.page.goto(v.url('/consent/demo/index.html'));
 *   v.api        // every /consent/v1/ request the page made: { method, url }
 *   await b.close();
 */
const fs = require('node:fs');
const path = require('node:path');
const zlib = require('node:zlib');
const { chromium } = require('playwright-core');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const ARTIFACTS = path.join(ROOT, 'tests', 'artifacts');
const FIXTURES = path.join(__dirname, '..', 'fixtures');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';

/* The test addresses of the harness's GeoIP fixture. */
const DE = '46.4.0.1';        // Germany: opt-in (GDPR)
const CA = '12.0.0.1';        // US-CA: opt-out, GPC binding
const JP = '1.0.16.1';        // Japan: notice

const DEMO = '/consent/demo/index.html';

/* nginx serves static/consent.{js,css}.gz when they exist (gzip_static): a
 * stale copy (one that holds something other than the file) would test old
 * code, so refuse to run with one. */
function checkGz() {
    for (const name of ['consent.js', 'consent.css', 'consent-extra.js', 'consent-extra.css',
                        'consent-gpp.js']) {
        const file = path.join(ROOT, 'static', name);
        if (!fs.existsSync(file + '.gz'))
            continue;
        let same = false;
        try {
            same = zlib.gunzipSync(fs.readFileSync(file + '.gz')).equals(fs.readFileSync(file));
        } catch (_) { /* not gzip: stale */ }
        if (!same)
            throw new Error(`static/${name}.gz is older than static/${name}: run \`make gz\` (make assets does too)`);
    }
}

/* chromium.launch() gives every browser a fresh temporary profile
 * (--user-data-dir) of its own and removes it on close. */
function launch() {
    checkGz();
    return chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
               '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
    });
}

/*
 * A new visitor: a fresh context (no cookies, no localStorage).
 * options: xff (address), gpc (Sec-GPC: 1 and navigator.globalPrivacyControl),
 * bypassCSP, reducedMotion, viewport, headers.
 */
async function visitor(browser, stack, options = {}) {
    const headers = { ...(options.headers || {}) };
    if (options.xff)
        headers['X-Forwarded-For'] = options.xff;
    if (options.gpc)
        headers['Sec-GPC'] = '1';
    const context = await browser.newContext({
        baseURL: stack.url,
        extraHTTPHeaders: headers,
        locale: 'en-US',
        bypassCSP: options.bypassCSP === true,
        reducedMotion: options.reducedMotion || 'reduce',
        viewport: options.viewport || { width: 1000, height: 700 },
    });
    if (options.gpc)
        await context.addInitScript(() => {
            Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {
                configurable: true, get: () => true,
            });
        });
    // When the banner first shows, as milliseconds since navigation start.
    await context.addInitScript(() => {
        const look = () => {
            const b = document.querySelector('.cc-b');
            if (b && !b.hidden && b.getBoundingClientRect().height > 0)
                window.__bannerShownAt = performance.now();
            else
                requestAnimationFrame(look);
        };
        requestAnimationFrame(look);
    });
    // Test pages from tests/browser/fixtures/, served on the stack's origin.
    await context.route('**/consent/test/**', (route) => {
        const name = path.basename(new URL(route.request().url()).pathname);
        const file = path.join(FIXTURES, name);
        if (!fs.existsSync(file))
            return route.fulfill({ status: 404, body: 'no fixture ' + name });
        return route.fulfill({ status: 200, contentType: 'text/html; charset=utf-8',
                               body: fs.readFileSync(file) });
    });
    const page = await context.newPage();
    const v = {
        context,
        page,
        api: [],
        errors: [],
        url: (p) => stack.url + p,
        /* /consent/v1/ requests since the last reset(). */
        reset() {
            v.api.length = 0;
        },
        bannerRequests() {
            return v.api.filter((r) => r.url.includes('/consent/v1/banner'));
        },
        async close() {
            await context.close();
        },
    };
    page.on('request', (r) => {
        if (r.url().includes('/consent/v1/'))
            v.api.push({ method: r.method(), url: r.url() });
    });
    page.on('pageerror', (e) => v.errors.push(String(e)));
    page.on('console', (m) => {
        // Answers the tests provoke (409, 4xx, 5xx) are logged by Chromium
        // as "Failed to load resource"; the tests check those themselves.
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
            v.errors.push(m.text());
    });
    return v;
}

/* The banner's locator, once visible. */
async function banner(page) {
    const b = page.locator('.cc-b[role="dialog"]');
    await b.waitFor({ state: 'visible', timeout: 10000 });
    return b;
}

async function panel(page) {
    const p = page.locator('dialog.cc-p[open]');
    await p.waitFor({ state: 'visible', timeout: 10000 });
    return p;
}

/* The visitor's receipts as GET /consent/v1/consents/me answers (newest first). */
async function me(page) {
    return page.evaluate(async () => {
        const r = await fetch('/consent/v1/consents/me', { credentials: 'include' });
        return { status: r.status, json: await r.json() };
    });
}

/* Clicks and waits for the POST /consents (or DELETE) it causes. */
async function recordBy(page, action) {
    const [res] = await Promise.all([
        page.waitForResponse((r) => r.url().includes('/consent/v1/consents') &&
                             ['POST', 'DELETE'].includes(r.request().method())),
        action(),
    ]);
    return res;
}

/* What consent.js keeps in localStorage for the demo site. */
function stored(page, site = 'demo') {
    return page.evaluate((k) => JSON.parse(localStorage.getItem(k)), 'consent:' + site);
}

/* Which gated demo scripts ran, in order. */
function ran(page) {
    return page.evaluate(() => window.demoRan || []);
}

/* The consent commands pushed to dataLayer: [kind, {type: state}]. */
function consentMode(page) {
    return page.evaluate(() => (window.dataLayer || [])
        .filter((a) => a && a[0] === 'consent')
        .map((a) => [a[1], a[2], a.length, Object.prototype.toString.call(a)]));
}

async function screenshot(page, name) {
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    const file = path.join(ARTIFACTS, name + '.png');
    await page.screenshot({ path: file });
    return file;
}

/* Time from navigation start to the banner being visible, printed. */
async function printBannerTime(page, what) {
    const ms = await page.waitForFunction(() => window.__bannerShownAt, null, { timeout: 10000 });
    const v = await ms.jsonValue();
    console.log(`# time to banner visible (${what}): ${v.toFixed(1)} ms from navigation start`);
    return v;
}

const AXE = require.resolve('axe-core/axe.min.js', { paths: [path.join(__dirname, '..')] });

/* axe-core's serious and critical violations under selector, each with the
 * nodes it names (injects axe-core into the page once). */
async function axe(page, selector) {
    if (!(await page.evaluate(() => typeof window.axe === 'object')))
        await page.addScriptTag({ path: AXE });
    const result = await page.evaluate(async (sel) => {
        const r = await window.axe.run({ include: [sel] }, { resultTypes: ['violations'] });
        return r.violations.map((x) => ({
            id: x.id, impact: x.impact, help: x.help,
            nodes: x.nodes.map((n) => n.target.join(' ') + ': ' + n.failureSummary),
        }));
    }, selector);
    return result.filter((x) => x.impact === 'serious' || x.impact === 'critical');
}

module.exports = {
    ARTIFACTS, CA, DE, DEMO, JP, ROOT,
    axe, banner, consentMode, launch, me, panel, printBannerTime, ran, recordBy, screenshot, stored,
    visitor,
};
