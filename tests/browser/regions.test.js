'use strict';
/*
 * regions.test.js - the opt-out banner with Global Privacy Control
 * (California), GPC switched on after a choice, the notice (Japan), and the
 * operators' region preview (shown, applied for the page view, never
 * recorded), in headless Chromium against the real suite.stack.
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const {
    CA, DE, DEMO, JP, banner, me, panel, printBannerTime, ran, screenshot, stored,
} = require('./lib/browser');
const { browserSuite } = require('./lib/suite');

const PREVIEW_NOTE = 'Preview: choices made here are not recorded.';
const GPC_HONOURED = 'Opt-out preference signal honored: your browser sent Global Privacy ' +
    'Control, so we switched off the sale and sharing of your personal information and targeted advertising.';

const suite = browserSuite();

/* Polls /consents/me until it has n receipts. */
async function receipts(page, n) {
    for (let i = 0; i < 50; i++) {
        const m = await me(page);
        if (m.status === 200 && m.json.receipts.length >= n)
            return m.json.receipts;
        await page.waitForTimeout(100);
    }
    throw new Error(`no ${n} receipts on /consents/me`);
}

describe('California visitor with Global Privacy Control', () => {
    it('advertising off and locked, the honoured message shown, a gpc receipt recorded', async () => {
        await suite.withVisitor({ xff: CA, gpc: true }, async (v) => {
            const { page } = v;
            assert.equal(await page.evaluate(() => navigator.globalPrivacyControl), true);
            const gpcPost = page.waitForResponse((r) => r.url().includes('/consent/v1/consents'));
            await page.goto(DEMO);
            const b = await banner(page);
            await printBannerTime(page, 'opt-out with GPC, US-CA');
            await b.getByText(GPC_HONOURED).waitFor();
            const dns = b.getByRole('button', { name: 'Do Not Sell or Share My Personal Information' });
            await dns.waitFor();
            await b.getByRole('button', { name: 'OK' }).waitFor();
            await page.waitForTimeout(200);
            await screenshot(page, 'banner-opt-out-gpc');

            // Recorded without a click: GPC is binding here.
            const res = await gpcPost;
            assert.equal(res.status(), 201);
            assert.equal(JSON.parse(res.request().postData()).action, 'gpc');
            const [r] = await receipts(page, 1);
            assert.equal(r.receipt.action, 'gpc');
            assert.equal(r.seq, 1);
            assert.equal(r.verdict, 'ok');
            assert.equal(r.receipt.opted_out, true);
            assert.deepEqual(r.receipt.gpc, { sent: true, honoured: true, binding: true });
            assert.equal(r.receipt.jurisdiction.regime, 'ccpa');
            assert.deepEqual(r.receipt.choices,
                             { necessary: true, functional: true, analytics: true, advertising: false });

            // Opt-out model: the rest runs, advertising does not.
            await page.waitForFunction(() => (window.demoRan || []).length > 0);
            assert.deepEqual(await ran(page), ['analytics']);

            // The settings: advertising off, locked, with the reason.
            await page.evaluate(() => window.consent.open());
            const p = await panel(page);
            const ad = p.getByRole('switch', { name: 'Advertising' });
            assert.equal(await ad.isChecked(), false);
            assert.equal(await ad.isDisabled(), true);
            await p.getByText('Off because your browser sent Global Privacy Control').waitFor();
            const describedBy = await ad.getAttribute('aria-describedby');
            assert.match(await page.evaluate((ids) => ids.split(' ').map((i) =>
                document.getElementById(i).textContent).join(' '), describedBy),
                         /Off because your browser sent Global Privacy Control/);
            assert.equal(await p.getByRole('switch', { name: 'Analytics' }).isChecked(), true);
            await page.keyboard.press('Escape');
            await page.locator('dialog.cc-p').waitFor({ state: 'detached' });

            // OK only closes: the gpc receipt is already there.
            await b.getByRole('button', { name: 'OK' }).click();
            await page.locator('.cc-b').waitFor({ state: 'detached' });
            await page.waitForTimeout(200);
            assert.equal((await receipts(page, 1)).length, 1);

            v.reset();
            await page.reload();
            await page.waitForFunction(() => window.consent && window.consent.get());
            await page.waitForTimeout(200);
            assert.equal(await page.locator('.cc-b').count(), 0);
            assert.deepEqual(v.api, [], 'no request on the next view');
            assert.equal((await page.evaluate(() => window.consent.get())).advertising, false);
            assert.deepEqual(v.errors, []);
        });
    });

    it('GPC switched on after a choice: sale/sharing off at once, asked again, gpc receipt', async () => {
        await suite.withVisitor({ xff: CA }, async (v) => {
            const { page } = v;
            await page.goto(DEMO);
            const b = await banner(page);
            assert.equal(await b.locator('.cc-g').count(), 0, 'no GPC message without GPC');
            const ok = page.waitForResponse((r) => r.url().includes('/consent/v1/consents'));
            await b.getByRole('button', { name: 'OK' }).click();
            assert.equal((await ok).status(), 201);
            let rs = await receipts(page, 1);
            assert.equal(rs[0].receipt.action, 'custom');
            assert.equal(rs[0].receipt.choices.advertising, true);
            await page.waitForFunction(() => (window.demoRan || []).length === 2);

            // The browser now sends GPC.
            await v.context.setExtraHTTPHeaders({ 'X-Forwarded-For': CA, 'Sec-GPC': '1' });
            await v.context.addInitScript(() => {
                Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', {
                    configurable: true, get: () => true,
                });
            });
            v.reset();
            const gpcPost = page.waitForResponse((r) => r.url().includes('/consent/v1/consents'));
            await page.reload();
            assert.equal((await gpcPost).status(), 201);
            assert.equal(v.bannerRequests().length, 1, 'asked the server again');
            assert.deepEqual(await ran(page), ['analytics'], 'advertising never ran');
            rs = await receipts(page, 2);
            assert.equal(rs[0].receipt.action, 'gpc');
            assert.equal(rs[0].receipt.choices.advertising, false);
            assert.equal(rs[0].receipt.prev_sha256, rs[1].sha256);
            assert.deepEqual(rs.map((x) => [x.seq, x.verdict]), [[2, 'ok'], [1, 'ok']]);
            assert.equal((await page.evaluate(() => window.consent.receipt())).jws, rs[0].jws);
            const st = await stored(page);
            assert.equal(st.g, true);
            assert.equal(st.c.advertising, false);
            assert.deepEqual(v.errors, []);
        });
    });
});

