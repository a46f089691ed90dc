'use strict';
/*
 * declaration.test.js - issue 11 in headless Chromium against the real
 * stack: the cookie declaration in the settings panel (collapsed per
 * category, then expanded) and on the privacy page (one table), clean-up
 * of declared first-party cookies and storage after a refusal (kept for
 * categories still allowed), and placeholders for blocked embeds (load
 * once: nothing recorded; allow: a custom choice, every embed of the
 * category loads; back after a refusal). axe-core runs on each.
 *
 *   CONSENTD=build/asan/consentd node --test tests/browser/declaration.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { startStack } = require('../integration/lib/stack');
const { DE, DEMO, axe, banner, me, panel, recordBy, stored, visitor } = require('./lib/browser');
const { browserSuite } = require('./lib/suite');

const PRIVACY = '/consent/demo/privacy.html';
const EMBEDS = '/consent/test/embeds.html';
const OFF = { necessary: true, functional: false, analytics: false, advertising: false };

const suite = browserSuite();

/* The rows of a table as arrays of cell texts. */
function rows(table) {
    return table.locator('tbody tr').evaluateAll((trs) =>
        trs.map((tr) => [...tr.children].map((c) => c.textContent)));
}

describe('the declaration in the settings panel', () => {
    it('shows one collapsed <details> per category that declares something, expanded on request', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            await v.page.goto(DEMO);
            await banner(v.page);
            await v.page.evaluate(() => window.consent.open());
            const p = await panel(v.page);
            const details = p.locator('details.cc-d');
            await details.nth(2).waitFor({ state: 'attached' });
            assert.equal(await details.count(), 3, 'functional declares nothing');
            assert.deepEqual(await p.locator('details.cc-d summary').allTextContents(), [
                'Cookies and third parties (3)', 'Cookies and third parties (3)',
                'Cookies and third parties (5)']);
            // Collapsed: the first view stays small.
            assert.deepEqual(await details.evaluateAll((ds) => ds.map((x) => x.open)), [false, false, false]);
            assert.equal(await p.locator('table').first().isVisible(), false);
            // Each sits in its category's item.
            const under = await details.evaluateAll((ds) =>
                ds.map((x) => x.closest('li').querySelector('label span').textContent));
            assert.deepEqual(under, ['Strictly necessary', 'Analytics', 'Advertising']);

            await p.locator('details.cc-d summary').nth(1).click();
            const t = details.nth(1).locator('table');
            await t.waitFor({ state: 'visible' });
            assert.equal(await t.locator('caption').textContent(), 'Cookies and third parties: Analytics');
            assert.deepEqual(await t.locator('thead th').allTextContents(),
                             ['Name', 'Provider', 'Duration', 'Type', 'Purpose']);
            assert.deepEqual(await rows(t), [
                ['_demo_a', 'Demo Electronics Ltd. (First party)', '13 months', 'Cookie',
                 'A random visitor number, to count visitors rather than page views.'],
                ['_demo_s_*', 'Demo Electronics Ltd. (First party)', 'Session', 'Cookie',
                 'Groups the pages of one visit (one cookie per visit, ending with its number).'],
                ['demo_analytics_queue', 'Demo Electronics Ltd. (First party)', '1 day', 'Local storage',
                 'Page views not yet sent to our statistics server.'],
            ]);
            await p.locator('details.cc-d summary').nth(2).click();
            const ads = details.nth(2);
            assert.deepEqual((await rows(ads.locator('table'))).map((r) => r.slice(0, 4)), [
                ['_demo_ad', 'Demo Electronics Ltd. (First party)', '3 months', 'Cookie'],
                ['demo_ad_*', 'Demo Electronics Ltd. (First party)', '3 months', 'Local storage'],
                ['uid', 'Example Ads Network (Third party)', '13 months', 'Cookie'],
                ['ads.example/p.gif', 'Example Ads Network (Third party)', 'Session', 'Pixel'],
            ]);
            const link = ads.getByRole('link', { name: 'Privacy policy' });
            assert.equal(await link.getAttribute('href'), 'https://ads.example/privacy');
            assert.equal(await ads.locator('.cc-v li').textContent(),
                         'Example Ads Network (Third party): Privacy policy');
            // Asked once, and the choices are untouched.
            assert.equal(v.api.filter((r) => r.url.includes('/declaration')).length, 1);
            assert.deepEqual(v.errors, []);
        });
    });

    it('speaks the banner\'s language (German: labels, purposes, durations)', async () => {
        await suite.withVisitor({ xff: DE, headers: { 'Accept-Language': 'de' } }, async (v) => {
            await v.page.goto(DEMO);
            await banner(v.page);
            await v.page.evaluate(() => window.consent.open());
            const p = await panel(v.page);
            await p.locator('details.cc-d').nth(1).waitFor({ state: 'attached' });
            await p.locator('details.cc-d summary').nth(1).click();
            const t = p.locator('details.cc-d').nth(1).locator('table');
            assert.deepEqual(await t.locator('thead th').allTextContents(),
                             ['Name', 'Anbieter', 'Dauer', 'Art', 'Zweck']);
            assert.deepEqual((await rows(t))[0].slice(1), ['Demo Electronics Ltd. (Erstanbieter)', '13 Monate',
                'Cookie', 'Eine zufällige Besuchernummer, um Besucher statt Seitenaufrufe zu zählen.']);
            assert.equal((await rows(t))[1][2], 'Sitzung');
        });
    });
});

