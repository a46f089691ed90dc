'use strict';
/*
 * optin.test.js - an EU (opt-in) visitor on the demo page, in headless
 * Chromium against the real stack: banner, nothing before a choice, receipts
 * in Redis and their chain (receipt format v2: seq, verdicts), no cookie and
 * no consent ID before the first choice, the newest receipt kept by the
 * visitor (consent.receipt()), no request for a returning visitor, the daily
 * check, stale banners, the settings panel, keyboard use, Consent Mode,
 * gating of inline scripts and iframes under a strict CSP, and the API.
 *
 *   node --test tests/browser/
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const {
    DE, DEMO, banner, consentMode, me, panel, printBannerTime, ran, recordBy, screenshot, stored,
} = require('./lib/browser');
const { browserSuite } = require('./lib/suite');

const OFF = { necessary: true, functional: false, analytics: false, advertising: false };
const ALL_TYPES = ['ad_storage', 'ad_user_data', 'ad_personalization', 'analytics_storage',
                   'functionality_storage', 'personalization_storage'];

const suite = browserSuite();

describe('EU visitor (opt-in) on the demo page', () => {
    let v;
    let first;       // the first receipt's sha256
    let consentId;   // issued with the first 201

    before(async () => {
        v = await suite.visitor({ xff: DE });
        await v.context.addInitScript(() => {
            window.__events = [];
            document.addEventListener('consent:change', (e) => window.__events.push(e.detail));
        });
    });
    after(async () => {
        assert.deepEqual(v.errors, [], 'no page errors');
        await v.close();
    });

    it('shows the opt-in banner and runs nothing gated before a choice', async () => {
        await v.page.goto(DEMO);
        const b = await banner(v.page);
        await printBannerTime(v.page, 'opt-in, EU');

        assert.equal(await b.getAttribute('role'), 'dialog');
        const title = await v.page.locator('#' + await b.getAttribute('aria-labelledby')).textContent();
        assert.equal(title, 'Your privacy choices');
        const accept = b.getByRole('button', { name: 'Accept all', exact: true });
        const reject = b.getByRole('button', { name: 'Reject all', exact: true });
        await b.getByRole('button', { name: 'Settings', exact: true }).waitFor();
        // Equal prominence: same class, size and colours.
        const look = (l) => l.evaluate((e) => {
            const s = getComputedStyle(e), r = e.getBoundingClientRect();
            return [e.className, s.backgroundColor, s.color, s.fontSize, s.fontWeight,
                    Math.round(r.width), Math.round(r.height)].join('|');
        });
        assert.equal(await look(accept), await look(reject));
        // Focus moved into the banner.
        assert.equal(await v.page.evaluate(() => !!document.activeElement.closest('.cc-b')), true);

        assert.deepEqual(await ran(v.page), []);
        assert.equal(await v.page.locator('script[type="text/plain"][data-consent]').count(), 2);
        assert.equal(await v.page.locator('iframe[data-consent]').getAttribute('src'), null);
        assert.equal(v.bannerRequests().length, 1);
        // The browser's experiment bucket (0-99) goes with the decision request.
        const asked = v.api.map((r) => r.method + ' ' + new URL(r.url).pathname + new URL(r.url).search);
        assert.equal(asked.length, 1);
        assert.match(asked[0], /^GET \/consent\/v1\/banner\?site=demo&bucket=(\d|[1-9]\d)$/);
        // Nothing identifying before a choice: no cookie, no consent ID, no receipt.
        assert.deepEqual(await v.context.cookies(), []);
        assert.equal(await v.page.evaluate(() => window.consent.receipt()), null);
        assert.equal((await me(v.page)).status, 404);

        // Consent Mode v2: the default first, everything denied but security_storage.
        const cm = await consentMode(v.page);
        assert.equal(cm[0][0], 'default');
        assert.equal(cm[0][2], 3, 'gtag-style arguments: consent, default, {...}');
        assert.equal(cm[0][3], '[object Arguments]');
        for (const t of ALL_TYPES)
            assert.equal(cm[0][1][t], 'denied', t);
        assert.equal(cm[0][1].security_storage, 'granted');
        assert.ok(cm.every(([, o]) => ALL_TYPES.every((t) => o[t] === 'denied')));
        await screenshot(v.page, 'banner-opt-in');
    });

    it('"Reject all" records a receipt in Redis, runs nothing and closes the banner', async () => {
        const res = await recordBy(v.page, () =>
            v.page.getByRole('button', { name: 'Reject all', exact: true }).click());
        assert.equal(res.status(), 201);
        const body = JSON.parse(res.request().postData());
        assert.deepEqual(Object.keys(body).sort(),
                         ['action', 'banner_version', 'choices', 'site', 'texts_sha256']);
        assert.equal(body.action, 'reject_all');
        assert.match(body.texts_sha256, /^[0-9a-f]{64}$/);
        await v.page.locator('.cc-b').waitFor({ state: 'detached' });

        // The first 201 issues the consent ID and its HttpOnly cookie.
        const answer = await res.json();
        assert.deepEqual(Object.keys(answer).sort(), ['consent_id', 'jws', 'receipt', 'sha256']);
        consentId = answer.consent_id;
        assert.match(consentId, /^[A-Za-z0-9_-]{22}$/);
        assert.equal(answer.receipt.receipt_version, 'consent-receipt/2');
        assert.equal(answer.receipt.consent_id, consentId);
        assert.equal(answer.receipt.seq, 1);
        assert.equal(answer.receipt.prev_sha256, '0'.repeat(64));
        const cookies = await v.context.cookies();
        assert.deepEqual(cookies.map((c) => [c.name, c.httpOnly, c.path]), [['consent', true, '/']]);
        assert.equal(await v.page.evaluate(() => document.cookie), '', 'the script never sees it');

        const m = await me(v.page);
        assert.equal(m.status, 200);
        assert.equal(m.json.consent_id, consentId);
        assert.equal(m.json.verdict, 'verified');
        assert.deepEqual(m.json.findings, []);
        assert.equal(m.json.receipts.length, 1);
        const r = m.json.receipts[0];
        assert.equal(r.seq, 1);
        assert.equal(r.verdict, 'ok');
        assert.equal(r.receipt.action, 'reject_all');
        assert.deepEqual(r.receipt.choices, OFF);
        assert.equal(r.receipt.site, 'demo');
        assert.equal(r.signature_valid, true);
        assert.equal(r.sha256, answer.sha256);
        assert.equal(r.jws, answer.jws);
        first = r.sha256;

        // The visitor keeps the newest receipt as their own proof.
        assert.deepEqual(await v.page.evaluate(() => window.consent.receipt()),
                         { jws: answer.jws, seq: 1, receipt_id: answer.receipt.receipt_id,
                           time_ms: answer.receipt.time_ms });
        assert.deepEqual(await v.page.evaluate(() => JSON.parse(localStorage.getItem('consent.receipt.demo'))),
                         await v.page.evaluate(() => window.consent.receipt()));

        assert.deepEqual(await ran(v.page), []);
        assert.deepEqual(await v.page.evaluate(() => window.consent.get()), OFF);
        const st = await stored(v.page);
        assert.deepEqual(st.c, OFF);
        assert.deepEqual(st.q, []);
        assert.equal(st.e, r.receipt.expires_ms);
        const events = await v.page.evaluate(() => window.__events);
        assert.deepEqual(events[events.length - 1], OFF);
    });

    it('on reload shows no banner and makes no request at all', async () => {
        v.reset();
        await v.page.reload();
        await v.page.waitForFunction(() => window.consent && window.consent.get());
        await v.page.waitForTimeout(300);
        assert.equal(await v.page.locator('.cc-b').count(), 0);
        assert.deepEqual(v.api, [], 'no /consent/v1/ request');
        assert.deepEqual(await v.page.evaluate(() => window.consent.get()), OFF);
        assert.deepEqual(await ran(v.page), []);
        const cm = await consentMode(v.page);
        assert.deepEqual(cm.map((c) => c[0]), ['default', 'update']);
    });

    it('settings: enabling analytics runs only the analytics script; the second receipt chains to the first', async () => {
        v.reset();
        await v.page.getByRole('link', { name: 'Cookie settings' }).click();
        const p = await panel(v.page);
        // (the experiment bucket, 0-99, always goes last)
        assert.deepEqual(v.bannerRequests().map((r) => new URL(r.url).search.replace(/&bucket=\d\d?$/, '')),
                         ['?site=demo&settings=1']);
        assert.equal(await p.getAttribute('aria-labelledby'), 'cc-pt');
        const sw = (name) => p.getByRole('switch', { name });
        assert.equal(await sw('Strictly necessary').isChecked(), true);
        assert.equal(await sw('Strictly necessary').isDisabled(), true);
        await p.getByText('Always on').waitFor();
        for (const n of ['Preferences', 'Analytics', 'Advertising']) {
            assert.equal(await sw(n).isChecked(), false, n);
            assert.equal(await sw(n).isDisabled(), false, n);
        }
        await p.getByText('Count visits and see which pages are used').waitFor();
        // The consent ID, with a copy button.
        const id = await p.locator('code').textContent();
        assert.match(id, /^[A-Za-z0-9_-]{22}$/);
        assert.equal(id, consentId);
        assert.equal(id, (await me(v.page)).json.consent_id);
        await p.getByRole('button', { name: 'Copy' }).waitFor();
        // After "Reject all" there is no consent to withdraw.
        assert.equal(await p.getByRole('button', { name: 'Withdraw my consent' }).count(), 0);

        await sw('Analytics').check();
        await screenshot(v.page, 'settings-panel');
        const res = await recordBy(v.page, () =>
            p.getByRole('button', { name: 'Save my choices' }).click());
        assert.equal(res.status(), 201);
        await v.page.locator('dialog.cc-p').waitFor({ state: 'detached' });
        await v.page.waitForFunction(() => (window.demoRan || []).length > 0);
        await v.page.waitForTimeout(200);
        assert.deepEqual(await ran(v.page), ['analytics']);
        assert.equal(await v.page.locator('#analytics-status').getAttribute('class'), 'on');
        assert.equal(await v.page.locator('#advertising-status').textContent(), 'not run');

        const m = await me(v.page);
        assert.equal(m.json.receipts.length, 2);
        const [second, older] = m.json.receipts;
        assert.equal(second.receipt.action, 'custom');
        assert.deepEqual(second.receipt.choices, { ...OFF, analytics: true });
        assert.deepEqual([second.seq, older.seq], [2, 1]);
        assert.equal(second.receipt.seq, 2);
        assert.equal(older.sha256, first);
        assert.equal(second.receipt.prev_sha256, first, 'chained to the first receipt');
        assert.deepEqual([second.verdict, older.verdict], ['ok', 'ok']);
        assert.equal(m.json.all_valid, true);
        assert.equal(m.json.verdict, 'verified');
        assert.deepEqual(m.json.findings, []);
        assert.equal(m.json.head.count, 2);
        assert.equal(m.json.head.head_sha256, second.sha256);
        assert.equal(m.json.head.seal_valid, true);
        // Same consent ID, and the kept receipt is now the second one.
        assert.equal(m.json.consent_id, consentId);
        assert.equal((await res.json()).consent_id, consentId);
        assert.deepEqual(await v.page.evaluate(() => window.consent.receipt()),
                         { jws: second.jws, seq: 2, receipt_id: second.receipt.receipt_id,
                           time_ms: second.receipt.time_ms });

        const cm = await consentMode(v.page);
        const last = cm[cm.length - 1];
        assert.equal(last[0], 'update');
        assert.equal(last[1].analytics_storage, 'granted');
        for (const t of ALL_TYPES.filter((x) => x !== 'analytics_storage'))
            assert.equal(last[1][t], 'denied', t);
    });

    it('a visitor whose consent is stored on the server gets no banner and the stored choices at once', async () => {
        // Same browser (cookie), localStorage lost: one decision, prompt false.
        await v.page.evaluate(() => localStorage.clear());
        v.reset();
        const decision = v.page.waitForResponse((r) => r.url().includes('/consent/v1/banner'));
        await v.page.reload();
        const d = await (await decision).json();
        assert.equal(d.prompt, false);
        assert.equal(d.consent_id, consentId);
        assert.deepEqual(Object.keys(d.stored).sort(),
                         ['action', 'banner_version', 'expires_ms', 'receipt_id', 'seq', 'time_ms']);
        assert.equal(d.stored.action, 'custom');
        assert.equal(d.stored.seq, 2);
        await v.page.waitForFunction(() => (window.demoRan || []).length > 0);
        await v.page.waitForTimeout(200);
        assert.equal(await v.page.locator('.cc-b').count(), 0);
        assert.deepEqual(await ran(v.page), ['analytics']);
        const st = await stored(v.page);
        assert.deepEqual(st.c, { ...OFF, analytics: true });
        assert.equal(st.e, d.stored.expires_ms);
    });

    it('asks again once the daily check is due, without showing a banner', async () => {
        await v.page.evaluate(() => {
            const s = JSON.parse(localStorage.getItem('consent:demo'));
            s.t -= 86400e3 + 1000;
            localStorage.setItem('consent:demo', JSON.stringify(s));
        });
        v.reset();
        const decision = v.page.waitForResponse((r) => r.url().includes('/consent/v1/banner'));
        await v.page.reload();
        await decision;
        await v.page.waitForTimeout(300);
        assert.equal(v.bannerRequests().length, 1);
        assert.equal(await v.page.locator('.cc-b').count(), 0);
        assert.deepEqual(await ran(v.page), ['analytics']);
        const st = await stored(v.page);
        assert.ok(Date.now() - st.t < 60e3, 'last check updated');

        v.reset();
        await v.page.reload();
        await v.page.waitForFunction(() => window.consent && window.consent.get());
        await v.page.waitForTimeout(200);
        assert.deepEqual(v.api, [], 'not again on the next view');
    });

    it('a 409 stale_banner drops the queued choice and shows the current banner again', async () => {
        await v.page.evaluate(() => {
            const s = JSON.parse(localStorage.getItem('consent:demo'));
            s.q = [['POST', 'consents', { site: 'demo', banner_version: '2001-01-01',
                texts_sha256: '0'.repeat(64), action: 'reject_all',
                choices: { necessary: true, functional: false, analytics: false, advertising: false } }]];
            localStorage.setItem('consent:demo', JSON.stringify(s));
        });
        v.reset();
        const stale = v.page.waitForResponse((r) => r.url().includes('/consent/v1/consents'));
        await v.page.reload();
        assert.equal((await stale).status(), 409);
        await banner(v.page);
        assert.deepEqual(v.api.map((r) => r.method + ' ' + new URL(r.url).pathname),
                         ['POST /consent/v1/consents', 'GET /consent/v1/banner']);
        assert.deepEqual((await stored(v.page)).q, []);
        assert.equal((await me(v.page)).json.receipts.length, 2, 'nothing recorded');
    });

    it('a 4xx other than 409 drops the request (no retry)', async () => {
        await v.page.evaluate(() => {
            const s = JSON.parse(localStorage.getItem('consent:demo'));
            s.q = [['POST', 'consents', { site: 'demo', banner_version: 'x', texts_sha256: 'nothex',
                                          action: 'custom', choices: {} }]];
            localStorage.setItem('consent:demo', JSON.stringify(s));
        });
        v.reset();
        const bad = v.page.waitForResponse((r) => r.url().includes('/consent/v1/consents'));
        await v.page.reload();
        assert.equal((await bad).status(), 400);
        await v.page.waitForTimeout(2500);      // past the first retry delay
        assert.equal(v.api.filter((r) => r.method === 'POST').length, 1);
        assert.deepEqual((await stored(v.page)).q, []);
    });
});

describe('keyboard only', () => {
    it('Tab reaches the buttons, Enter activates, Escape closes the panel, focus returns', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto(DEMO);
            await banner(page);
            const focused = () => page.evaluate(() => {
                const e = document.activeElement;
                return e === document.body ? 'BODY' : (e.textContent || e.getAttribute('aria-label') ||
                    e.tagName).trim();
            });
            const ring = () => page.evaluate(() => {
                const s = getComputedStyle(document.activeElement);
                return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
            });
            assert.equal(await page.evaluate(() => document.activeElement.classList.contains('cc-b')), true);
            assert.equal(await ring(), false, 'no ring around the banner itself');
            await page.keyboard.press('Tab');
            assert.equal(await focused(), 'Accept all');
            assert.equal(await ring(), true, 'visible focus');
            await page.keyboard.press('Tab');
            assert.equal(await focused(), 'Reject all');
            await page.keyboard.press('Tab');
            assert.equal(await focused(), 'Settings');
            assert.equal(await ring(), true, 'visible focus on the settings button');
            await page.keyboard.press('Enter');
            const p = await panel(page);
            assert.equal(await page.evaluate(() => !!document.activeElement.closest('dialog.cc-p')), true,
                         'focus moved into the panel');
            // No choice recorded yet: no consent ID exists, none is shown.
            assert.equal(await p.locator('.cc-i, code').count(), 0, 'no consent ID before a choice');
            assert.equal(await p.getByRole('button', { name: 'Copy' }).count(), 0);
            // Tab to the analytics switch and toggle it with Space.
            for (let i = 0; i < 10 && (await focused()) !== 'Analytics'; i++) {
                await page.keyboard.press('Tab');
                if (await page.evaluate(() => document.activeElement.type === 'checkbox')) {
                    const name = await page.evaluate(() =>
                        document.activeElement.closest('label').textContent);
                    if (name === 'Analytics')
                        break;
                }
            }
            assert.equal(await page.evaluate(() =>
                document.activeElement.closest('label').textContent), 'Analytics');
            assert.equal(await ring(), true, 'visible focus on the switch');
            await page.keyboard.press('Space');
            assert.equal(await p.getByRole('switch', { name: 'Analytics' }).isChecked(), true);
            // Escape closes the panel without saving; focus back on "Settings".
            await page.keyboard.press('Escape');
            await page.locator('dialog.cc-p').waitFor({ state: 'detached' });
            assert.equal(await focused(), 'Settings');
            assert.equal(v.api.filter((r) => r.method === 'POST').length, 0, 'nothing saved');
            assert.deepEqual(await ran(page), []);
            // Back to "Reject all" and Enter.
            await page.keyboard.press('Shift+Tab');
            assert.equal(await focused(), 'Reject all');
            const res = page.waitForResponse((r) => r.url().includes('/consent/v1/consents'));
            await page.keyboard.press('Enter');
            assert.equal((await res).status(), 201);
            await page.locator('.cc-b').waitFor({ state: 'detached' });
            assert.equal(await focused(), 'BODY', 'focus returned to the page');
            // The page goes on from where the banner was: its first link.
            await page.keyboard.press('Tab');
            assert.equal(await focused(), 'DE');
            assert.deepEqual(v.errors, []);
        });
    });
});

describe('gating under a strict CSP, Consent Mode mapping and the JS API', () => {
    it('inline (nonce) and external scripts run once per page when allowed, iframes load and unload', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await v.context.addInitScript(() => {
                window.__events = [];
                document.addEventListener('consent:change', (e) => window.__events.push(e.detail));
                window.__csp = [];
                document.addEventListener('securitypolicyviolation', (e) =>
                    window.__csp.push(e.violatedDirective + ' ' + e.blockedURI));
            });
            await page.goto('/consent/test/gating.html');
            await banner(page);
            const state = () => page.evaluate(() => ({
                ran: window.ran || [],
                demo: window.demoRan || [],
                iframe: document.querySelector('iframe').getAttribute('src'),
            }));
            assert.deepEqual(await state(), { ran: [], demo: [], iframe: null });
            // The site's own mapping replaces the default one.
            let cm = await consentMode(page);
            assert.equal(cm[0][0], 'default');
            assert.equal(cm[0][1].vendor_x_storage, 'denied');
            assert.equal(cm[0][1].functionality_storage, 'denied');
            assert.equal(cm[0][1].security_storage, 'granted');

            // onChange registered now is called at once with the current choices.
            await page.evaluate(() => {
                window.__calls = [];
                window.consent.onChange((c) => window.__calls.push(c));
            });
            assert.equal(await page.evaluate(() => window.__calls.length), 1);

            // window.consent.open() opens the panel; analytics only.
            await page.evaluate(() => window.consent.open());
            const p = await panel(page);
            await p.getByRole('switch', { name: 'Analytics' }).check();
            await recordBy(page, () => p.getByRole('button', { name: 'Save my choices' }).click());
            await page.waitForFunction(() => (window.demoRan || []).length === 1);
            assert.deepEqual(await state(), { ran: ['inline-analytics'], demo: ['analytics'], iframe: null });
            assert.deepEqual(await page.evaluate(() => window.consent.get()),
                             { ...OFF, analytics: true });
            cm = await consentMode(page);
            let last = cm[cm.length - 1][1];
            assert.equal(last.analytics_storage, 'granted');
            assert.equal(last.ad_storage, 'denied');
            assert.equal(last.vendor_x_storage, 'denied');

            // Accept all through a data-consent-settings element: the newly
            // allowed scripts run, the ones that ran do not run again.
            await page.getByRole('button', { name: 'Cookie settings' }).click();
            const p2 = await panel(page);
            assert.equal(await p2.getByRole('switch', { name: 'Analytics' }).isChecked(), true);
            await recordBy(page, () => p2.getByRole('button', { name: 'Accept all' }).click());
            await page.waitForFunction(() => window.demoRan.length === 2);
            await page.locator('iframe[src="/consent/demo/embed.html"]').waitFor({ state: 'attached' });
            assert.deepEqual(await state(), {
                ran: ['inline-analytics', 'inline-analytics+advertising'],
                demo: ['analytics', 'advertising'],
                iframe: '/consent/demo/embed.html',
            });
            const frame = page.frameLocator('iframe');
            await frame.getByText('Preferences embed loaded.').waitFor();
            cm = await consentMode(page);
            last = cm[cm.length - 1][1];
            assert.equal(last.vendor_x_storage, 'granted');
            assert.equal(last.ad_storage, 'granted');
            assert.equal(last.ad_user_data, 'granted');
            assert.equal(last.ad_personalization, 'denied', 'not in the site\'s mapping');

            // Withdraw: recorded with DELETE /consents/me, the iframe unloads.
            await page.evaluate(() => window.consent.open());
            const p3 = await panel(page);
            const res = await recordBy(page, () =>
                p3.getByRole('button', { name: 'Withdraw my consent' }).click());
            assert.equal(res.request().method(), 'DELETE');
            assert.equal(new URL(res.url()).search, '?site=demo');
            assert.equal(res.status(), 201);
            await page.waitForFunction(() => document.querySelector('iframe').getAttribute('src') === 'about:blank');
            assert.deepEqual(await page.evaluate(() => window.consent.get()), OFF);
            const m = await me(page);
            assert.deepEqual(m.json.receipts.map((r) => r.receipt.action), ['withdraw', 'accept_all', 'custom']);
            assert.deepEqual(m.json.receipts.map((r) => [r.seq, r.verdict]), [[3, 'ok'], [2, 'ok'], [1, 'ok']]);
            assert.equal(m.json.all_valid, true);
            assert.equal(m.json.verdict, 'verified');
            const kept = await page.evaluate(() => window.consent.receipt());
            assert.equal(kept.seq, 3);
            assert.equal(kept.jws, m.json.receipts[0].jws);
            assert.equal(kept.receipt_id, m.json.receipts[0].receipt.receipt_id);

            const events = await page.evaluate(() => window.__events);
            assert.deepEqual(events.map((e) => e.analytics), [false, true, true, false]);
            assert.equal(await page.evaluate(() => window.__calls.length), 4);
            assert.deepEqual(await page.evaluate(() => window.__csp), [], 'no CSP violation');
            assert.deepEqual(v.errors, []);
        });
    });

    it('no Withdraw before any choice; a withdrawal before the first receipt is confirmed is a POST', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            await page.goto(DEMO);
            const b = await banner(page);
            await page.evaluate(() => window.consent.open());
            let p = await panel(page);
            assert.equal(await p.locator('code').count(), 0);
            assert.equal(await p.getByRole('button', { name: 'Withdraw my consent' }).count(), 0,
                         'nothing to withdraw');
            await page.keyboard.press('Escape');
            await page.locator('dialog.cc-p').waitFor({ state: 'detached' });

            // Accept all while the server cannot be reached: queued, no consent ID yet.
            await page.route('**/consent/v1/consents', (route) => route.abort('connectionrefused'));
            const failed = page.waitForEvent('requestfailed', (r) => r.url().includes('/consent/v1/consents'));
            await b.getByRole('button', { name: 'Accept all' }).click();
            await failed;
            await page.evaluate(() => window.consent.open());
            p = await panel(page);
            assert.equal(await p.locator('code').count(), 0);
            await p.getByRole('button', { name: 'Withdraw my consent' }).click();
            assert.deepEqual((await stored(page)).q.map((q) => [q[0], q[2].action]),
                             [['POST', 'accept_all'], ['POST', 'withdraw']]);
            await page.unroute('**/consent/v1/consents');
            await page.waitForFunction(() => {
                const s = JSON.parse(localStorage.getItem('consent:demo'));
                return s && !(s.q && s.q.length);
            }, null, { timeout: 20000 });
            const m = await me(page);
            assert.deepEqual(m.json.receipts.map((r) => r.receipt.action), ['withdraw', 'accept_all']);
            assert.deepEqual(m.json.receipts[0].receipt.choices, OFF);
            assert.deepEqual(await page.evaluate(() => window.consent.get()), OFF);
            // Now there is a consent ID: the panel shows it.
            await page.evaluate(() => window.consent.open());
            assert.equal(await (await panel(page)).locator('code').textContent(), m.json.consent_id);
        });
    });

    it('texts are inserted as text, never as HTML', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const evil = '<img src=x id=pwn onerror="window.pwned=1">Title';
            await v.page.route('**/consent/v1/banner*', async (route) => {
                const res = await route.fetch();
                const d = await res.json();
                d.texts.title = evil;
                d.texts.accept_all = '<b id=bold>Accept</b>';
                d.texts.categories.analytics.purpose = '<script>window.pwned=2</script>';
                d.texts.policy = 'Privacy policy';      // the site's label, replaced for the test
                await route.fulfill({ response: res, json: d });
            });
            await v.page.goto(DEMO);
            const b = await banner(v.page);
            assert.equal(await b.locator('h2').textContent(), evil);
            assert.equal(await b.getByRole('link', { name: 'Privacy policy' }).getAttribute('href'),
                         suite.stack.config.sites[0].policy_url);
            await b.getByRole('button', { name: '<b id=bold>Accept</b>' }).waitFor();
            await v.page.evaluate(() => window.consent.open());
            const p = await panel(v.page);
            await p.getByText('<script>window.pwned=2</script>').waitFor();
            assert.equal(await v.page.locator('#pwn, #bold').count(), 0);
            assert.equal(await v.page.evaluate(() => window.pwned), undefined);
        });
    });

    it('works from its versioned URL /consent/v/VERSION/consent.js (API still /consent/v1/)', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            await v.page.goto('/consent/test/versioned.html');
            const b = await banner(v.page);
            const res = await recordBy(v.page, () => b.getByRole('button', { name: 'Reject all' }).click());
            assert.equal(res.status(), 201);
            assert.deepEqual(v.api.map((r) => new URL(r.url).pathname),
                             ['/consent/v1/banner', '/consent/v1/consents']);
            assert.equal(await v.page.evaluate(() =>
                [...document.styleSheets].some((s) => s.href && s.href.endsWith('/consent/v/2026.11/consent.css'))), true);
            assert.deepEqual(v.errors, []);
        });
    });

    it('works from a blocking script in <head>, before the body exists, with data-refresh', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            await v.page.goto('/consent/test/early.html');
            const b = await banner(v.page);
            await recordBy(v.page, () => b.getByRole('button', { name: 'Accept all' }).click());
            await v.page.waitForFunction(() => (window.demoRan || []).length === 1);
            // data-refresh="60": a check a minute later, not a day later.
            await v.page.evaluate(() => {
                const s = JSON.parse(localStorage.getItem('consent:demo'));
                s.t -= 61e3;
                localStorage.setItem('consent:demo', JSON.stringify(s));
            });
            v.reset();
            const decision = v.page.waitForResponse((r) => r.url().includes('/consent/v1/banner'));
            await v.page.reload();
            await decision;
            await v.page.waitForFunction(() => (window.demoRan || []).length === 1);
            assert.equal(await v.page.locator('.cc-b').count(), 0);
            assert.equal(v.bannerRequests().length, 1);
            assert.deepEqual(v.errors, []);
        });
    });
});