describe('notice region (Japan)', () => {
    it('a dismissible notice with a settings link, no focus trap', async () => {
        await suite.withVisitor({ xff: JP }, async (v) => {
            const { page } = v;
            await page.goto(DEMO);
            const b = await banner(page);
            await printBannerTime(page, 'notice, JP');
            assert.equal(await b.locator('h2').textContent(), 'Cookies on this site');
            await b.getByRole('link', { name: 'Settings' }).waitFor();
            await page.waitForTimeout(200);
            await screenshot(page, 'banner-notice');
            // Notice model: everything runs at once.
            await page.waitForFunction(() => (window.demoRan || []).length === 2);

            // Non-modal: Tab goes on from the banner into the page.
            const inBanner = () => page.evaluate(() => !!document.activeElement.closest('.cc-b'));
            assert.equal(await inBanner(), true);
            await page.keyboard.press('Tab');
            assert.equal(await page.evaluate(() => document.activeElement.textContent), 'OK');
            await page.keyboard.press('Tab');
            assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Settings');
            await page.keyboard.press('Tab');
            assert.equal(await page.evaluate(() => document.activeElement.textContent),
                         suite.stack.config.sites[0].languages.en.notice.policy);
            await page.keyboard.press('Tab');
            assert.equal(await inBanner(), false, 'focus left the banner');
            assert.equal(await page.evaluate(() => document.activeElement.textContent), 'DE');

            const res = page.waitForResponse((r) => r.url().includes('/consent/v1/consents'));
            await b.getByRole('button', { name: 'OK' }).click();
            assert.equal((await res).status(), 201);
            await page.locator('.cc-b').waitFor({ state: 'detached' });
            const [r] = await receipts(page, 1);
            assert.equal(r.receipt.action, 'custom');
            assert.equal(r.receipt.jurisdiction.model, 'notice');
            assert.deepEqual(r.receipt.choices,
                             { necessary: true, functional: true, analytics: true, advertising: true });
            assert.deepEqual(v.errors, []);
        });
    });
});

