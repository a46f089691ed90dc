'use strict';
/*
 * controls.test.js - the honest controls and the look, in Chromium against
 * the real stack: one-click "Do Not Sell or Share" (banner and a footer
 * link with data-consent-optout), "Withdraw" only with a consent to
 * withdraw, the saved confirmation (role=status) and the current choice
 * with its date, data-theme, data-layout, the reopen button, and focus
 * shown only to keyboard users.
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { CA, DE, banner, me, panel, ran, stored } = require('./lib/browser');
const { browserSuite } = require('./lib/suite');
const { made, madePages } = require('./lib/page');

const DNS = 'Do Not Sell or Share My Personal Information';

let texts;
const suite = browserSuite({}, (started) => {
    texts = started.stack.config.sites[0].languages.en;
});

async function settled(page) {
    await page.waitForFunction(() => {
        const s = JSON.parse(localStorage.getItem('consent:demo'));
        return s && s.c && !(s.q && s.q.length);
    }, null, { timeout: 10000 });
}

/* "{date}" filled with today in English, as the script does. */
const today = (page, s) => page.evaluate((t) => t.replace('{date}',
    new Intl.DateTimeFormat('en', { dateStyle: 'long' }).format(Date.now())), s);

async function posts(v) {
    return v.api.filter((r) => r.method === 'POST');
}

describe('one-click opt-out', () => {
    it('the banner\'s Do Not Sell records sale/sharing off in one click and says so', async () => {
        await suite.withVisitor({ xff: CA }, async (v) => {
            const { page } = v;
            await madePages(v);
            await page.goto(made());
            const b = await banner(page);
            const res = page.waitForResponse((r) => r.url().includes('/consent/v1/consents'));
            await b.getByRole('button', { name: DNS }).click();
            const body = JSON.parse((await res).request().postData());
            assert.equal((await res).status(), 201);
            assert.equal(body.action, 'custom');
            assert.deepEqual(body.choices, { necessary: true, functional: true, analytics: true, advertising: false });
            assert.equal(await page.locator('dialog').count(), 0, 'no panel');
            const note = page.locator('.cc-n[role="status"]');
            await note.getByText(texts['opt-out'].opted_out).waitFor();
            assert.equal(await note.textContent(),
                         texts['opt-out'].opted_out + ' ' + await today(page, texts.panel.saved));
            await settled(page);
            const [r] = (await me(page)).json.receipts;
            assert.equal(r.receipt.opted_out, true);
            assert.equal(r.receipt.choices.advertising, false);
            await page.reload();
            await page.waitForFunction(() => (window.demoRan || []).length === 1);
            assert.deepEqual(await ran(page), ['analytics']);
            assert.equal((await posts(v)).length, 1);
        });
    });

    it('a footer link with data-consent-optout does the same for a returning visitor', async () => {
        await suite.withVisitor({ xff: CA }, async (v) => {
            const { page } = v;
            await madePages(v);
            const url = made({}, { body: `<footer><a href="#" data-consent-optout>${DNS}</a></footer>` });
            await page.goto(url);
            await (await banner(page)).getByRole('button', { name: 'OK' }).click();
            await settled(page);
            assert.equal((await stored(page)).c.advertising, true);
            await page.reload();
            await page.waitForFunction(() => (window.demoRan || []).length === 2);
            v.reset();
            const res = page.waitForResponse((r) => r.url().includes('/consent/v1/consents'));
            await page.getByRole('link', { name: DNS }).click();
            assert.equal((await res).status(), 201);
            await page.locator('.cc-n').getByText(texts['opt-out'].opted_out).waitFor();
            assert.equal(new URL(page.url()).hash, '', 'the link\'s default action is prevented');
            await settled(page);
            const rs = (await me(page)).json.receipts;
            assert.equal(rs.length, 2);
            assert.equal(rs[0].receipt.choices.advertising, false);
            assert.equal(rs[0].receipt.choices.analytics, true);
            assert.equal((await page.evaluate(() => window.consent.get())).advertising, false);
        });
    });
});

