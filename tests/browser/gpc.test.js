'use strict';
/*
 * gpc.test.js - the one GPC rule, end to end in Chromium against the real
 * stack: for each consent model (opt-in DE, opt-out with binding GPC US-CA,
 * opt-out without US-VA, notice JP and US-WA) x GPC on/off x each button,
 * what the server recorded (GET /consents/me) is exactly what the page
 * applies after a reload: the choices, the gated demo scripts that ran and
 * the last Consent Mode update. Also the rule itself: where GPC is binding
 * advertising stays off; where it is not, GPC turns the default off, the
 * banner says so, and an explicit choice turns it on and is kept.
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { CA, DE, DEMO, JP, banner, consentMode, me, panel, ran, stored } = require('./lib/browser');
const { browserSuite } = require('./lib/suite');

const VA = '12.3.0.1';      // US-VA: opt-out, GPC not binding
const WA = '12.1.0.1';      // US-WA: other US, notice

let texts;
const suite = browserSuite({}, (started) => {
    texts = started.stack.config.sites[0].languages.en;
});

/* How each button is pressed from a fresh banner. */
const PRESS = {
    accept: async (page, b, m) => (m === 'opt-in' ? b : await openPanel(page))
        .getByRole('button', { name: 'Accept all' }).click(),
    reject: async (page, b, m) => (m === 'opt-in' ? b : await openPanel(page))
        .getByRole('button', { name: 'Reject all' }).click(),
    // The settings: analytics off, advertising on where it can be changed.
    custom: async (page) => {
        const p = await openPanel(page);
        await p.getByRole('switch', { name: 'Analytics' }).setChecked(false);
        const ad = p.getByRole('switch', { name: 'Advertising' });
        if (!(await ad.isDisabled()))
            await ad.setChecked(true);
        await p.getByRole('button', { name: 'Save my choices' }).click();
    },
    dns: (page, b) => b.getByRole('button', { name: 'Do Not Sell or Share My Personal Information' }).click(),
    ok: (page, b) => b.getByRole('button', { name: 'OK' }).click(),
};

async function openPanel(page) {
    await page.evaluate(() => window.consent.open());
    return panel(page);
}

/* [label, address, model, GPC binding there, buttons] */
const REGIONS = [
    ['DE', DE, 'opt-in', false, ['accept', 'reject', 'custom']],
    ['US-CA', CA, 'opt-out', true, ['ok', 'dns', 'accept', 'reject', 'custom']],
    ['US-VA', VA, 'opt-out', false, ['ok', 'dns', 'accept', 'reject', 'custom']],
    ['JP', JP, 'notice', false, ['ok', 'accept', 'reject', 'custom']],
    ['US-WA', WA, 'notice', false, ['ok', 'custom']],
];

/* The rule, for advertising: binding GPC keeps it off; otherwise the
 * button decides, and OK keeps the defaults (off with GPC). */
function advertisingAfter(button, model, gpc, binding) {
    if (gpc && binding)
        return false;
    return { accept: true, reject: false, custom: true, dns: false, ok: !gpc }[button];
}

/* Waits until the page's choice is stored and confirmed by the server. */
async function settled(page) {
    await page.waitForFunction(() => {
        const s = JSON.parse(localStorage.getItem('consent:demo'));
        return s && s.c && !(s.q && s.q.length);
    }, null, { timeout: 10000 });
}

/* What the page applies: consent.get(), the gated demo scripts that ran
 * (the advertising one waited for when allowed, and still inert when not),
 * the last Consent Mode command. */
async function applied(page, expectAd, expectAnalytics) {
    await page.waitForFunction(() => window.consent && window.consent.get());
    await page.waitForLoadState('load');
    const want = [expectAnalytics && 'analytics', expectAd && 'advertising'].filter(Boolean);
    await page.waitForFunction((n) => (window.demoRan || []).length >= n, want.length);
    const inert = await page.locator('script[type="text/plain"][data-consent="advertising"]').count();
    const cm = await consentMode(page);
    return {
        choices: await page.evaluate(() => window.consent.get()),
        ran: (await ran(page)).slice().sort(),
        adInert: inert === 1,
        cm: cm[cm.length - 1],
    };
}

for (const [label, xff, model, binding, buttons] of REGIONS) {
    describe(`${label} (${model}${binding ? ', GPC binding' : ''})`, () => {
        for (const gpc of [false, true]) {
            for (const button of buttons) {
                it(`GPC ${gpc ? 'on' : 'off'}, ${button}: recorded = applied after a reload`, async () => {
                    await suite.withVisitor({ xff, gpc }, async (v) => {
                        const { page } = v;
                        await page.goto(DEMO);
                        const b = await banner(page);
                        // The banner says when GPC changed the defaults.
                        const line = model === 'opt-out' ? texts['opt-out'].gpc_honoured
                            : texts[model].gpc_applied;
                        if (gpc)
                            await b.getByText(line).waitFor();
                        else
                            assert.equal(await b.locator('.cc-g').count(), 0);

                        await PRESS[button](page, b, model);
                        await settled(page);
                        const [r] = (await me(page)).json.receipts;
                        const rec = r.receipt;
                        const ad = advertisingAfter(button, model, gpc, binding);
                        assert.equal(rec.choices.advertising, ad, 'the rule for advertising');
                        assert.deepEqual(rec.gpc, { sent: gpc, honoured: gpc && !ad, binding: gpc && binding });

                        await page.reload();
                        const a = await applied(page, rec.choices.advertising, rec.choices.analytics);
                        assert.deepEqual(a.choices, rec.choices, 'consent.get() = recorded');
                        assert.deepEqual(a.ran, [rec.choices.advertising && 'advertising',
                                                 rec.choices.analytics && 'analytics'].filter(Boolean),
                                         'gated scripts = recorded');
                        assert.equal(a.adInert, !rec.choices.advertising);
                        assert.equal(a.cm[0], 'update');
                        assert.equal(a.cm[1].ad_storage, rec.choices.advertising ? 'granted' : 'denied');
                        assert.equal(a.cm[1].analytics_storage, rec.choices.analytics ? 'granted' : 'denied');
                        assert.equal(await page.locator('.cc-b').count(), 0, 'no banner after the choice');
                        assert.deepEqual(v.errors, []);
                    });
                });
            }
        }
    });
}

describe('GPC switched on after a choice where it is not binding', () => {
    it('Germany: the recorded "Accept all" keeps applying, nothing silently turned off', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto(DEMO);
            await (await banner(page)).getByRole('button', { name: 'Accept all' }).click();
            await settled(page);
            await v.context.setExtraHTTPHeaders({ 'X-Forwarded-For': DE, 'Sec-GPC': '1' });
            await v.context.addInitScript(() => {
                Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {
                    configurable: true, get: () => true,
                });
            });
            const asked = page.waitForResponse((r) => r.url().includes('/consent/v1/banner'));
            await page.reload();
            const d = await (await asked).json();
            assert.equal(d.choices.advertising, true, 'the server applies the stored choice');
            assert.equal(d.gpc.honoured, false);
            const a = await applied(page, true, true);
            assert.equal(a.choices.advertising, true);
            assert.deepEqual(a.ran, ['advertising', 'analytics']);
            await page.waitForLoadState('networkidle');
            const rs = (await me(page)).json.receipts;
            assert.equal(rs.length, 1, 'no receipt written behind the visitor\'s back');
            assert.equal((await stored(page)).c.advertising, true);
        });
    });
});
