'use strict';
/*
 * rtl.test.js - an Arabic-speaking visitor (Accept-Language: ar) in the EU
 * reads the banner and the settings panel right to left: dir and lang on
 * both root elements, computed direction rtl, the buttons laid out from the
 * right, the switch knob of an "on" category on the left. Screenshots go to
 * tests/artifacts/ (banner-ar-rtl.png, panel-ar-rtl.png); axe-core finds no
 * serious or critical violation in either. An English
 * visitor on the same page stays left to right.
 *
 *   CONSENTD=build/asan/consentd node --test tests/browser/rtl.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { DE, DEMO, ROOT, axe, banner, panel, screenshot } = require('./lib/browser');
const { browserSuite } = require('./lib/suite');

const AR = JSON.parse(fs.readFileSync(path.join(ROOT, 'i18n', 'ar.json'), 'utf8'));

const suite = browserSuite();

/* dir and lang attributes, computed direction and text-align of e. */
const layout = (l) => l.evaluate((e) => {
    const s = getComputedStyle(e);
    return { dir: e.dir, lang: e.lang, direction: s.direction, textAlign: s.textAlign };
});

describe('Arabic visitor: right to left', () => {
    let v;
    before(async () => {
        // bypassCSP: axe-core is injected as an inline script (as in a11y.test.js).
        v = await suite.visitor({ xff: DE, bypassCSP: true, headers: { 'Accept-Language': 'ar' } });
    });
    after(async () => {
        assert.deepEqual(v.errors, [], 'no page errors');
        await v.close();
    });

    it('the banner is dir="rtl" lang="ar", in Arabic, its buttons laid out from the right', async () => {
        await v.page.goto(DEMO);
        const b = await banner(v.page);
        assert.deepEqual(await layout(b), { dir: 'rtl', lang: 'ar', direction: 'rtl', textAlign: 'start' });
        assert.equal(await b.locator('h2').textContent(), AR['opt-in'].title);
        const accept = await b.getByRole('button', { name: AR['opt-in'].accept_all, exact: true }).boundingBox();
        const reject = await b.getByRole('button', { name: AR['opt-in'].reject_all, exact: true }).boundingBox();
        // First in the DOM, so rightmost when the row flows right to left.
        assert.ok(accept.x > reject.x, `accept at ${accept.x}, reject at ${reject.x}`);
        // The text starts at the right edge: the title's right side meets the
        // banner's padding, its left side does not reach the left one.
        const box = await b.boundingBox();
        const title = await b.locator('h2').evaluate((e) => {
            const r = document.createRange();
            r.selectNodeContents(e);
            const t = r.getBoundingClientRect();
            return { left: t.left, right: t.right };
        });
        assert.ok(box.x + box.width - title.right < 40, `title ends ${box.x + box.width - title.right}px from the right`);
        assert.ok(title.left - box.x > 40, `title starts ${title.left - box.x}px from the left`);
        console.log('# screenshot: ' + await screenshot(v.page, 'banner-ar-rtl'));
        assert.deepEqual(await axe(v.page, '.cc-b'), [], 'axe-core on the Arabic banner');
    });

    it('the settings panel is right to left too, an "on" switch with its knob on the left', async () => {
        const b = await banner(v.page);
        await b.getByRole('button', { name: AR['opt-in'].settings, exact: true }).click();
        const p = await panel(v.page);
        assert.deepEqual(await layout(p), { dir: 'rtl', lang: 'ar', direction: 'rtl', textAlign: 'start' });
        assert.equal(await p.locator('h2').textContent(), AR.panel.title);
        // The necessary category's switch is on: in RTL "on" is the left end.
        const sw = p.locator('input[role="switch"]').first();
        assert.equal(await sw.isChecked(), true);
        const knob = await sw.evaluate((e) => {
            const s = getComputedStyle(e, '::before');
            return { left: s.left, right: s.right };
        });
        assert.equal(knob.right, '23px', JSON.stringify(knob));
        console.log('# screenshot: ' + await screenshot(v.page, 'panel-ar-rtl'));
        assert.deepEqual(await axe(v.page, 'dialog.cc-p'), [], 'axe-core on the Arabic panel');
    });
});

describe('English visitor: left to right', () => {
    it('the banner is dir="ltr" lang="en"', async () => {
        await suite.withVisitor({ xff: DE, headers: { 'Accept-Language': 'en' } }, async (v) => {
            await v.page.goto(DEMO);
            const b = await banner(v.page);
            assert.deepEqual(await layout(b), { dir: 'ltr', lang: 'en', direction: 'ltr', textAlign: 'start' });
            const accept = await b.getByRole('button', { name: 'Accept all', exact: true }).boundingBox();
            const reject = await b.getByRole('button', { name: 'Reject all', exact: true }).boundingBox();
            assert.ok(accept.x < reject.x);
            assert.deepEqual(v.errors, []);
        });
    });
});
