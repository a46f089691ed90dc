'use strict';
/*
 * a11y.test.js - axe-core on each banner kind and the settings panel (light
 * and dark colour schemes): no violation of serious or critical impact.
 * Reduced motion is honoured. axe is injected with page.addScriptTag, so
 * these contexts bypass the demo's CSP (the other tests keep it).
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');
const { CA, DE, DEMO, JP, axe, banner, panel } = require('./lib/browser');
const { browserSuite } = require('./lib/suite');
const { made, madePages } = require('./lib/page');

const suite = browserSuite();

for (const colorScheme of ['light', 'dark']) {
    describe(`axe-core, ${colorScheme} colour scheme`, () => {
        const kinds = [
            ['opt-in (DE)', { xff: DE }],
            ['opt-out with GPC (US-CA)', { xff: CA, gpc: true }],
            ['notice (JP)', { xff: JP }],
            ['preview of US-CA, with its notes', { xff: DE, gpc: true }, '?consent_preview=US-CA'],
        ];
        for (const [kind, opts, query = ''] of kinds) {
            it(`${kind}: banner and settings panel have no serious or critical violations`, async () => {
                await suite.withVisitor({ ...opts, bypassCSP: true }, async (v) => {
                    await v.page.emulateMedia({ colorScheme });
                    await v.page.goto(DEMO + query);
                    await banner(v.page);
                    await v.page.waitForTimeout(100);
                    assert.deepEqual(await axe(v.page, '.cc-b'), [], 'banner');
                    await v.page.evaluate(() => window.consent.open());
                    await panel(v.page);
                    assert.deepEqual(await axe(v.page, 'dialog.cc-p'), [], 'settings panel');
                    if (query) {
                        // The note after a choice made in the preview.
                        await v.page.locator('dialog.cc-p').getByRole('button', { name: 'Reject all' }).click();
                        await v.page.locator('.cc-n').waitFor();
                        assert.deepEqual(await axe(v.page, '.cc-n'), [], 'preview note');
                    }
                });
            });
        }
    });
}

describe('axe-core, themes and layouts (data-theme, data-layout), the saved note and the reopen button', () => {
    for (const theme of ['light', 'dark']) {
        for (const layout of ['bar-bottom', 'bar-top', 'box-left', 'box-right', 'box-center']) {
            it(`${theme} ${layout}: no serious or critical violations`, async () => {
                await suite.withVisitor({ xff: layout === 'box-right' ? CA : DE, bypassCSP: true }, async (v) => {
                    await madePages(v);
                    await v.page.goto(made({ 'data-theme': theme, 'data-layout': layout, 'data-reopen-button': '' }));
                    const b = await banner(v.page);
                    assert.deepEqual(await axe(v.page, '.cc-b'), [], 'banner');
                    if (layout !== 'bar-bottom')
                        return;
                    await b.getByRole('button', { name: 'Reject all' }).click();
                    await v.page.locator('.cc-n:not(:empty)').waitFor();
                    assert.deepEqual(await axe(v.page, '.cc-n'), [], 'saved note');
                    await v.page.locator('button.cc-r').waitFor();
                    assert.deepEqual(await axe(v.page, '.cc-r'), [], 'reopen button');
                });
            });
        }
    }
});

describe('motion', () => {
    it('animates (banner, switches) only without prefers-reduced-motion', async () => {
        for (const [reducedMotion, want, knob] of [['reduce', 'none', '0s'], ['no-preference', 'cc-in', '0.15s']]) {
            await suite.withVisitor({ xff: DE, reducedMotion }, async (v) => {
                await v.page.goto(DEMO);
                const b = await banner(v.page);
                assert.equal(await b.evaluate((e) => getComputedStyle(e).animationName), want, reducedMotion);
                await v.page.evaluate(() => window.consent.open());
                const p = await panel(v.page);
                assert.equal(await p.locator('input').first().evaluate((e) =>
                    getComputedStyle(e, '::before').transitionDuration), knob, reducedMotion + ': switch');
            });
        }
    });
});

describe('equal prominence', () => {
    it('"Accept all" and "Reject all" look the same, on a phone and in German too', async () => {
        const cases = [['en', 375, 'Accept all', 'Reject all'], ['de', 375, 'Alle akzeptieren', 'Alle ablehnen'],
                       ['de', 1000, 'Alle akzeptieren', 'Alle ablehnen'], ['en', 1400, 'Accept all', 'Reject all']];
        for (const [lang, width, accept, reject] of cases) {
            const v = await suite.visitor({
                xff: DE, viewport: { width, height: 800 }, headers: { 'Accept-Language': lang },
            });
            try {
                await v.page.goto(DEMO);
                const b = await banner(v.page);
                const look = (name) => b.getByRole('button', { name, exact: true }).evaluate((e) => {
                    const s = getComputedStyle(e), r = e.getBoundingClientRect();
                    return [e.className, s.backgroundColor, s.color, s.fontSize, s.fontWeight,
                            s.borderWidth, Math.round(r.width), Math.round(r.height)].join('|');
                });
                assert.equal(await look(accept), await look(reject), `${lang} at ${width}px`);
            } finally {
                await v.close();
            }
        }
    });
});
