'use strict';
/*
 * gpp.test.js - the IAB GPP page API (__gpp: consent.js's queue and
 * no-section answers, static/consent-gpp.js where a section applies) in
 * headless Chromium against the real stack, with the configuration's
 * gpp_cmp_id. What it answers is held to the server's string and to the
 * IAB's reference library @iabgpp/cmpapi (tests/gpp/): getSection and
 * getField give exactly what the reference decodes from the string.
 *
 * - California: calls made before the module loads are queued and answered
 *   in order once it loads; ping before the choice (banner visible, signals
 *   ready, the decision's string) and after it (hidden, the receipt's
 *   string); listeners get signalStatus "not ready", cmpDisplayStatus
 *   "hidden", sectionChange "usca" with the new string and signalStatus
 *   "ready", in that order; a removed listener gets nothing more; the
 *   settings panel is a display too; unknown sections, fields and commands
 *   answer (null, false); a returning visitor's page answers from what the
 *   browser kept, without asking the server; a choice the server refuses
 *   (422: dropped, 409: asked again) signals ready again; frames call it
 *   with postMessage through the __gppLocator frame.
 * - Germany (no GPP section): consent-gpp.js is never requested; ping says
 *   applicableSections [-1], signals ready, display disabled.
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { CA, DE, DEMO, banner, me, stored } = require('./lib/browser');
const { browserSuite } = require('./lib/suite');
const { made, madePages } = require('./lib/page');

const { GppModel } = require(path.join(__dirname, '..', 'gpp', 'node_modules', '@iabgpp', 'cmpapi'));

const CMP_ID = 42;
const DNS = 'Do Not Sell or Share My Personal Information';

const suite = browserSuite({ configure: (cfg) => { cfg.gpp_cmp_id = CMP_ID; } });

/* __gpp(command, callback, parameter) in the page: [data, success]. */
function gpp(page, command, parameter) {
    return page.evaluate(([c, p]) => new Promise((resolve) => {
        window.__gpp(c, (data, success) => resolve([data, success]), p);
    }), [command, parameter]);
}

/* A page whose inline script, right after consent.js, calls __gpp before
 * anything answers it and logs what comes back (window.gppLog), with a
 * listener that logs every event (window.gppEvents). */
const EARLY = `<script>
window.gppLog = []; window.gppEvents = [];
window.gppTypeAtStart = typeof window.__gpp;
window.gppModuleAtStart = !!document.querySelector('script[src*="consent-gpp.js"]');
__gpp('ping', function (d, ok) { gppLog.push(['ping', d, ok]); });
__gpp('addEventListener', function (e, ok) {
    gppEvents.push([e.eventName, e.data, e.pingData.gppString, e.pingData.signalStatus, e.listenerId, ok]);
});
__gpp('getSection', function (d, ok) { gppLog.push(['getSection', d, ok]); }, 'usca');
window.gppAnsweredAtStart = gppLog.length + gppEvents.length;
</script>`;

/* What the reference library decodes from a string, for one section. */
function reference(gppString, section) {
    const m = new GppModel(gppString);
    return { section: m.getSection(section), object: m.toObject(), ids: m.getSectionIds() };
}