describe('the declaration on the privacy page', () => {
    it('renders one accessible table (caption, column and row group headers) and the third parties', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            await v.page.goto(PRIVACY);
            const box = v.page.locator('[data-consent-declaration]');
            const t = box.locator('table');
            await t.waitFor();
            assert.equal(await box.getAttribute('lang'), 'en');
            assert.equal(await box.getByText('The list needs JavaScript.').count(), 0, 'fallback replaced');
            assert.equal(await t.locator('caption').textContent(), 'Cookies and third parties');
            assert.deepEqual(await t.locator('thead th[scope="col"]').allTextContents(),
                             ['Name', 'Provider', 'Duration', 'Type', 'Purpose']);
            assert.deepEqual(await t.locator('th[scope="rowgroup"]').allTextContents(),
                             ['Strictly necessary', 'Analytics', 'Advertising']);
            assert.deepEqual(await t.locator('th[scope="row"]').allTextContents(), [
                'consent', 'consent:demo', 'consent.receipt.demo',
                '_demo_a', '_demo_s_*', 'demo_analytics_queue',
                '_demo_ad', 'demo_ad_*', 'uid', 'ads.example/p.gif']);
            assert.deepEqual((await rows(t)).find((r) => r[0] === 'consent').slice(0, 4),
                             ['consent', 'Demo Electronics Ltd. (First party)', '1 year', 'Cookie']);
            assert.equal(await box.locator('.cc-v li').textContent(),
                         'Example Ads Network (Advertising, Third party): Privacy policy');
            // The page's own table: the accessibility tree knows its headers.
            const cell = await v.page.getByRole('cell', { name: '13 months' }).first().evaluate((td) =>
                td.closest('table').rows[0].cells.length);
            assert.equal(cell, 5);
            assert.equal(v.api.filter((r) => r.url.includes('/declaration?site=demo')).length, 1);
            assert.deepEqual(v.errors, []);
        });
    });
});

/* Cookies of the stack's host, by name, with their paths. */
async function cookieNames(v) {
    return (await v.context.cookies()).map((c) => c.name + (c.path === '/' ? '' : ' ' + c.path)).sort();
}

function storageKeys(page) {
    return page.evaluate(() => ({
        local: Object.keys(localStorage).sort(),
        session: Object.keys(sessionStorage).sort(),
    }));
}

/* Cookies and keys the test plants beside what the demo scripts set:
 * other paths, prefixes, sessionStorage, and what nobody declared. */
function plant(page) {
    return page.evaluate(() => {
        document.cookie = '_demo_a=p; Path=/consent/demo';
        document.cookie = '_demo_a=q; Path=/consent/demo/';
        document.cookie = '_demo_s_77=1; Path=/consent';
        document.cookie = '_demo_ad=p; Path=/consent/demo';
        document.cookie = 'keep_me=1; Path=/';
        sessionStorage.setItem('demo_ad_x', '1');
        sessionStorage.setItem('demo_analytics_queue', '1');
        localStorage.setItem('demo_ad_other', '1');
        localStorage.setItem('demo_analytics_queue_not_it', '1');
    });
}

