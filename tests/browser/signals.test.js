'use strict';
/*
 * signals.test.js - the vendor consent signals (site config "signals", or
 * data-signals): Microsoft UET, Microsoft Clarity consentv2, Meta Pixel,
 * TikTok Pixel. The page stubs uetq, clarity, fbq and ttq the way the
 * vendors' snippets define them, before consent.js; the test reads the
 * calls: the default before any choice, an update after each button.
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { CA, DE, banner, panel } = require('./lib/browser');
const { browserSuite } = require('./lib/suite');
const { made, madePages } = require('./lib/page');

/* Each stub records [vendor, ...arguments] into window.calls. */
const STUBS = `<script>
window.calls = [];
window.uetq = [];
window.uetq.push = function () { window.calls.push(['uet'].concat([].slice.call(arguments))); };
window.clarity = function () { window.calls.push(['clarity'].concat([].slice.call(arguments))); };
window.fbq = function () { window.calls.push(['meta'].concat([].slice.call(arguments))); };
window.ttq = [];
['holdConsent', 'grantConsent', 'revokeConsent'].forEach(function (m) {
  window.ttq[m] = function () { window.calls.push(['tiktok', m]); };
});
</script>`;

const suite = browserSuite();

const calls = (page) => page.evaluate(() => window.calls.splice(0));

function expected(kind, ad, analytics) {
    const g = (on) => (on ? 'granted' : 'denied');
    return [
        ['uet', 'consent', kind, { ad_storage: g(ad) }],
        ['clarity', 'consentv2', { ad_Storage: g(ad), analytics_Storage: g(analytics) }],
        ['meta', 'consent', ad ? 'grant' : 'revoke'],
        ['tiktok', kind === 'default' ? 'holdConsent' : ad ? 'grantConsent' : 'revokeConsent'],
    ];
}

/* Waits for the next signals after an action, and returns them. */
async function next(page) {
    await page.waitForFunction(() => window.calls.length >= 4);
    return calls(page);
}

describe('vendor signals from the site configuration', () => {
    it('Germany: denied and held before a choice, then each button sends an update', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await madePages(v);
            await page.goto(made({}, { before: STUBS }));
            const b = await banner(page);
            // The site's mapping comes with the decision: its default at
            // once, then the update with the decision's choices (all off).
            await page.waitForFunction(() => window.calls.length >= 8);
            assert.deepEqual(await calls(page),
                             [...expected('default', false, false), ...expected('update', false, false)]);
            await b.getByRole('button', { name: 'Accept all' }).click();
            assert.deepEqual(await next(page), expected('update', true, true));

            await page.evaluate(() => window.consent.open());
            await (await panel(page)).getByRole('button', { name: 'Reject all' }).click();
            assert.deepEqual(await next(page), expected('update', false, false));

            await page.evaluate(() => window.consent.open());
            const p = await panel(page);
            await p.getByRole('switch', { name: 'Analytics' }).setChecked(true);
            await p.getByRole('button', { name: 'Save my choices' }).click();
            assert.deepEqual(await next(page), expected('update', false, true));

            // The next view: the mapping is known, the default comes first,
            // then the stored choice.
            await page.reload();
            await page.waitForFunction(() => window.calls.length >= 8);
            assert.deepEqual(await calls(page),
                             [...expected('default', false, false), ...expected('update', false, true)]);
        });
    });

    it('California: one-click Do Not Sell sends the advertising signals denied', async () => {
        await suite.withVisitor({ xff: CA }, async (v) => {
            const { page } = v;
            await madePages(v);
            await page.goto(made({ 'data-signals': JSON.stringify({ uet: 'advertising', clarity: { ad: 'advertising', analytics: 'analytics' }, meta: 'advertising', tiktok: 'advertising' }) }, { before: STUBS }));
            // data-signals: the default at script start, before any decision.
            assert.deepEqual((await next(page)).slice(0, 4), expected('default', false, false));
            const b = await banner(page);
            await b.getByRole('button', { name: 'Do Not Sell or Share My Personal Information' }).click();
            await page.waitForFunction(() => window.calls.some((c) => c[1] === 'revokeConsent'));
            const after = await calls(page);
            assert.deepEqual(after.slice(-4), expected('update', false, true));
        });
    });

    it('without stubs, UET, Clarity and TikTok queues are created; fbq is left alone; an unmapped Clarity type is denied', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await madePages(v);
            await page.goto(made({ 'data-signals': '{"uet":"advertising","clarity":{"analytics":"analytics"},"meta":"advertising","tiktok":"advertising"}' }));
            await banner(page);
            const q = await page.evaluate(() => ({
                uet: window.uetq.slice(0, 3),
                clarity: Array.from(window.clarity.q[0]),
                tiktok: window.ttq[0],
                fbq: typeof window.fbq,
            }));
            assert.deepEqual(q, {
                uet: ['consent', 'default', { ad_storage: 'denied' }],
                clarity: ['consentv2', { ad_Storage: 'denied', analytics_Storage: 'denied' }],
                tiktok: ['holdConsent'],
                fbq: 'undefined',
            });
        });
    });
});
