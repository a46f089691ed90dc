'use strict';
/*
 * analytics.test.js - consent analytics through a real nginx -> consentd ->
 * redis-server stack: a known mix of visitors (regions, GPC, actions,
 * devices, languages, a bot, a preview, a returning visitor, the settings
 * panel, a withdrawal) and every count and rate GET /consent/v1/admin/stats
 * answers, grouped every way, as JSON and CSV; the Prometheus totals; the
 * stats role; bad input (400/404, and nothing counted); nothing identifying
 * in any analytics key (a scan of Redis); counts flushed at shutdown
 * (read back with `consentctl stats`); counts kept while Redis is down and
 * flushed when it is back; experiments (variants by bucket, the variant in
 * the signed receipt, results per variant).
 *
 *   CONSENTD=build/asan/consentd CONSENTCTL=build/asan/consentctl \
 *     node --test tests/integration/analytics.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const { ROOT, poll, startStack } = require('./lib/stack');
const { withStack } = require('./lib/suite');
const { withRedis, allKeys, isAnalyticsKey } = require('./lib/redis');
const V = require('./lib/visitor');

const { ADMIN, assertError } = V;
const STATS = `${ADMIN}/stats`;
const DAY = 86400;
const RETENTION_DAYS = 400;             // the default stats.retention_days
const CONSENTCTL = process.env.CONSENTCTL
    ? path.resolve(process.cwd(), process.env.CONSENTCTL)
    : path.join(ROOT, 'build', 'asan', 'consentctl');

const newToken = () => `cst_${crypto.randomBytes(32).toString('base64url')}`;
const TOKENS = {
    analyst: { token: newToken(), roles: ['stats'] },
    reader: { token: newToken(), roles: ['read', 'audit'] },
};
const auth = (name) => [['Authorization', `Bearer ${TOKENS[name].token}`]];

/* Noon (UTC) of the real day, so that consentd's test clock and
 * consentctl's real clock agree on "today". */
const NOW = Math.floor(Date.now() / 1000 / DAY) * DAY + DAY / 2;
const dayText = (secs) => new Date(secs * 1000).toISOString().slice(0, 10);
const TODAY = dayText(NOW);

const MOBILE_UA = 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Mobile Safari/537.36';
const BOT_UA = 'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)';
const GPC = [['Sec-GPC', '1']];
const allOn = { necessary: true, functional: true, analytics: true, advertising: true };
const noAds = { necessary: true, functional: true, analytics: true, advertising: false };

/* Each visitor its own address: nginx rate-limits per address. */
const de = () => V.address('DE');
const ca = () => V.address('CA');