describe('clean-up after a refusal', () => {
    it('deletes the refused categories\' first-party cookies (paths, prefixes) and storage, keeps the rest', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto(DEMO);
            const b = await banner(page);
            await recordBy(page, () => b.getByRole('button', { name: 'Accept all' }).click());
            await page.waitForFunction(() => (window.demoRan || []).length === 2);
            await plant(page);
            const names = await cookieNames(v);
            for (const n of ['_demo_a', '_demo_a /consent/demo', '_demo_a /consent/demo/', '_demo_s_77 /consent',
                             '_demo_ad', '_demo_ad /consent/demo', 'keep_me'])
                assert.ok(names.includes(n), `${n} planted: ${names}`);
            assert.ok(names.some((n) => /^_demo_s_\d{10,}$/.test(n)), `the script's session cookie: ${names}`);

            // Analytics off, advertising still on.
            await page.evaluate(() => window.consent.open());
            const p = await panel(page);
            await p.getByRole('switch', { name: 'Analytics' }).uncheck();
            await recordBy(page, () => p.getByRole('button', { name: 'Save my choices' }).click());
            await page.waitForFunction(() => !/(^|; )_demo_a=/.test(document.cookie));
            assert.deepEqual(await cookieNames(v), [
                '_demo_ad', '_demo_ad /consent/demo', 'consent', 'keep_me']);
            assert.deepEqual(await storageKeys(page), {
                local: ['consent.receipt.demo', 'consent:demo', 'demo_ad_interests', 'demo_ad_other',
                        'demo_analytics_queue_not_it'],
                session: ['demo_ad_x'],
            });

            // Reject all: advertising's go too; the necessary ones stay.
            await page.evaluate(() => window.consent.open());
            const p2 = await panel(page);
            await recordBy(page, () => p2.getByRole('button', { name: 'Reject all' }).click());
            await page.waitForFunction(() => !/(^|; )_demo_ad=/.test(document.cookie));
            assert.deepEqual(await cookieNames(v), ['consent', 'keep_me']);
            assert.deepEqual(await storageKeys(page), {
                local: ['consent.receipt.demo', 'consent:demo', 'demo_analytics_queue_not_it'],
                session: [],
            });
            assert.deepEqual(await page.evaluate(() => window.consent.get()), OFF);
            assert.deepEqual(v.errors, []);
        });
    });

    it('withdrawal deletes them too, on a returning visit that asked the server nothing before', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto(DEMO);
            const b = await banner(page);
            await recordBy(page, () => b.getByRole('button', { name: 'Accept all' }).click());
            await page.waitForFunction(() => (window.demoRan || []).length === 2);
            await page.reload();
            await page.waitForFunction(() => (window.demoRan || []).length === 2);
            await plant(page);
            v.reset();
            await page.getByRole('link', { name: 'Cookie settings' }).click();
            const p = await panel(page);
            const res = await recordBy(page, () => p.getByRole('button', { name: 'Withdraw my consent' }).click());
            assert.equal(res.request().method(), 'DELETE');
            await page.waitForFunction(() => !/(^|; )_demo_(a|ad)=/.test(document.cookie));
            assert.deepEqual(await cookieNames(v), ['consent', 'keep_me']);
            assert.deepEqual((await storageKeys(page)).session, []);
            assert.equal((await me(page)).json.receipts[0].receipt.action, 'withdraw');
        });
    });

    it('a choice that leaves every declared category on deletes nothing', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto(DEMO);
            const b = await banner(page);
            await page.evaluate(() => { document.cookie = '_demo_a=before; Path=/'; });
            await recordBy(page, () => b.getByRole('button', { name: 'Accept all' }).click());
            await page.waitForFunction(() => (window.demoRan || []).length === 2);
            assert.ok((await cookieNames(v)).includes('_demo_a'));
            assert.equal(await page.evaluate(() => document.cookie.includes('_demo_a=before')), true,
                         'not replaced: the script keeps an existing visitor number');
        });
    });
});

