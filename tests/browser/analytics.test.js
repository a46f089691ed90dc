'use strict';
/*
 * analytics.test.js - the Analytics section of the support page
 * (static/admin/) in headless Chromium against a real stack: visitors
 * answer through the public API, a stats token reads the analytics on the
 * page, and every chart's data (uPlot, served from the page's own folder:
 * counts and rates per day, bars by region, by category and GPC by US
 * state) and every accessible table equal what GET
 * /consent/v1/admin/stats answers;
 * the experiment table shows intervals and p-values; the page keeps its
 * strict CSP (no violation, no console error) and axe-core finds nothing
 * serious. Screenshot: tests/artifacts/analytics.png.
 *
 *   CONSENTD=build/asan/consentd node --test tests/browser/analytics.test.js
 */
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const { poll } = require('../integration/lib/stack');
const V = require('../integration/lib/visitor');
const { ARTIFACTS } = require('./lib/browser');
const { axeDocument, browserSuite, supportPage } = require('./lib/suite');

const PAGE = '/consent/admin/index.html';
const TOKEN = `cst_${crypto.randomBytes(32).toString('base64url')}`;
const OFFICE = '10.20.30.41';

let n = 0;
const de = () => { n++; return `46.4.${200 + (n >> 8)}.${(n & 255) || 1}`; };
const ca = () => { n++; return `12.0.${200 + (n >> 8)}.${(n & 255) || 1}`; };

const pct = (x) => `${(100 * x).toFixed(1)}%`;
const percent = (r) => (r ? `${pct(r.rate)} (${pct(r.low)}–${pct(r.high)})` : '–');