describe('California (usca)', () => {
    it('queues early calls, answers ping, getSection, getField as the reference decodes, fires events on a choice', async () => {
        await suite.withVisitor({ xff: CA }, async (v) => {
            const { page } = v;
            const requested = [];
            page.on('request', (r) => requested.push(new URL(r.url()).pathname));
            await madePages(v);
            const decision = page.waitForResponse((r) => r.url().includes('/consent/v1/banner'));
            await page.goto(made({}, { body: EARLY }));
            const d = await (await decision).json();
            assert.deepEqual(d.gpp_sid, [8]);
            assert.equal(typeof d.gpp, 'string');

            // __gpp existed from consent.js on; the calls were queued, not answered.
            const start = await page.evaluate(() => [window.gppTypeAtStart, window.gppModuleAtStart,
                window.gppAnsweredAtStart]);
            assert.deepEqual(start, ['function', false, 0]);

            // Answered in order once consent-gpp.js loaded.
            await page.waitForFunction(() => window.gppLog.length === 2 && window.gppEvents.length >= 1);
            const log = await page.evaluate(() => window.gppLog);
            assert.deepEqual(log.map((e) => e[0]), ['ping', 'getSection']);
            assert.equal(log[0][1].cmpStatus, 'loaded');
            assert.equal(log[0][1].gppString, d.gpp);
            assert.deepEqual(log[1][1], reference(d.gpp, 'usca').section);
            assert.equal(log[1][2], true);
            const first = await page.evaluate(() => window.gppEvents[0]);
            assert.deepEqual([first[0], first[1], first[5]], ['listenerRegistered', true, true]);
            assert.ok(requested.includes('/consent/consent-gpp.js'), 'the module was loaded');

            // Before the choice: the banner is up, the signals are ready.
            const b = await banner(page);
            const [p1, ok1] = await gpp(page, 'ping');
            assert.equal(ok1, true);
            const ref = reference(d.gpp, 'usca');
            assert.deepEqual(p1, {
                cmpStatus: 'loaded', cmpDisplayStatus: 'visible', signalStatus: 'ready',
                gppVersion: '1.1', cmpId: CMP_ID, supportedAPIs: ['8:usca'], sectionList: [8],
                applicableSections: [8], gppString: d.gpp, parsedSections: ref.object,
            });
            assert.deepEqual(ref.ids, [8]);
            assert.equal(ref.section.SaleOptOut, 2, 'no opt-out yet');
            assert.deepEqual(await gpp(page, 'hasSection', 'usca'), [true, true]);
            assert.deepEqual(await gpp(page, 'hasSection', 'usnat'), [false, true]);
            assert.deepEqual(await gpp(page, 'getSection', 'usca'), [ref.section, true]);
            assert.deepEqual(await gpp(page, 'getField', 'usca.SaleOptOut'), [2, true]);
            assert.deepEqual(await gpp(page, 'getField', 'usca.SensitiveDataProcessing'),
                             [ref.section.SensitiveDataProcessing, true]);
            assert.deepEqual(await gpp(page, 'getField', 'usca.Gpc'), [false, true]);
            // What the page does not have: (null, false), as the reference answers.
            assert.deepEqual(await gpp(page, 'getSection', 'usnat'), [null, false]);
            assert.deepEqual(await gpp(page, 'getField', 'usca.NoSuchField'), [null, false]);
            assert.deepEqual(await gpp(page, 'getField', 'usca'), [null, false]);
            assert.deepEqual(await gpp(page, 'getSection', 'constructor'), [null, false]);
            assert.deepEqual(await gpp(page, 'noSuchCommand'), [null, false]);
            // An answer is a copy: changing it changes nothing.
            await page.evaluate(() => window.__gpp('getSection', (s) => { s.SaleOptOut = 0; }, 'usca'));
            assert.deepEqual(await gpp(page, 'getField', 'usca.SaleOptOut'), [2, true]);

            // A second listener, added while ready: registered, then signalStatus ready.
            await page.evaluate(() => {
                window.gppEvents2 = [];
                window.__gpp('addEventListener', (e) => window.gppEvents2.push([e.eventName, e.data, e.listenerId]));
            });
            const e2 = await page.evaluate(() => window.gppEvents2);
            assert.deepEqual(e2.map((e) => e.slice(0, 2)), [['listenerRegistered', true], ['signalStatus', 'ready']]);
            const id2 = e2[0][2];
            assert.notEqual(id2, first[4], 'listener IDs differ');

            // The choice: Do Not Sell.
            await page.evaluate(() => { window.gppEvents.length = 0; window.gppEvents2.length = 0; });
            await b.getByRole('button', { name: DNS }).click();
            await page.waitForFunction(() => window.gppEvents.some((e) => e[0] === 'signalStatus' && e[1] === 'ready'));
            const events = await page.evaluate(() => window.gppEvents);
            const [r] = (await me(page)).json.receipts;
            const after = r.receipt.gpp;
            assert.equal(typeof after, 'string');
            assert.notEqual(after, d.gpp);
            assert.equal(reference(after, 'usca').section.SaleOptOut, 1, 'the reference reads the opt-out');
            assert.deepEqual(events.map((e) => [e[0], e[1]]), [
                ['signalStatus', 'not ready'],
                ['cmpDisplayStatus', 'hidden'],
                ['sectionChange', 'usca'],
                ['signalStatus', 'ready'],
            ]);
            assert.equal(events[2][2], after, 'sectionChange carries the new string');
            assert.equal(events[3][3], 'ready');

            // After the choice: hidden, the receipt's string and its fields.
            const [p2] = await gpp(page, 'ping');
            assert.equal(p2.cmpDisplayStatus, 'hidden');
            assert.equal(p2.signalStatus, 'ready');
            assert.equal(p2.gppString, after);
            assert.deepEqual(p2.parsedSections, reference(after, 'usca').object);
            assert.deepEqual(await gpp(page, 'getField', 'usca.SaleOptOut'), [1, true]);
            assert.deepEqual(await gpp(page, 'getSection', 'usca'), [reference(after, 'usca').section, true]);

            // The settings panel is a display too; a removed listener hears nothing more.
            const [removed] = await gpp(page, 'removeEventListener', id2);
            assert.equal(removed.eventName, 'listenerRemoved');
            assert.equal(removed.data, true);
            assert.equal((await gpp(page, 'removeEventListener', id2))[0].data, false);
            await page.evaluate(() => { window.gppEvents.length = 0; window.gppEvents2.length = 0; });
            await page.evaluate(() => window.consent.open());
            await page.waitForFunction(() => window.gppEvents.length >= 1);
            assert.deepEqual(await page.evaluate(() => window.gppEvents.map((e) => [e[0], e[1]])),
                             [['cmpDisplayStatus', 'visible']]);
            assert.equal((await gpp(page, 'ping'))[0].cmpDisplayStatus, 'visible');
            await page.locator('dialog.cc-p').getByRole('button', { name: 'Accept all' }).click();
            await page.waitForFunction(() => window.gppEvents.some((e) => e[0] === 'signalStatus' && e[1] === 'ready'));
            const accepted = (await me(page)).json.receipts[0].receipt.gpp;
            assert.deepEqual(await page.evaluate(() => window.gppEvents.map((e) => [e[0], e[1]])), [
                ['cmpDisplayStatus', 'visible'],
                ['signalStatus', 'not ready'],
                ['cmpDisplayStatus', 'hidden'],
                ['sectionChange', 'usca'],
                ['signalStatus', 'ready'],
            ]);
            assert.equal(reference(accepted, 'usca').section.SaleOptOut, 2);
            assert.deepEqual(await page.evaluate(() => window.gppEvents2), [], 'the removed listener');

            // A returning visitor: answered from what the browser kept, no request.
            v.reset();
            requested.length = 0;
            await page.goto(DEMO);
            await page.waitForFunction(() => !!document.querySelector('script[src*="consent-gpp.js"]'));
            const [p3] = await gpp(page, 'ping');
            assert.equal(p3.gppString, accepted);
            assert.equal(p3.cmpDisplayStatus, 'hidden');
            assert.equal(p3.signalStatus, 'ready');
            assert.deepEqual(v.bannerRequests(), [], 'no decision asked for');
            assert.deepEqual((await stored(page)).G.gppString, accepted);
            assert.deepEqual(v.errors, []);
        });
    });
});