describe('clean-up on parent domains (a.b.localhost: Chromium resolves *.localhost to loopback)', () => {
    let own;
    before(async () => {
        // The test host 127.0.0.1 has no parent domains: this stack also
        // allows the origin http://a.b.localhost:PORT.
        own = await startStack({
            configure: (cfg) => {
                for (const site of cfg.sites)
                    site.origins.push(site.origins.at(-1).replace('127.0.0.1', 'a.b.localhost'));
            },
        });
    });
    after(async () => {
        if (own)
            await own.stop();
    });

    it('deletes host-only, Domain=host and Domain=parent forms; keeps allowed categories\' ones', async () => {
        const v = await visitor(suite.browser, own, { xff: DE });
        try {
            const { page } = v;
            const forms = (c) => (v.context.cookies().then((all) => all.filter((x) => x.name === c)
                .map((x) => x.domain).sort()));
            await page.goto(own.url.replace('127.0.0.1', 'a.b.localhost') + DEMO);
            await banner(page);
            await page.evaluate(() => {
                for (const name of ['_demo_a', '_demo_ad'])
                    for (const dom of ['', '; Domain=a.b.localhost', '; Domain=b.localhost'])
                        document.cookie = name + '=x' + dom + '; Path=/';
            });
            assert.deepEqual(await forms('_demo_a'), ['.a.b.localhost', '.b.localhost', 'a.b.localhost']);
            await page.evaluate(() => window.consent.open());
            const p = await panel(page);
            await p.getByRole('switch', { name: 'Advertising' }).check();
            await recordBy(page, () => p.getByRole('button', { name: 'Save my choices' }).click());
            await page.waitForFunction(() => !/(^|; )_demo_a=/.test(document.cookie));
            assert.deepEqual(await forms('_demo_a'), []);
            assert.deepEqual(await forms('_demo_ad'), ['.a.b.localhost', '.b.localhost', 'a.b.localhost']);
            await page.evaluate(() => window.consent.open());
            await recordBy(page, async () => (await panel(page)).getByRole('button', { name: 'Reject all' }).click());
            await page.waitForFunction(() => !/(^|; )_demo_ad=/.test(document.cookie));
            assert.deepEqual(await forms('_demo_ad'), []);
            assert.deepEqual(v.errors, []);
        } finally {
            await v.close();
        }
    });
});

/* The placeholder standing before the iframe with this id. */
function placeholder(page, id) {
    return page.locator(`#${id}`).locator('xpath=preceding-sibling::*[1][contains(@class, "cc-e")]');
}

