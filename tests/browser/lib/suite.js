'use strict';
/*
 * suite.js - the setup every browser test file shares: a real stack and
 * Debian's Chromium, started before the file's (or the describe's) tests
 * and stopped after them, and the support page (static/admin/) opened in a
 * context of its own from the office network.
 *
 *   const suite = browserSuite({ configure: (cfg) => { ... } });
 *   it('...', async () => {
 *       await suite.withVisitor({ xff: DE }, async (v) => {   // closed after
 *           await v.page.goto(DEMO);
 *       });
 *       const v = await suite.visitor({ xff: DE });   // lib/browser.js visitor
 *       suite.stack.url; suite.browser;
 *   });
 *
 *   const { context, page, problems } = await supportPage(suite, '10.20.30.40');
 *   problems                                   // console and page errors so far
 *   await page.evaluate(() => window.__csp)    // CSP violations so far
 */
const fs = require('node:fs');
const path = require('node:path');
const { before, after } = require('node:test');
const { startStack } = require('../../integration/lib/stack');
const { launch, visitor } = require('./browser');

/*
 * Registers a before hook that starts the stack (startStack(stackOptions))
 * and Chromium side by side, and an after hook that stops whichever of the
 * two started. Returns the suite: stack and browser are set once the before
 * hook has run; visitor(options) is lib/browser.js's visitor on them, and
 * withVisitor(options, fn) runs fn(v) with one and closes it after.
 * started(suite), when given, runs at the end of that hook: node 20 runs a
 * file's top-level before hooks side by side, so a second top-level hook
 * could not count on the stack being there.
 */
function browserSuite(stackOptions = {}, started = null) {
    const suite = {
        stack: null,
        browser: null,
        visitor: (options) => visitor(suite.browser, suite.stack, options),
        /* Runs fn(v) with a new visitor and closes its context after. */
        async withVisitor(options, fn) {
            const v = await suite.visitor(options);
            try {
                return await fn(v);
            } finally {
                await v.close();
            }
        },
    };
    before(async () => {
        const [stack, browser] = await Promise.allSettled([startStack(stackOptions), launch()]);
        suite.stack = stack.status === 'fulfilled' ? stack.value : null;
        suite.browser = browser.status === 'fulfilled' ? browser.value : null;
        for (const r of [stack, browser])
            if (r.status === 'rejected')
                throw r.reason;
        if (started)
            await started(suite);
    });
    after(async () => {
        if (suite.browser)
            await suite.browser.close();
        if (suite.stack)
            await suite.stack.stop();
    });
    return suite;
}

/*
 * The support page's context: support staff work from an internal network
 * (nginx allows only those), so every request carries X-Forwarded-For xff.
 * CSP violations are kept in the page (window.__csp), console and page
 * errors in problems. contextOptions are added to the context's (timezoneId,
 * acceptDownloads...). The page is not opened yet: page.goto is the
 * caller's.
 */
async function supportPage(suite, xff, contextOptions = {}) {
    const context = await suite.browser.newContext({
        baseURL: suite.stack.url,
        extraHTTPHeaders: { 'X-Forwarded-For': xff },
        locale: 'en-GB',
        viewport: { width: 1280, height: 900 },
        reducedMotion: 'reduce',
        ...contextOptions,
    });
    await context.addInitScript(() => {
        window.__csp = [];
        document.addEventListener('securitypolicyviolation', (e) => {
            window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`);
        });
    });
    const page = await context.newPage();
    const problems = [];
    page.on('pageerror', (e) => problems.push(`pageerror: ${e}`));
    page.on('console', (m) => {
        // Answers the tests provoke (4xx) and Chromium's own favicon request
        // are logged as "Failed to load resource"; the tests check statuses.
        if (m.type() === 'error' && !m.text().startsWith('Failed to load resource'))
            problems.push(`console: ${m.text()}`);
    });
    return { context, page, problems };
}

const AXE = require.resolve('axe-core/axe.min.js', { paths: [path.join(__dirname, '..')] });

/* axe-core on the whole page, injected through the DevTools protocol (so a
 * strict CSP stays as it is): the serious and critical violations. */
async function axeDocument(page) {
    if (!(await page.evaluate(() => typeof window.axe === 'object')))
        await page.evaluate(fs.readFileSync(AXE, 'utf8'));
    const result = await page.evaluate(async () => {
        const r = await window.axe.run(document, { resultTypes: ['violations'] });
        return r.violations.map((x) => ({
            id: x.id, impact: x.impact, help: x.help,
            nodes: x.nodes.map((n) => `${n.target.join(' ')}: ${n.failureSummary}`),
        }));
    });
    return result.filter((x) => x.impact === 'serious' || x.impact === 'critical');
}

module.exports = { axeDocument, browserSuite, supportPage };