describe('support page: analytics', () => {
    const suite = browserSuite({
        configure: (cfg) => {
            cfg.stats = { flush_ms: 200 };
            cfg.admin = { tokens: [{ name: 'analyst', roles: ['stats'],
                                     sha256: crypto.createHash('sha256').update(TOKEN).digest('hex') }] };
            cfg.sites.find((s) => s.id === 'demo').variants = [
                { id: 'a-control' },
                { id: 'b-short', languages: { en: { 'opt-in': { title: 'Cookies?' } } } },
            ];
        },
    });
    let stack;
    let page;
    let problems;

    before(async () => {
        stack = suite.stack;
        // A few visitors through the public API: DE in both variants, one in California.
        for (const [xff, bucket, action] of [[de(), 10, 'accept_all'], [de(), 20, 'reject_all'],
                                             [de(), 70, 'accept_all'], [de(), 80, null], [ca(), 30, 'custom']]) {
            const res = await V.bannerRequest(stack, { xff, query: `&bucket=${bucket}` });
            assert.equal(res.status, 200, res.body);
            if (action !== null) {
                const choices = action === 'custom'
                    ? { necessary: true, functional: true, analytics: false, advertising: false } : undefined;
                const w = await V.post(stack, V.recordBody(res.json, action, choices, { variant: res.json.variant }),
                                       { xff });
                assert.equal(w.status, 201, w.body);
            }
        }
        await poll(async () => {
            const r = await stack.request({ path: '/consent/v1/admin/stats?site=demo&by=region', xff: OFFICE,
                                            headers: [['Authorization', `Bearer ${TOKEN}`]] });
            return r.status === 200 && r.json.total.shown === 5 && r.json.total.answered === 4;
        }, { timeoutMs: 15000, what: 'the visitors counted' });

        ({ page, problems } = await supportPage(suite, OFFICE));
        page.on('response', (r) => {
            if (r.status() >= 400)
                problems.push(`${r.status()} ${r.url()}`);
        });
        assert.equal((await page.goto(PAGE)).status(), 200);
    });

    async function api(by) {
        const r = await stack.request({ path: `/consent/v1/admin/stats?site=demo&by=${by}`, xff: OFFICE,
                                        headers: [['Authorization', `Bearer ${TOKEN}`]] });
        assert.equal(r.status, 200, r.body);
        return r.json;
    }

    const table = (id) => page.$$eval(`#${id} tbody tr`, (trs) => trs.map((tr) =>
        [...tr.children].map((c) => c.textContent.trim())));

    it('shows the chart and tables with the numbers the API gives', async () => {
        await page.fill('#token', TOKEN);
        await page.click('#stats-go');
        await page.waitForFunction(() => document.getElementById('status').classList.contains('ok'));
        const [days, regions, cats, variants] = await Promise.all(
            ['day', 'region', 'category', 'variant'].map(api));

        // the chart: one point per day of the range, its series from the API
        const data = await page.evaluate(() => window.consentAnalytics.data());
        assert.deepEqual(data, [
            days.rows.map((r) => Date.parse(`${r.key}T00:00:00Z`) / 1000),
            days.rows.map((r) => r.shown),
            days.rows.map((r) => r.answered),
            days.rows.map((r) => r.answers.accept_all),
            days.rows.map((r) => r.answers.reject_all),
        ]);
        assert.equal(await page.locator('#chart-days canvas').count(), 1, 'drawn');
        assert.equal(data[1].reduce((a, b) => a + b, 0), 5);

        // the other charts: rates per day, bars by region, by category, GPC by US state
        const chart = (name) => page.evaluate((nm) => ({ data: window.consentAnalytics.data(nm),
                                                         labels: window.consentAnalytics.labels(nm) }), name);
        const rate = (r) => (r ? r.rate : null);
        const index = (rows) => rows.map((r, i) => i);
        const rates = await chart('rates');
        assert.deepEqual(rates.data, [
            data[0],
            days.rows.map((r) => rate(r.answer_rate)),
            days.rows.map((r) => rate(r.accept_rate)),
            days.rows.map((r) => (r.answered > 0 ? r.answers.reject_all / r.answered : null)),
        ]);
        assert.ok(rates.data[1].some((x) => x > 0), 'some answers on the days');
        const byRegion = await chart('regions');
        assert.deepEqual(byRegion.labels, regions.rows.map((r) => r.key));
        assert.deepEqual(byRegion.labels, ['DE', 'US-CA']);
        assert.deepEqual(byRegion.data, [index(regions.rows), regions.rows.map((r) => rate(r.answer_rate)),
                                         regions.rows.map((r) => rate(r.accept_rate))]);
        const byCategory = await chart('categories');
        assert.deepEqual(byCategory.labels, cats.rows.map((r) => r.key));
        assert.deepEqual(byCategory.data, [index(cats.rows), cats.rows.map((r) => rate(r.on_rate))]);
        const states = regions.rows.filter((r) => r.key.startsWith('US-'));
        const gpc = await chart('gpc');
        assert.deepEqual(gpc.labels, ['US-CA']);
        assert.deepEqual(gpc.data, [index(states), states.map((r) => r.answers.gpc), states.map((r) => r.opted_out)]);
        assert.equal(gpc.data[2][0], 1, 'the Californian custom answer opted out by hand');
        for (const name of ['rates', 'regions', 'categories', 'gpc'])
            assert.equal(await page.locator(`#chart-${name} canvas`).count(), 1, `${name} drawn`);
        assert.equal(await page.isHidden('#fig-gpc'), false);

        const counts = (r) => [String(r.shown), String(r.answered), String(r.answers.accept_all),
                               String(r.answers.reject_all), String(r.answers.custom), String(r.answers.gpc),
                               percent(r.answer_rate), percent(r.accept_rate)];
        assert.deepEqual(await table('t-day'), days.rows.map((r, i) =>
            [r.key, ...counts(r), rates.data[3][i] === null ? '–' : pct(rates.data[3][i])]));
        assert.deepEqual(await table('t-region'), [...regions.rows, regions.total]
            .map((r) => [r.key, ...counts(r), String(r.opted_out)]));
        assert.deepEqual((await table('t-region')).map((r) => r[0]), ['DE', 'US-CA', 'total']);
        assert.deepEqual(await table('t-category'), cats.rows.map((r) =>
            [r.key, String(r.on), String(r.off), percent(r.on_rate)]));
    });

    it('shows the experiment with intervals and the test against the first variant', async () => {
        const variants = await api('variant');
        const rows = await table('t-variant');
        assert.deepEqual(rows.map((r) => r[0]), ['a-control', 'b-short']);
        const [a, b] = ['a-control', 'b-short'].map((k) => variants.rows.find((r) => r.key === k));
        assert.deepEqual(rows[0], ['a-control', String(a.shown), String(a.answered), percent(a.answer_rate),
                                   percent(a.accept_rate), 'baseline', 'baseline']);
        const t = variants.experiment.variants[0];
        assert.equal(rows[1][3], percent(b.answer_rate));
        assert.match(rows[1][3], /^\d+\.\d% \(\d+\.\d%–\d+\.\d%\)$/, 'an interval');
        assert.equal(rows[1][6], `${t.accept_rate.p.toPrecision(3)}${t.accept_rate.significant ? ' (significant)' : ''}`);
    });

    it('keeps its CSP, logs no error, and axe-core finds nothing serious', async () => {
        assert.deepEqual(await page.evaluate(() => window.__csp), []);
        assert.deepEqual(problems, []);
        assert.deepEqual(await axeDocument(page), []);
        fs.mkdirSync(ARTIFACTS, { recursive: true });
        await page.locator('#analytics').screenshot({ path: path.join(ARTIFACTS, 'analytics.png') });
    });

    it('leaves out the bar charts of a range without counts', async () => {
        const yesterday = new Date(Date.now() - 86400e3).toISOString().slice(0, 10);
        await page.fill('#stats-from', yesterday);
        await page.fill('#stats-to', yesterday);
        await page.click('#stats-go');
        await page.waitForFunction((d) => document.getElementById('status').textContent.includes(`${d} to ${d}`),
                                   yesterday);
        assert.deepEqual(await page.evaluate(() => window.consentAnalytics.data()),
                         [[Date.parse(`${yesterday}T00:00:00Z`) / 1000], [0], [0], [0], [0]]);
        assert.deepEqual(await page.evaluate(() => window.consentAnalytics.data('rates')),
                         [[Date.parse(`${yesterday}T00:00:00Z`) / 1000], [null], [null], [null]]);
        for (const name of ['regions', 'categories', 'gpc']) {
            assert.equal(await page.evaluate((nm) => window.consentAnalytics.data(nm), name), null, name);
            assert.equal(await page.isHidden(`#chart-${name}`), true, `${name} left out`);
        }
        assert.deepEqual(await table('t-region'), [['total', '0', '0', '0', '0', '0', '0', '–', '–', '0']]);
        assert.deepEqual(problems, []);
    });

    it('says so when the token lacks the stats role', async () => {
        await page.fill('#token', 'cst_nottherightone');
        await page.click('#stats-go');
        await page.waitForFunction(() => document.getElementById('status').classList.contains('bad'));
        assert.match(await page.textContent('#status'), /token was not accepted/);
        assert.equal(await page.isHidden('#stats-result'), true);
    });
});