describe('placeholders for blocked embeds', () => {
    it('stand in for each blocked embed at its size, labelled, translated, with real buttons', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto(EMBEDS);
            await banner(page);
            const ph = placeholder(page, 'v1');
            await ph.waitFor();
            const region = page.getByRole('region', { name: 'Content from Demo Video is blocked' });
            assert.equal(await region.count(), 1);
            assert.equal(await ph.textContent(), 'Content from Demo Video is blocked' +
                'It uses cookies for "Preferences". Load it this once, or allow "Preferences" on the whole site.' +
                'Load this onceAllow "Preferences"');
            // Without data-consent-provider: the host of data-src.
            const byHost = page.getByRole('region', { name: 'Content from 127.0.0.1 is blocked' });
            await byHost.nth(1).waitFor();
            assert.equal(await byHost.count(), 2);
            assert.equal(await placeholder(page, 'm1').getByRole('button', { name: 'Allow "Analytics"' }).count(), 1);
            // The layout keeps the embeds' sizes (border box of a 400x250 iframe).
            for (const [id, w, h] of [['v1', 404, 254], ['v2', 364, 244], ['m1', 384, 264]]) {
                const r = await placeholder(page, id).evaluate((e) => {
                    const b = e.getBoundingClientRect();
                    return [Math.round(b.width), Math.round(b.height)];
                });
                assert.deepEqual(r, [w, h], id);
                assert.equal(await page.locator('#' + id).isHidden(), true);
                assert.equal(await page.locator('#' + id).getAttribute('src'), null);
            }
            assert.deepEqual(v.errors, []);
        });
    });

    it('"Load this once" loads that embed for this page view and records nothing; a refusal blocks it again', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto(EMBEDS);
            const b = await banner(page);
            await placeholder(page, 'v1').getByRole('button', { name: 'Load this once' }).click();
            await page.frameLocator('#v1').getByText('Preferences embed loaded.').waitFor();
            assert.equal(await page.locator('#v1').getAttribute('src'), '/consent/demo/embed.html?v1');
            assert.equal(await placeholder(page, 'v1').count(), 0);
            assert.equal(await page.locator('#v1').isVisible(), true);
            assert.equal(await page.locator('#v2').getAttribute('src'), null, 'only that one');
            assert.equal(await placeholder(page, 'v2').count(), 1);
            assert.deepEqual(v.api.filter((r) => r.method !== 'GET'), [], 'nothing recorded');
            assert.equal(await page.evaluate(() => window.consent.get().functional), false);
            assert.equal(await page.locator('.cc-b').count(), 1, 'the banner still asks');

            await recordBy(page, () => b.getByRole('button', { name: 'Reject all' }).click());
            await placeholder(page, 'v1').waitFor();
            assert.equal(await page.locator('#v1').getAttribute('src'), 'about:blank');
            assert.equal(await page.locator('#v1').isHidden(), true);

            // Next view: placeholders from what the script kept, no request to the API.
            v.reset();
            await page.reload();
            await placeholder(page, 'v1').waitFor();
            await placeholder(page, 'm1').waitFor();
            assert.deepEqual(v.api, [], 'no /consent/v1/ request');
            assert.equal(await page.locator('.cc-b').count(), 0);
        });
    });

    it('"Allow" records a custom choice with the category on and loads every embed of it', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto(EMBEDS);
            await banner(page);
            const res = await recordBy(page, () =>
                placeholder(page, 'v2').getByRole('button', { name: 'Allow "Preferences"' }).click());
            assert.equal(res.status(), 201);
            const body = res.request().postDataJSON();
            assert.equal(body.action, 'custom');
            assert.deepEqual(body.choices, { ...OFF, functional: true });
            await page.frameLocator('#v1').getByText('Preferences embed loaded.').waitFor();
            await page.frameLocator('#v2').getByText('Preferences embed loaded.').waitFor();
            assert.equal(await page.locator('.cc-e').count(), 1, 'only the analytics embed still waits');
            assert.equal(await placeholder(page, 'm1').count(), 1);
            assert.equal(await page.locator('.cc-b').count(), 0, 'the banner is answered');
            assert.deepEqual((await stored(page)).c, { ...OFF, functional: true });
            const m = await me(page);
            assert.equal(m.json.receipts[0].receipt.action, 'custom');
            assert.equal(m.json.receipts[0].receipt.choices.functional, true);

            // A returning visitor allows analytics from its placeholder: the
            // decision is asked for first, the other choices are kept.
            await page.reload();
            const r2 = await recordBy(page, () =>
                placeholder(page, 'm1').getByRole('button', { name: 'Allow "Analytics"' }).click());
            assert.deepEqual(r2.request().postDataJSON().choices, { ...OFF, functional: true, analytics: true });
            await page.frameLocator('#m1').getByText('Preferences embed loaded.').waitFor();
            assert.equal(await page.locator('.cc-e').count(), 0);

            // Withdrawal: every placeholder is back.
            await page.evaluate(() => window.consent.open());
            const p = await panel(page);
            await recordBy(page, () => p.getByRole('button', { name: 'Withdraw my consent' }).click());
            for (const id of ['v1', 'v2', 'm1'])
                await placeholder(page, id).waitFor();
            assert.deepEqual(v.errors, []);
        });
    });
});

for (const colorScheme of ['light', 'dark']) {
    describe(`axe-core, ${colorScheme} colour scheme`, () => {
        it('the panel with a declaration open, the placeholders and the privacy page table', async () => {
            await suite.withVisitor({ xff: DE, bypassCSP: true }, async (v) => {
                const { page } = v;
                await page.emulateMedia({ colorScheme });
                await page.goto(EMBEDS);
                await banner(page);
                await placeholder(page, 'm1').waitFor();
                assert.deepEqual(await axe(page, '.cc-e'), [], 'placeholders');
                await page.evaluate(() => window.consent.open());
                const p = await panel(page);
                await p.locator('details.cc-d').nth(2).waitFor({ state: 'attached' });
                await p.locator('details.cc-d summary').nth(2).click();
                await p.locator('details.cc-d').nth(2).locator('table').waitFor();
                assert.deepEqual(await axe(page, 'dialog.cc-p'), [], 'settings panel');
                await page.goto(PRIVACY);
                await page.locator('[data-consent-declaration] table').waitFor();
                assert.deepEqual(await axe(page, '[data-consent-declaration]'), [], 'privacy page table');
            });
        });
    });
}