describe('region preview for operators', () => {
    it('?consent_preview=US-CA shows that banner, applies choices for the page view and records nothing', async () => {
        await suite.withVisitor({ xff: DE, gpc: true }, async (v) => {
            const { page } = v;
            await page.goto(DEMO + '?consent_preview=US-CA');
            const b = await banner(page);
            await b.getByText(GPC_HONOURED).waitFor();
            await b.getByText(PREVIEW_NOTE).waitFor();
            assert.equal(new URL(v.bannerRequests()[0].url).search.replace(/&bucket=\d\d?$/, ''),
                         '?site=demo&preview=US-CA');
            // GPC is binding in California: applied at once, but not sent.
            await page.waitForFunction(() => (window.demoRan || []).length > 0);
            assert.deepEqual(await ran(page), ['analytics']);
            assert.equal((await page.evaluate(() => window.consent.get())).advertising, false);

            // A choice in the settings: applied for this page view only.
            await page.evaluate(() => window.consent.open());
            const p = await panel(page);
            await p.getByRole('switch', { name: 'Analytics' }).uncheck();
            await p.getByRole('button', { name: 'Save my choices' }).click();
            await page.locator('.cc-b').waitFor({ state: 'detached' });
            // The live region exists first; its text follows (so it is announced).
            const note = page.locator('.cc-n[role="status"]');
            await note.getByText(PREVIEW_NOTE).waitFor();
            assert.equal(await note.textContent(), PREVIEW_NOTE);
            assert.deepEqual(await page.evaluate(() => window.consent.get()),
                             { necessary: true, functional: true, analytics: false, advertising: false });
            // Withdrawal in the preview: applied, not sent either.
            await page.evaluate(() => window.consent.open());
            await (await panel(page)).getByRole('button', { name: 'Withdraw my consent' }).click();
            await page.locator('dialog.cc-p').waitFor({ state: 'detached' });
            assert.equal(await page.locator('.cc-n').count(), 1, 'one note');
            await page.waitForTimeout(300);

            assert.deepEqual(v.api.filter((r) => r.method !== 'GET'), [], 'no POST, no DELETE');
            assert.equal((await me(page)).status, 404, 'nothing recorded');
            // (The demo's analytics script, which ran, sets cookies of its own.)
            assert.deepEqual((await v.context.cookies()).filter((c) => c.name === 'consent'), [],
                             'no consent cookie');
            // A preview never touches the visitor's stored choice, queue or receipt.
            assert.equal(await stored(page), null);
            assert.equal(await page.evaluate(() => window.consent.receipt()), null);
            // The server refuses writes while previewing.
            const refused = await page.evaluate(async () => {
                const r = await fetch('/consent/v1/consents/me?site=demo&preview=US-CA',
                                      { method: 'DELETE', credentials: 'include' });
                return [r.status, (await r.json()).error.code];
            });
            assert.deepEqual(refused, [403, 'preview_not_recorded']);
            assert.deepEqual(v.errors, []);
        });
    });

    it('a preview sends nothing a real choice left queued, and leaves it queued', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto(DEMO);
            const b = await banner(page);
            await page.route('**/consent/v1/consents', (route) => route.abort('connectionrefused'));
            const failed = page.waitForEvent('requestfailed', (r) => r.url().includes('/consent/v1/consents'));
            await b.getByRole('button', { name: 'Reject all' }).click();
            await failed;
            await page.unroute('**/consent/v1/consents');
            assert.equal((await stored(page)).q.length, 1);

            v.reset();
            await page.goto(DEMO + '?consent_preview=JP');
            const p = await banner(page);
            await p.getByText(PREVIEW_NOTE).waitFor();
            await p.getByRole('button', { name: 'OK' }).click();
            await page.locator('.cc-n').waitFor();
            await page.waitForTimeout(300);
            assert.deepEqual(v.api.map((r) => r.method + ' ' + new URL(r.url).pathname),
                             ['GET /consent/v1/banner']);
            const st = await stored(page);
            assert.equal(st.q.length, 1, 'still queued for the next normal view');
            assert.equal(st.q[0][2].action, 'reject_all');
        });
    });

    it('each demo preview link shows its region\'s banner', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const expect = { 'US-CO': 'opt-out', JP: 'notice', BR: 'opt-in' };
            for (const [region, model] of Object.entries(expect)) {
                await v.page.goto(DEMO);
                const d = v.page.waitForResponse((r) => r.url().includes('/consent/v1/banner') &&
                                                  r.url().includes('preview=' + region));
                await v.page.getByRole('navigation', { name: 'Region preview' })
                    .getByRole('link', { name: region, exact: true }).click();
                assert.equal((await (await d).json()).jurisdiction.model, model, region);
                const b = await banner(v.page);
                if (model === 'opt-in')
                    await b.getByRole('button', { name: 'Reject all' }).waitFor();
                else
                    await b.getByRole('button', { name: 'OK' }).waitFor();
            }
        });
    });

    it('a 403 (site without previews) falls back to the normal decision', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            await v.page.goto('/consent/test/shop.html?consent_preview=US-CA');
            const b = await banner(v.page);
            await b.getByRole('button', { name: 'Reject all' }).waitFor();
            assert.deepEqual(v.bannerRequests().map((r) => new URL(r.url).search.replace(/&bucket=\d\d?$/, '')),
                             ['?site=shop&preview=US-CA', '?site=shop']);
        });
    });
});