/* The 95% Wilson interval, written again here from the formula. */
function wilson(x, total) {
    const z = 1.959963984540054;
    const p = x / total;
    const d = 1 + z * z / total;
    const centre = (p + z * z / (2 * total)) / d;
    const half = (z / d) * Math.sqrt(p * (1 - p) / total + z * z / (4 * total * total));
    return { rate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}

function assertRate(actual, x, total, what) {
    if (total === 0) {
        assert.equal(actual, null, `${what}: no rate without trials`);
        return;
    }
    const w = wilson(x, total);
    for (const k of ['rate', 'low', 'high'])
        assert.ok(Math.abs(actual[k] - w[k]) < 1e-9, `${what}.${k}: ${actual[k]} vs ${w[k]}`);
}

/* A row as the API gives it, from its counts. */
function assertRow(row, want, what) {
    const answers = { accept_all: 0, reject_all: 0, custom: 0, withdraw: 0, gpc: 0, ...want.answers };
    const answered = answers.accept_all + answers.reject_all + answers.custom + answers.withdraw;
    const shown = want.shown || 0;
    assert.equal(row.shown, shown, `${what}: shown`);
    assert.equal(row.shown_gpc, want.shown_gpc || 0, `${what}: shown_gpc`);
    assert.equal(row.settings, want.settings || 0, `${what}: settings`);
    assert.deepEqual(row.answers, answers, `${what}: answers`);
    assert.equal(row.answered, answered, `${what}: answered`);
    assert.equal(row.ignored, Math.max(0, shown - answered), `${what}: ignored`);
    assert.equal(row.opted_out, want.opted_out || 0, `${what}: opted_out`);
    assertRate(row.answer_rate, Math.min(answered, shown), shown, `${what}: answer_rate`);
    assertRate(row.accept_rate, answers.accept_all, answered, `${what}: accept_rate`);
}

/* Support calls come from private addresses (the snippet allows only
 * those), each its own: nginx rate-limits the support API per address. */
let k = 0;
const office = () => { k++; return `10.13.${k >> 8}.${(k & 255) || 1}`; };

function stats(stack, query, { token = 'analyst', headers = [] } = {}) {
    return stack.request({ path: `${STATS}?${query}`, xff: office(),
                           headers: [...auth(token), ...headers] });
}

function consentctl(args, configPath) {
    const r = spawnSync(CONSENTCTL, ['-c', configPath, ...args], {
        cwd: ROOT, encoding: 'utf8', timeout: 20000,
        env: { PATH: process.env.PATH, HOME: process.env.HOME || '/' },
    });
    assert.equal(r.error, undefined, String(r.error));
    assert.doesNotMatch(r.stderr, /AddressSanitizer|runtime error:/);
    return r;
}

/*
 * The mix: what every visitor does, and what it must count. DE is GDPR
 * (opt-in), US-CA is CCPA (opt-out, GPC binding). Returns what was sent that
 * must never be found in an analytics key.
 */
async function driveMix(stack) {
    const secrets = [];
    const seen = (v) => { secrets.push(v.xff, v.id, v.cookie && v.cookie.split('=')[1]); };

    // DE: accept, reject, custom, ignored, accept on a phone, reject in German
    const v1 = await V.newVisitor(stack, { xff: de() });
    await V.record(v1, 'accept_all');
    const v2 = await V.newVisitor(stack, { xff: de() });
    await V.record(v2, 'reject_all');
    const v3 = await V.newVisitor(stack, { xff: de() });
    await V.record(v3, 'custom', noAds);
    const v4 = await V.newVisitor(stack, { xff: de() });
    const v5 = await V.newVisitor(stack, { xff: de(), ua: MOBILE_UA });
    await V.record(v5, 'accept_all');
    const v6 = await V.newVisitor(stack, { xff: de(), headers: [['Accept-Language', 'de']] });
    assert.equal(v6.banner.language, 'de');
    await V.record(v6, 'reject_all', undefined, { headers: [['Accept-Language', 'de']] });
    // v1 returns: no prompt, not shown; opens the settings; then withdraws
    const back = await V.banner(v1);
    assert.equal(back.json.prompt, false);
    const settings = await V.banner(v1, { query: '&settings=1' });
    assert.equal(settings.json.prompt, true);
    const w = await V.withdraw(stack, v1.cookie, v1.xff);
    assert.equal(w.status, 201, w.body);

    // US-CA: GPC recorded automatically; a hand-made opt-out without GPC
    const c1 = await V.newVisitor(stack, { xff: ca(), headers: GPC });
    assert.equal(c1.banner.jurisdiction.region, 'US-CA');
    assert.equal(c1.banner.prompt, true);
    await V.record(c1, 'gpc', undefined, { headers: GPC });
    const c2 = await V.newVisitor(stack, { xff: ca() });
    await V.record(c2, 'custom', noAds);

    // not counted: a bot, a preview
    const bot = await V.bannerRequest(stack, { xff: de(), ua: BOT_UA });
    assert.equal(bot.status, 200);
    const preview = await V.bannerRequest(stack, { xff: de(), query: '&preview=US-CA' });
    assert.equal(preview.status, 200);
    assert.equal(preview.json.prompt, true);

    for (const v of [v1, v2, v3, v4, v5, v6, c1, c2])
        seen(v);
    secrets.push(V.UA, MOBILE_UA, BOT_UA);
    return secrets.filter(Boolean);
}

/* The counts the mix gives, by region. */
const WANT = {
    DE: { shown: 6, settings: 1, opted_out: 4,
          answers: { accept_all: 2, reject_all: 2, custom: 1, withdraw: 1 } },
    'US-CA': { shown: 2, shown_gpc: 1, opted_out: 1, answers: { custom: 1, gpc: 1 } },
};
const TOTAL = { shown: 8, shown_gpc: 1, settings: 1, opted_out: 5,
                answers: { accept_all: 2, reject_all: 2, custom: 2, withdraw: 1, gpc: 1 } };
/* Per category, over the answers by hand (GPC's automatic one left out). */
const CATEGORIES = { functional: { on: 4, off: 3 }, analytics: { on: 4, off: 3 },
                     advertising: { on: 2, off: 5 } };

describe('analytics', () => {
    let stack;
    let secrets;
    let report;

    withStack({
        now: NOW,
        configure: (cfg) => {
            cfg.stats = { flush_ms: 200 };
            cfg.admin = {
                tokens: Object.entries(TOKENS).map(([name, t]) => ({
                    name, roles: t.roles, sha256: V.sha256(t.token),
                })),
            };
        },
    }, (s) => { stack = s; });
    before(async () => {
        secrets = await driveMix(stack);
        // The counts reach Redis with the next flush (every 200 ms here).
        report = await poll(async () => {
            const res = await stats(stack, 'site=demo&by=region');
            assert.equal(res.status, 200, res.body);
            const t = res.json.total;
            return t.shown === TOTAL.shown && t.answers.withdraw === 1 && t.answers.gpc === 1 &&
                   t.categories.advertising && t.categories.advertising.off === 5 ? res.json : false;
        }, { timeoutMs: 15000, what: 'the mix counted' });
    });

    it('counts every event of the mix by region, with answer and accept rates', () => {
        assert.equal(report.site, 'demo');
        assert.equal(report.by, 'region');
        assert.equal(report.to, TODAY);
        assert.equal(report.from, dayText(NOW - 29 * DAY), 'the last 30 days by default');
        assert.equal(report.retention_days, RETENTION_DAYS);
        assert.deepEqual(report.rows.map((r) => r.key), ['DE', 'US-CA']);
        assertRow(report.rows[0], WANT.DE, 'DE');
        assertRow(report.rows[1], WANT['US-CA'], 'US-CA');
        assertRow(report.total, TOTAL, 'total');
        assert.equal(report.total.key, 'total');
        for (const [id, c] of Object.entries(CATEGORIES)) {
            assert.equal(report.total.categories[id].on, c.on, `${id} on`);
            assert.equal(report.total.categories[id].off, c.off, `${id} off`);
            assertRate(report.total.categories[id].on_rate, c.on, c.on + c.off, `${id} on_rate`);
        }
        assert.deepEqual(Object.keys(report.total.categories).sort(),
                         ['advertising', 'analytics', 'functional'], 'necessary is never counted');
    });

    it('groups by day (every day of the range), regime, version, variant, device and language', async () => {
        const get = async (by, query = '') => {
            const res = await stats(stack, `site=demo&by=${by}${query}`);
            assert.equal(res.status, 200, res.body);
            assertRow(res.json.total, TOTAL, `${by}: total`);
            return Object.fromEntries(res.json.rows.map((r) => [r.key, r]));
        };
        const days = await get('day', `&from=${dayText(NOW - 2 * DAY)}&to=${TODAY}`);
        assert.deepEqual(Object.keys(days), [dayText(NOW - 2 * DAY), dayText(NOW - DAY), TODAY]);
        assertRow(days[dayText(NOW - DAY)], {}, 'an empty day');
        assertRow(days[TODAY], TOTAL, 'today');

        const regimes = await get('regime');
        assert.deepEqual(Object.keys(regimes).sort(), ['ccpa', 'gdpr']);
        assertRow(regimes.gdpr, WANT.DE, 'gdpr');
        assertRow(regimes.ccpa, WANT['US-CA'], 'ccpa');

        const versions = await get('version');
        assert.deepEqual(Object.keys(versions), [stack.config.sites[0].banner_version]);
        const variants = await get('variant');
        assert.deepEqual(Object.keys(variants), ['-'], 'no experiments: no variant');

        const devices = await get('device');
        assert.deepEqual(Object.keys(devices), ['desktop', 'mobile']);
        assertRow(devices.mobile, { shown: 1, answers: { accept_all: 1 } }, 'mobile');

        const langs = await get('language');
        assert.deepEqual(Object.keys(langs), ['de', 'en']);
        assertRow(langs.de, { shown: 1, opted_out: 1, answers: { reject_all: 1 } }, 'de');
    });

    it('by=category gives each category\'s on/off and opt-in rate', async () => {
        const res = await stats(stack, 'site=demo&by=category');
        assert.equal(res.status, 200, res.body);
        assert.deepEqual(res.json.rows.map((r) => r.key), ['advertising', 'analytics', 'functional']);
        for (const r of res.json.rows) {
            const c = CATEGORIES[r.key];
            assert.equal(r.on, c.on);
            assert.equal(r.off, c.off);
            assertRate(r.on_rate, c.on, c.on + c.off, `${r.key} on_rate`);
        }
    });

    it('answers CSV with Accept: text/csv, the same numbers', async () => {
        const res = await stats(stack, 'site=demo&by=region', { headers: [['Accept', 'text/csv']] });
        assert.equal(res.status, 200, res.body);
        assert.match(res.headers['content-type'], /^text\/csv/);
        const lines = res.body.trim().split('\r\n').map((l) => l.split(','));
        const head = lines[0];
        assert.deepEqual(head.slice(0, 6), ['region', 'shown', 'shown_gpc', 'settings', 'answered', 'ignored']);
        const rows = Object.fromEntries(lines.slice(1).map((l) => [l[0], Object.fromEntries(head.map((h, i) => [h, l[i]]))]));
        assert.deepEqual(Object.keys(rows), ['DE', 'US-CA', 'total']);
        assert.equal(Number(rows.total.shown), 8);
        assert.equal(Number(rows.total.answered), 7);
        assert.equal(Number(rows.total.gpc), 1);
        assert.equal(Number(rows['US-CA'].shown_gpc), 1);
        assert.ok(Math.abs(Number(rows.total.answer_rate) - 7 / 8) < 1e-6);
        assert.ok(Math.abs(Number(rows.total.accept_rate_low) - wilson(2, 7).low) < 1e-6);

        const cats = await stats(stack, 'site=demo&by=category', { headers: [['Accept', 'text/csv']] });
        assert.equal(cats.body.split('\r\n')[0], 'category,on,off,on_rate,on_rate_low,on_rate_high');
        assert.match(cats.body, /\r\nadvertising,2,5,0\.285714,/);
    });

    it('gives the totals in the Prometheus metrics', async () => {
        const res = await stack.request({ path: '/consent/v1/metrics' });
        const metric = (name) => {
            const m = res.body.match(new RegExp(`^${name.replace(/[{}"]/g, '\\$&')} (\\d+)$`, 'm'));
            return m ? Number(m[1]) : null;
        };
        assert.equal(metric('consent_banners_shown_total'), 8);
        assert.equal(metric('consent_settings_opened_total'), 1);
        assert.equal(metric('consent_answers_total{action="accept_all"}'), 2);
        assert.equal(metric('consent_answers_total{action="reject_all"}'), 2);
        assert.equal(metric('consent_answers_total{action="custom"}'), 2);
        assert.equal(metric('consent_answers_total{action="withdraw"}'), 1);
        assert.equal(metric('consent_answers_total{action="gpc"}'), 1);
        assert.ok(metric('consent_stats_bots_total') >= 1, 'the bot was left out');
        assert.equal(metric('consent_stats_dropped_total'), 0);
    });

    it('keeps nothing identifying: only site, day, shard, dimensions and counts', async () => {
        await withRedis(stack, async (r) => {
            const keys = (await allKeys(r)).filter(isAnalyticsKey);
            assert.ok(keys.length > 0);
            const regions = new Set(['DE', 'US-CA']);
            for (const key of keys) {
                assert.match(key, new RegExp(`^a:\\{demo:${TODAY}:[0-7]\\}$`));
                const ttl = await r.cmd('TTL', key);
                assert.ok(Math.abs(ttl - RETENTION_DAYS * DAY) < 120, `${key} TTL ${ttl}`);
                const flat = await r.cmd('HGETALL', key);
                for (let i = 0; i < flat.length; i += 2) {
                    const field = flat[i].toString();
                    assert.match(flat[i + 1].toString(), /^\d+$/, 'values are counts');
                    const parts = field.split('|');
                    assert.equal(parts.length, 7, field);
                    const [region, regime, version, variant, device, lang, event] = parts;
                    assert.ok(regions.has(region), field);
                    assert.ok(['gdpr', 'ccpa'].includes(regime), field);
                    assert.equal(version, stack.config.sites[0].banner_version);
                    assert.equal(variant, '-');
                    assert.ok(['desktop', 'mobile'].includes(device), field);
                    assert.ok(['en', 'de'].includes(lang), field);
                    assert.match(event, /^(shown|shown_gpc|settings|opted_out|a:(accept_all|reject_all|custom|withdraw|gpc)|(on|off):(functional|analytics|advertising))$/, field);
                    for (const s of secrets)
                        assert.ok(!field.includes(s), `${field} holds ${s}`);
                }
            }
        });
    });

    it('a stats token reads stats and nothing else; a read token cannot read stats', async () => {
        assertError(await stats(stack, 'site=demo', { token: 'reader' }), 403, 'forbidden');
        const noToken = await stack.request({ path: `${STATS}?site=demo`, xff: office() });
        assertError(noToken, 401, 'unauthorized');
        assertError(await stack.request({ path: `${ADMIN}/consents/${'A'.repeat(22)}`, xff: office(),
                                          headers: auth('analyst') }),
                    403, 'forbidden');
        assertError(await stack.request({ path: `${ADMIN}/audit`, xff: office(), headers: auth('analyst') }), 403, 'forbidden');
        const audit = await stack.request({ path: `${ADMIN}/audit?count=20`, xff: office(), headers: auth('reader') });
        assert.ok(audit.json.entries.some((e) => e.action === 'stats' && e.who === 'analyst' && e.status === '200'),
                  'stats reads are audited');
    });

    it('refuses bad input with a JSON error, and bad requests count nothing', async () => {
        const bad = async (query, status, code) => assertError(await stats(stack, query), status, code);
        await bad('', 400, 'missing_parameter');
        await bad('site=Demo!', 400, 'invalid_parameter');
        await bad('site=nosuch', 404, 'unknown_site');
        await bad('site=demo&by=week', 400, 'invalid_parameter');
        await bad('site=demo&from=2026-13-01', 400, 'invalid_parameter');
        await bad('site=demo&from=2026-02-30', 400, 'invalid_parameter');
        await bad(`site=demo&to=${TODAY}x`, 400, 'invalid_parameter');
        await bad(`site=demo&from=${TODAY}&to=${dayText(NOW - DAY)}`, 400, 'invalid_range');
        await bad(`site=demo&to=${dayText(NOW + DAY)}`, 400, 'invalid_range');
        const over = await stats(stack, `site=demo&from=${dayText(NOW - RETENTION_DAYS * DAY)}`);
        assertError(over, 400, 'range_over_retention', { retention_days: RETENTION_DAYS });
        const oldest = await stats(stack, `site=demo&from=${dayText(NOW - (RETENTION_DAYS - 1) * DAY)}&by=version`);
        assert.equal(oldest.status, 200, 'the oldest day kept is in range');

        // Requests that fail count nothing: bad site, malformed write, stale banner.
        const before = (await stats(stack, 'site=demo&by=region')).json.total;
        assertRow(before, TOTAL, 'the mix, nothing more');
        const x = de();
        assert.equal((await V.bannerRequest(stack, { xff: x, site: 'nosuch' })).status, 404);
        const v = await V.newVisitor(stack, { xff: de() });    // +1 shown: the marker
        assertError(await V.post(stack, '{"site":', { xff: v.xff }), 400, 'invalid_json');
        const stale = await V.post(stack, V.recordBody({ ...v.banner, banner_version: 'old' }, 'accept_all'),
                                   { xff: v.xff });
        assert.equal(stale.status, 409);
        await poll(async () => (await stats(stack, 'site=demo&by=region')).json.total.shown === before.shown + 1,
                   { timeoutMs: 15000, what: 'the marker counted' });
        const after = (await stats(stack, 'site=demo&by=region')).json.total;
        assert.deepEqual({ ...after, shown: after.shown - 1, answer_rate: null, ignored: null },
                         { ...before, answer_rate: null, ignored: null }, 'only the marker was counted');
    });
});

describe('analytics at shutdown', () => {
    it('flushes the counts when consentd stops; consentctl stats reads them', async () => {
        const stack = await startStack({
            now: NOW,
            configure: (cfg) => {
                cfg.stats = { flush_ms: 60000 };    // only the shutdown flush
            },
        });
        try {
            const v = await V.newVisitor(stack, { xff: de() });
            await V.record(v, 'reject_all');
            await V.newVisitor(stack, { xff: ca(), headers: GPC });
            stack.signalConsentd('SIGTERM');
            await poll(() => !stack.consentdRunning(), { timeoutMs: 15000, what: 'consentd stopped' });

            const table = consentctl(['stats', 'demo', '--by', 'region'], stack.configPath);
            assert.equal(table.status, 0, table.stderr);
            assert.match(table.stdout, new RegExp(`^demo, ${dayText(NOW - 29 * DAY)} to ${TODAY} \\(UTC\\), by region$`, 'm'));
            assert.match(table.stdout, /^DE\s+1\s+1\s+0\s+0\s+1\s+0\s+0\s+0\s+0\s+1\.000 \[/m);
            assert.match(table.stdout, /^US-CA\s+1\s+0\s+1\s/m);
            assert.match(table.stdout, /^total\s+2\s+1\s+1\s/m);

            const json = consentctl(['--json', 'stats', 'demo', '--by', 'region'], stack.configPath);
            assert.equal(json.status, 0, json.stderr);
            const r = JSON.parse(json.stdout);
            assertRow(r.total, { shown: 2, shown_gpc: 1, opted_out: 1, answers: { reject_all: 1 } }, 'after restart');

            const csv = consentctl(['stats', 'demo', '--by', 'category', '--csv'], stack.configPath);
            assert.equal(csv.status, 0, csv.stderr);
            assert.match(csv.stdout, /^category,on,off,on_rate,on_rate_low,on_rate_high\r\nadvertising,0,1,0\.000000,/);

            const unknown = consentctl(['stats', 'nosuch'], stack.configPath);
            assert.equal(unknown.status, 1);
            const badBy = consentctl(['stats', 'demo', '--by', 'week'], stack.configPath);
            assert.equal(badBy.status, 2);
            const over = consentctl(['stats', 'demo', '--from', '2000-01-01'], stack.configPath);
            assert.equal(over.status, 2);
            assert.match(over.stderr, /older than the counts are kept/);
        } finally {
            await stack.stop();
        }
    });
});

describe('experiments', () => {
    let stack;
    const VARIANTS = [
        { id: 'a-control', weight: 1 },
        { id: 'b-short', weight: 1, layout: 'box-center',
          languages: { en: { 'opt-in': { title: 'Cookies?' } } } },
    ];
    const bucket = (b) => `&bucket=${b}`;

    withStack({
        now: NOW,
        configure: (cfg) => {
            cfg.stats = { flush_ms: 200 };
            cfg.admin = { tokens: [{ name: 'analyst', roles: ['stats'],
                                     sha256: V.sha256(TOKENS.analyst.token) }] };
            cfg.sites.find((s) => s.id === 'demo').variants = VARIANTS;
        },
    }, (s) => { stack = s; });

    /* A new visitor in bucket b (what the script keeps in its storage). */
    async function visitor(b, opts = {}) {
        const v = await V.newVisitor(stack, { xff: de(), ...opts });
        const res = await V.banner(v, { query: bucket(b) });
        assert.equal(res.status, 200, res.body);
        v.banner = res.json;
        return v;
    }

    it('the bucket picks the variant by weight: its texts, hash and layout', async () => {
        const plain = await V.newVisitor(stack, { xff: de() });
        assert.equal(plain.banner.variant, undefined, 'no bucket: the site\'s own banner');
        const a = await visitor(49);
        const b = await visitor(50);
        assert.equal(a.banner.variant, 'a-control');
        assert.equal(a.banner.layout, undefined);
        assert.equal(a.banner.texts_sha256, plain.banner.texts_sha256, 'the control says nothing of its own');
        assert.equal(b.banner.variant, 'b-short');
        assert.equal(b.banner.layout, 'box-center');
        assert.equal(b.banner.texts.title, 'Cookies?');
        assert.equal(b.banner.texts.reject_all, plain.banner.texts.reject_all);
        assert.equal(b.banner.texts_sha256, V.sha256(JSON.stringify(b.banner.texts)));
        assert.notEqual(b.banner.texts_sha256, a.banner.texts_sha256);
        for (const bad of ['100', '-1', 'x', '', '5.5'])
            assertError(await V.banner(plain, { query: `&bucket=${bad}` }), 400, 'invalid_parameter');
    });

    it('records the variant shown in the signed receipt, and refuses texts of another variant', async () => {
        const b = await visitor(80);
        const body = (variant) => V.recordBody(b.banner, 'accept_all', undefined, { variant });
        const current = { current_version: b.banner.banner_version };
        assertError(await V.post(stack, body('a-control'), { xff: b.xff }), 409, 'stale_banner', current);
        assertError(await V.post(stack, body('c-gone'), { xff: b.xff }), 409, 'stale_banner', current);
        assertError(await V.post(stack, body(7), { xff: b.xff }), 400, 'invalid_field', { field: 'variant' });
        const res = await V.post(stack, body('b-short'), { xff: b.xff });
        assert.equal(res.status, 201, res.body);
        assert.equal(res.json.receipt.banner.variant, 'b-short');
        assert.equal(res.json.receipt.banner.texts_sha256, b.banner.texts_sha256);
        const payload = res.json.jws.split('.')[1];
        assert.equal(JSON.parse(Buffer.from(payload, 'base64url')).banner.variant, 'b-short', 'signed');
        const c = V.setCookie(res);
        const mine = await V.me(stack, `${c.name}=${c.value}`, b.xff);
        assert.equal(mine.status, 200, mine.body);
        assert.equal(mine.json.all_valid, true, 'the receipt with its variant verifies');
    });

    it('counts per variant and compares the variants with the first one', async () => {
        // with the visitors above (one shown each, b-short one accept):
        // a-control: 5 shown, 1 accept, 2 reject; b-short: 5 shown, 3 accept
        for (const [b, action] of [[0, 'accept_all'], [1, 'reject_all'], [2, 'reject_all'], [3, null],
                                   [60, 'accept_all'], [61, 'accept_all'], [62, null]]) {
            const v = await visitor(b);
            if (action !== null) {
                const res = await V.post(stack, V.recordBody(v.banner, action, undefined,
                                                              { variant: v.banner.variant }), { xff: v.xff });
                assert.equal(res.status, 201, res.body);
            }
        }
        const report = await poll(async () => {
            const res = await stats(stack, 'site=demo&by=variant');
            const rows = Object.fromEntries(res.json.rows.map((r) => [r.key, r]));
            // each worker flushes its own counts: wait for every count asserted below
            return rows['a-control'] && rows['a-control'].shown === 5 &&
                   rows['a-control'].answers.reject_all === 2 && rows['b-short'] &&
                   rows['b-short'].shown === 5 && rows['b-short'].answers.accept_all === 3 ? res.json : false;
        }, { timeoutMs: 15000, what: 'the experiment counted' });
        const rows = Object.fromEntries(report.rows.map((r) => [r.key, r]));
        // first banners without a bucket show the site's own texts: variant "-"
        assert.deepEqual(Object.keys(rows), ['-', 'a-control', 'b-short']);
        assertRow(rows['a-control'], { shown: 5, opted_out: 2, answers: { accept_all: 1, reject_all: 2 } }, 'a-control');
        assertRow(rows['b-short'], { shown: 5, answers: { accept_all: 3 } }, 'b-short');
        assert.equal(report.experiment.baseline, 'a-control');
        assert.equal(report.experiment.alpha, 0.05);
        assert.equal(report.experiment.variants.length, 1, 'the baseline and "-" are not compared');
        const [b] = report.experiment.variants;
        assert.equal(b.key, 'b-short');
        assert.ok(Math.abs(b.accept_rate.difference - (1 - 1 / 3)) < 1e-9);
        assert.ok(b.accept_rate.p > 0 && b.accept_rate.p < 1);
        assert.equal(b.accept_rate.significant, b.accept_rate.p < 0.05);
        assert.equal(typeof b.answer_rate.p, 'number');
    });
});

describe('analytics while Redis is down', () => {
    it('keeps the counts in memory, answers 503, and flushes them once Redis is back', async () => {
        const stack = await startStack({
            now: NOW,
            configure: (cfg) => {
                cfg.stats = { flush_ms: 200 };
                cfg.admin = { tokens: [{ name: 'analyst', roles: ['stats'],
                                         sha256: V.sha256(TOKENS.analyst.token) }] };
            },
        });
        const failures = async () => {
            const res = await stack.request({ path: '/consent/v1/metrics' });
            const m = res.body.match(/^consent_stats_flush_failures_total (\d+)$/m);
            return m ? Number(m[1]) : -1;
        };
        try {
            await stack.stopRedis();
            // A first-time decision needs no Redis: it answers, and is counted.
            const v = await V.newVisitor(stack, { xff: de() });
            assert.equal(v.banner.prompt, true);
            await poll(async () => (await failures()) >= 1, { timeoutMs: 15000, what: 'a failed flush' });
            const down = await stats(stack, 'site=demo');
            assertError(down, 503, 'store_unavailable');
            await stack.startRedis();
            const report = await poll(async () => {
                const res = await stats(stack, 'site=demo&by=region');
                return res.status === 200 && res.json.total.shown === 1 ? res.json : false;
            }, { timeoutMs: 15000, what: 'the kept count flushed' });
            assertRow(report.total, { shown: 1 }, 'after Redis came back');
        } finally {
            await stack.stop();
        }
    });
});