describe('California, calls from an iframe (postMessage)', () => {
    it('__gppLocator marks the window; __gppCall messages, objects or JSON strings, are answered to their frame', async () => {
        await suite.withVisitor({ xff: CA }, async (v) => {
            const { page } = v;
            await madePages(v);
            const decision = page.waitForResponse((r) => r.url().includes('/consent/v1/banner'));
            await page.goto(made({}, { body: EARLY }));
            const d = await (await decision).json();
            await page.waitForFunction(() => !!window.frames.__gppLocator);
            assert.equal(await page.locator('iframe[name="__gppLocator"]').isHidden(), true);
            // A frame posts to its parent as an ad tag would (the message's
            // source is the frame: the call runs in the frame's own script).
            const answers = await page.evaluate(() => new Promise((resolve) => {
                const f = document.createElement('iframe');
                document.body.append(f);
                const fw = f.contentWindow, got = [];
                fw.addEventListener('message', (e) => {
                    got.push(e.data);
                    if (got.length === 3) resolve(got);
                });
                fw.eval(`
                    parent.postMessage({__gppCall: {command: 'ping', version: '1.1', callId: 'p1'}}, '*');
                    parent.postMessage(JSON.stringify({__gppCall: {command: 'getField', parameter: 'usca.SaleOptOut', callId: 7}}), '*');
                    parent.postMessage({__gppCall: {command: 'getSection', parameter: 'usnat', callId: 'n'}}, '*');
                    parent.postMessage({notGpp: 1}, '*');`);
            }));
            const [ping, field, none] = answers;
            assert.equal(ping.__gppReturn.callId, 'p1');
            assert.equal(ping.__gppReturn.success, true);
            assert.equal(ping.__gppReturn.returnValue.gppString, d.gpp);
            assert.deepEqual(ping.__gppReturn.returnValue.applicableSections, [8]);
            assert.equal(typeof field, 'string', 'a JSON string call is answered with a JSON string');
            assert.deepEqual(JSON.parse(field), { __gppReturn: { returnValue: 2, success: true, callId: 7 } });
            assert.deepEqual(none, { __gppReturn: { returnValue: null, success: false, callId: 'n' } });
            assert.deepEqual(v.errors, []);
        });
    });
});

