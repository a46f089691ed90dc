'use strict';
/*
 * experiment.test.js - banner variants in the browser: the script keeps a
 * random bucket (0-99) in localStorage, sends it with the decision request,
 * shows the variant the server picked (its texts and layout), sends the
 * variant back with the answer, and keeps seeing the same variant on later
 * views; "Reject all" looks exactly like "Accept all" in every variant.
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { DE, banner } = require('./lib/browser');
const { browserSuite } = require('./lib/suite');
const { made, madePages } = require('./lib/page');

const suite = browserSuite({
        configure: (cfg) => {
            cfg.sites.find((s) => s.id === 'demo').variants = [
                { id: 'a-control', weight: 1 },
                { id: 'b-short', weight: 1, layout: 'box-center',
                  languages: { en: { 'opt-in': { title: 'Cookies?' } } } },
            ];
        },
    });

/* A visitor whose browser already holds bucket k (null: none yet). */
async function inBucket(k) {
    const v = await suite.visitor({ xff: DE });
    await madePages(v);
    if (k !== null)
        await v.context.addInitScript((b) => {
            if (localStorage.getItem('consent:demo') === null)
                localStorage.setItem('consent:demo', JSON.stringify({ k: b }));
        }, k);
    return v;
}

const bucketOf = (v) => v.bannerRequests().map((r) => new URL(r.url).searchParams.get('bucket'));

/* The look of a button: class, colours, font, size. */
const look = (loc) => loc.evaluate((e) => {
    const s = getComputedStyle(e);
    const r = e.getBoundingClientRect();
    return [e.className, s.backgroundColor, s.color, s.fontSize, s.fontWeight,
            Math.round(r.height)].join('|');
});

describe('banner variants', () => {
    it('bucket 70 sees b-short: its title and layout, and the answer names the variant', async () => {
        const v = await inBucket(70);
        try {
            const { page } = v;
            await page.goto(made());
            const b = await banner(page);
            assert.deepEqual(bucketOf(v), ['70']);
            assert.equal(await b.getByRole('heading').textContent(), 'Cookies?');
            assert.match(await b.getAttribute('class'), /\bcc-box-center\b/);
            const accept = b.getByRole('button', { name: 'Accept all' });
            const reject = b.getByRole('button', { name: 'Reject all' });
            assert.equal(await look(accept), await look(reject), 'Reject all as prominent as Accept all');
            const [req] = await Promise.all([
                page.waitForRequest((r) => r.method() === 'POST' && r.url().includes('/consent/v1/consents')),
                accept.click(),
            ]);
            assert.equal(JSON.parse(req.postData()).variant, 'b-short');
            const res = await req.response();
            assert.equal(res.status(), 201);
            assert.equal((await res.json()).receipt.banner.variant, 'b-short');
        } finally {
            await v.close();
        }
    });

    it('bucket 10 sees a-control: the site\'s own texts and the page\'s layout', async () => {
        const v = await inBucket(10);
        try {
            await v.page.goto(made({ 'data-layout': 'box-left' }));
            const b = await banner(v.page);
            assert.equal(await b.getByRole('heading').textContent(), 'Your privacy choices');
            assert.match(await b.getAttribute('class'), /\bcc-box-left\b/);
            assert.deepEqual(bucketOf(v), ['10']);
        } finally {
            await v.close();
        }
    });

    it('a new browser draws its bucket once and keeps it', async () => {
        const v = await inBucket(null);
        try {
            const { page } = v;
            await page.goto(made());
            await banner(page);
            const [first] = bucketOf(v);
            assert.match(first, /^(\d|[1-9]\d)$/);
            const kept = await page.evaluate(() => JSON.parse(localStorage.getItem('consent:demo')).k);
            assert.equal(String(kept), first);
            v.reset();
            await page.reload();
            await banner(page);
            assert.deepEqual(bucketOf(v), [first], 'the same bucket on the next view');
        } finally {
            await v.close();
        }
    });
});