describe('withdrawal, confirmation and the current choice', () => {
    it('Withdraw only when a stored choice allows something; saved and current lines with the date', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto('/consent/demo/index.html');
            const b = await banner(page);
            await b.getByRole('button', { name: 'Settings' }).click();
            let p = await panel(page);
            assert.equal(await p.getByRole('button', { name: 'Withdraw my consent' }).count(), 0,
                         'nothing to withdraw before any choice');
            assert.equal(await p.getByText('Your current choice').count(), 0);
            await p.getByRole('button', { name: 'Reject all' }).click();
            const note = page.locator('.cc-n[role="status"]');
            await note.getByText(await today(page, texts.panel.saved)).waitFor();
            await settled(page);

            await page.evaluate(() => window.consent.open());
            p = await panel(page);
            await p.getByText(await today(page, texts.panel.current)).waitFor();
            assert.equal(await p.getByRole('button', { name: 'Withdraw my consent' }).count(), 0,
                         'a refusal is nothing to withdraw');
            await p.getByRole('button', { name: 'Accept all' }).click();
            await settled(page);

            await page.reload();
            await page.evaluate(() => window.consent.open());
            p = await panel(page);
            await p.getByText(await today(page, texts.panel.current)).waitFor();
            const del = page.waitForResponse((r) => r.request().method() === 'DELETE');
            await p.getByRole('button', { name: 'Withdraw my consent' }).click();
            assert.equal((await del).status(), 201);
            await note.getByText(await today(page, texts.panel.saved)).waitFor();
            await settled(page);
            const rs = (await me(page)).json.receipts;
            assert.deepEqual(rs.map((r) => r.receipt.action), ['withdraw', 'accept_all', 'reject_all']);
        });
    });
});

describe('look', () => {
    const bg = (page, sel) => page.locator(sel).evaluate((e) => getComputedStyle(e).backgroundColor);
    const DARK = 'rgb(31, 31, 37)';
    const LIGHT = 'rgb(255, 255, 255)';

    for (const [what, attrs, head, os, want] of [
        ['data-theme="dark" on a light OS', { 'data-theme': 'dark' }, '', 'light', DARK],
        ['data-theme="light" on a dark OS', { 'data-theme': 'light' }, '', 'dark', LIGHT],
        ['auto: the site\'s meta color-scheme "dark" beats a light OS', { 'data-theme': 'auto' },
         '<meta name="color-scheme" content="dark">', 'light', DARK],
        ['auto: the root\'s computed color-scheme "light" beats a dark OS', {},
         '<style>:root{color-scheme:light}</style>', 'dark', LIGHT],
        ['auto: "light dark" follows the OS (dark)', {}, '<meta name="color-scheme" content="light dark">', 'dark', DARK],
    ]) {
        it(`theme: ${what}`, async () => {
            await suite.withVisitor({ xff: DE }, async (v) => {
                await madePages(v);
                await v.page.emulateMedia({ colorScheme: os });
                await v.page.goto(made(attrs, { head }));
                await banner(v.page);
                assert.equal(await bg(v.page, '.cc-b'), want);
                await v.page.getByRole('button', { name: 'Settings' }).click();
                await panel(v.page);
                assert.equal(await bg(v.page, 'dialog.cc-p'), want);
            });
        });
    }

    it('layouts: bar-bottom, bar-top, box-left, box-right, box-center', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            await madePages(v);
            const vw = 1000;
            const vh = 700;
            const boxes = {};
            for (const layout of [undefined, 'bar-top', 'box-left', 'box-right', 'box-center']) {
                await v.page.goto(made(layout ? { 'data-layout': layout } : {}));
                boxes[layout || 'bar-bottom'] = await (await banner(v.page)).boundingBox();
            }
            const b = boxes;
            assert.ok(Math.abs(b['bar-bottom'].y + b['bar-bottom'].height - (vh - 16)) <= 1, 'bottom');
            assert.ok(Math.abs(b['bar-top'].y - 16) <= 1, 'top');
            assert.ok(Math.abs(b['box-left'].x - 16) <= 1 && b['box-left'].width <= 24 * 16 + 1, 'left box');
            assert.ok(Math.abs(b['box-right'].x + b['box-right'].width - (vw - 16)) <= 1 &&
                      b['box-right'].width <= 24 * 16 + 1, 'right box');
            const c = b['box-center'];
            assert.ok(Math.abs(c.y + c.height / 2 - vh / 2) <= 1 && Math.abs(c.x + c.width / 2 - vw / 2) <= 1,
                      'centred');
        });
    });

    it('the reopen button appears once a choice exists and opens the settings', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await madePages(v);
            const url = made({ 'data-reopen-button': '' });
            await page.goto(url);
            const b = await banner(page);
            const reopen = page.getByRole('button', { name: texts.panel.reopen, exact: true });
            assert.equal(await reopen.count(), 0, 'no button before a choice');
            await b.getByRole('button', { name: 'Reject all' }).click();
            await reopen.waitFor();
            await settled(page);
            await page.reload();
            await reopen.waitFor();
            await reopen.click();
            await panel(page);
        });
    });

    it('no focus ring on the banner on load; keyboard focus is shown', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto('/consent/demo/index.html');
            await banner(page);
            await page.waitForFunction(() => document.activeElement.classList.contains('cc-b'));
            assert.equal(await page.evaluate(() => getComputedStyle(document.activeElement).outlineStyle), 'none');
            await page.keyboard.press('Tab');
            const o = await page.evaluate(() => {
                const s = getComputedStyle(document.activeElement);
                return [document.activeElement.textContent, s.outlineStyle, s.outlineWidth];
            });
            assert.deepEqual(o, ['Accept all', 'solid', '3px']);
        });
    });
});