describe('California, a choice the server refuses', () => {
    for (const [status, code] of [[422, 'category_locked'], [409, 'stale_banner']]) {
        it(`${status}: signals ready again, no sectionChange: the string in force is the one before`, async () => {
            await suite.withVisitor({ xff: CA }, async (v) => {
                const { page } = v;
                await madePages(v);
                let refused = 0;
                await v.context.route('**/consent/v1/consents', (route) => {
                    if (route.request().method() !== 'POST' || refused++)
                        return route.continue();
                    return route.fulfill({ status, contentType: 'application/json',
                        body: JSON.stringify({ error: { code, message: 'refused by the test' } }) });
                });
                const decision = page.waitForResponse((r) => r.url().includes('/consent/v1/banner'));
                await page.goto(made({}, { body: EARLY }));
                const d = await (await decision).json();
                const b = await banner(page);
                await page.waitForFunction(() => window.gppEvents.length >= 1);
                await page.evaluate(() => { window.gppEvents.length = 0; });
                await b.getByRole('button', { name: DNS }).click();
                await page.waitForFunction(() => window.gppEvents.some((e) => e[0] === 'signalStatus' && e[1] === 'ready'));
                const events = await page.evaluate(() => window.gppEvents.map((e) => [e[0], e[1], e[2]]));
                assert.equal(refused, 1);
                if (status === 422) {
                    // Dropped: the string in force is still the decision's.
                    assert.deepEqual(events.map((e) => [e[0], e[1]]), [
                        ['signalStatus', 'not ready'], ['cmpDisplayStatus', 'hidden'], ['signalStatus', 'ready']]);
                    assert.equal((await gpp(page, 'ping'))[0].gppString, d.gpp);
                    assert.deepEqual((await me(page)).status, 404, 'nothing recorded');
                } else {
                    // 409: dropped too; the script asks for the current decision
                    // (the same string) and shows the banner again.
                    assert.deepEqual(events.slice(0, 3).map((e) => [e[0], e[1]]), [
                        ['signalStatus', 'not ready'], ['cmpDisplayStatus', 'hidden'], ['signalStatus', 'ready']]);
                    await banner(page);
                    await page.waitForFunction(() => window.gppEvents.some((e) => e[0] === 'cmpDisplayStatus' && e[1] === 'visible'));
                    const all = await page.evaluate(() => window.gppEvents.map((e) => e[0]));
                    assert.ok(!all.includes('sectionChange'), `no sectionChange: ${all}`);
                    const [p] = await gpp(page, 'ping');
                    assert.deepEqual([p.cmpDisplayStatus, p.signalStatus, p.gppString], ['visible', 'ready', d.gpp]);
                }
                assert.deepEqual(v.errors, []);
            });
        });
    }
});

