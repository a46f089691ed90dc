'use strict';
/*
 * offline.test.js - the backend is down when the visitor chooses: the choice
 * is applied at once, kept in localStorage and sent again until the server
 * confirms it (201), across reloads.
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { DE, DEMO, banner, me, ran, stored } = require('./lib/browser');
const { browserSuite } = require('./lib/suite');

const ALL = { necessary: true, functional: true, analytics: true, advertising: true };
const OFF = { necessary: true, functional: false, analytics: false, advertising: false };

const suite = browserSuite();

const isRecord = (r) => r.url().includes('/consent/v1/consents') && r.request().method() === 'POST';

describe('backend down when the visitor clicks', () => {
    it('Redis stopped (503): applied at once, queued, delivered after the backend returns', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto(DEMO);
            const b = await banner(page);
            await suite.stack.stopRedis();

            const failed = page.waitForResponse(isRecord);
            await b.getByRole('button', { name: 'Accept all' }).click();
            assert.equal((await failed).status(), 503);
            await page.locator('.cc-b').waitFor({ state: 'detached' });
            assert.deepEqual(await page.evaluate(() => window.consent.get()), ALL);
            await page.waitForFunction(() => (window.demoRan || []).length === 2);
            let st = await stored(page);
            assert.deepEqual(st.c, ALL);
            assert.equal(st.q.length, 1);
            assert.equal(st.q[0][2].action, 'accept_all');

            // Reload while still down: nothing lost, no banner, sent again.
            v.reset();
            const again = page.waitForResponse(isRecord);
            await page.reload();
            assert.equal((await again).status(), 503);
            assert.equal(await page.locator('.cc-b').count(), 0);
            assert.equal(v.bannerRequests().length, 0);
            await page.waitForFunction(() => (window.demoRan || []).length === 2);
            st = await stored(page);
            assert.equal(st.q.length, 1);

            // Back up: the retry timer delivers it without a reload.
            await suite.stack.startRedis();
            const delivered = await page.waitForResponse((r) => isRecord(r) && r.status() === 201,
                                                        { timeout: 15000 });
            assert.equal(JSON.parse(delivered.request().postData()).action, 'accept_all');
            await page.waitForFunction(() => JSON.parse(localStorage.getItem('consent:demo')).q.length === 0);
            const m = await me(page);
            assert.equal(m.status, 200);
            assert.equal(m.json.receipts[0].receipt.action, 'accept_all');
            assert.deepEqual(m.json.receipts[0].receipt.choices, ALL);
            // The delivered 201 issued the consent ID; its receipt is kept by the visitor.
            assert.equal(m.json.receipts.length, 1);
            assert.equal(m.json.receipts[0].seq, 1);
            assert.equal(m.json.consent_id, (await delivered.json()).consent_id);
            await page.waitForFunction(() => window.consent.receipt() !== null);
            assert.deepEqual(await page.evaluate(() => window.consent.receipt()), {
                jws: m.json.receipts[0].jws, seq: 1, receipt_id: m.json.receipts[0].receipt.receipt_id,
                time_ms: m.json.receipts[0].receipt.time_ms,
            });
            assert.deepEqual(v.errors, []);
        });
    });

    it('network failure (request aborted): queued across a reload, then delivered', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto(DEMO);
            const b = await banner(page);
            await page.route('**/consent/v1/consents', (route) => route.abort('connectionrefused'));
            const failed = page.waitForEvent('requestfailed', (r) => r.url().includes('/consent/v1/consents'));
            await b.getByRole('button', { name: 'Reject all' }).click();
            await failed;
            await page.locator('.cc-b').waitFor({ state: 'detached' });
            assert.deepEqual(await page.evaluate(() => window.consent.get()), OFF);
            assert.deepEqual(await ran(page), []);
            assert.equal((await stored(page)).q.length, 1);
            assert.equal((await me(page)).status, 404, 'nothing recorded yet');
            assert.deepEqual(await v.context.cookies(), [], 'no consent cookie before a 201');
            assert.equal(await page.evaluate(() => window.consent.receipt()), null);

            await page.unroute('**/consent/v1/consents');
            v.reset();
            const delivered = page.waitForResponse(isRecord);
            await page.reload();
            assert.equal((await delivered).status(), 201);
            await page.waitForFunction(() => JSON.parse(localStorage.getItem('consent:demo')).q.length === 0);
            assert.equal(await page.locator('.cc-b').count(), 0);
            assert.deepEqual(v.api.map((r) => r.method), ['POST'], 'only the queued choice');
            const m = await me(page);
            assert.equal(m.json.receipts.length, 1);
            assert.equal(m.json.receipts[0].receipt.action, 'reject_all');
            assert.deepEqual(await ran(page), []);
        });
    });
});