describe('Germany (no GPP section)', () => {
    it('never loads consent-gpp.js; ping says applicableSections [-1], signals ready', async () => {
        await suite.withVisitor({ xff: DE }, async (v) => {
            const { page } = v;
            const requested = [];
            page.on('request', (r) => requested.push(new URL(r.url()).pathname));
            await madePages(v);
            const decision = page.waitForResponse((r) => r.url().includes('/consent/v1/banner'));
            await page.goto(made({}, { body: EARLY }));
            const d = await (await decision).json();
            assert.equal(d.gpp, null);
            assert.deepEqual(d.gpp_sid, []);
            await banner(page);
            // The early calls are answered once the decision says "no section".
            await page.waitForFunction(() => window.gppLog.length === 2);
            const log = await page.evaluate(() => window.gppLog);
            assert.deepEqual(log.map((e) => [e[0], e[2]]), [['ping', true], ['getSection', false]]);
            assert.equal(log[1][1], null);
            const ev = await page.evaluate(() => window.gppEvents);
            assert.deepEqual(ev.map((e) => [e[0], e[1], e[5]]), [['listenerRegistered', true, true]]);

            const [p, ok] = await gpp(page, 'ping');
            assert.equal(ok, true);
            assert.deepEqual(p, {
                cmpStatus: 'loaded', cmpDisplayStatus: 'disabled', signalStatus: 'ready',
                gppVersion: '1.1', cmpId: CMP_ID, supportedAPIs: [], sectionList: [],
                applicableSections: [-1], gppString: 'DBAA', parsedSections: {},
            });
            assert.deepEqual(new GppModel('DBAA').getSectionIds(), [], 'DBAA is the header without sections');
            assert.deepEqual(await gpp(page, 'hasSection', 'usca'), [false, true]);
            assert.deepEqual(await gpp(page, 'getField', 'usca.SaleOptOut'), [null, false]);
            const [reg] = await gpp(page, 'addEventListener');
            assert.equal(reg.eventName, 'listenerRegistered');
            assert.ok(reg.listenerId > ev[0][4], 'a new listener ID');
            const [rem] = await gpp(page, 'removeEventListener', reg.listenerId);
            assert.deepEqual([rem.eventName, rem.data], ['listenerRemoved', true]);
            assert.equal((await gpp(page, 'removeEventListener', 999))[0].data, false);

            // Still no module after a choice.
            await page.locator('.cc-b').getByRole('button', { name: 'Reject all' }).click();
            await page.waitForFunction(() => {
                const s = JSON.parse(localStorage.getItem('consent:demo'));
                return s && s.c && !(s.q && s.q.length);
            });
            assert.equal((await gpp(page, 'ping'))[0].applicableSections[0], -1);
            assert.ok(!requested.some((u) => u.endsWith('consent-gpp.js')), 'consent-gpp.js never requested');
            assert.equal(await page.locator('script[src*="consent-gpp.js"]').count(), 0);
            assert.deepEqual(v.errors, []);
        });
    });
});
