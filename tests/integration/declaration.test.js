'use strict';
/*
 * declaration.test.js - issue 11: the cookie declaration through the real
 * nginx -> consentd -> redis-server stack. GET /consent/v1/declaration
 * (shape, language, caching: Cache-Control, ETag, 304 on If-None-Match,
 * errors) and the clean-up list the banner decision carries. A bad
 * declaration, refused with its JSON path, is a unit case
 * (tests/test_config.c).
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/declaration.test.js
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { ROOT } = require('./lib/stack');
const { assertError } = require('./lib/visitor');
const { withStack } = require('./lib/suite');

const EXAMPLE = JSON.parse(fs.readFileSync(path.join(ROOT, 'cgi', 'consentd.example.json'), 'utf8'));
const DEMO = EXAMPLE.sites.find((s) => s.id === 'demo');
const URL_DEMO = '/consent/v1/declaration?site=demo';
const LABELS = ['declaration', 'col_name', 'col_provider', 'col_duration', 'col_type', 'col_purpose',
                'session', 'first_party', 'third_party', 'privacy_policy', 'type_cookie',
                'type_local_storage', 'type_pixel'];

/* What the configuration says, in one language, as the answer must carry it. */
function expected(lang) {
    const texts = DEMO.languages[lang];
    return {
        site: 'demo',
        language: lang,
        texts: Object.fromEntries(LABELS.map((k) => [k, texts.panel[k]])),
        categories: DEMO.categories.map((c) => {
            const d = DEMO.declaration[c.id] || {};
            return {
                id: c.id,
                name: texts.categories[c.id].name,
                purpose: texts.categories[c.id].purpose,
                necessary: c.necessary === true,
                storage: (d.storage || []).map((s) => ({
                    name: s.name, prefix: s.prefix === true, provider: s.provider, party: s.party,
                    days: s.days, type: s.type, purpose: s.purpose[lang],
                })),
                vendors: (d.vendors || []).map((v) => ({ name: v.name, policy_url: v.policy_url })),
            };
        }),
    };
}

describe('GET /consent/v1/declaration', () => {
    let stack;
    const get = (p, headers) => stack.request({ path: p, headers });

    withStack({
        // The second site of the harness ("shop") declares nothing.
        configure: (cfg) => { delete cfg.sites.find((s) => s.id === 'shop').declaration; },
    }, (s) => { stack = s; });

    it('answers the declaration in the default language, every category in site order', async () => {
        const res = await get(URL_DEMO);
        assert.equal(res.status, 200, res.body);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        assert.deepEqual(res.json, expected('en'));
        const analytics = res.json.categories.find((c) => c.id === 'analytics');
        assert.deepEqual(analytics.storage[1], {
            name: '_demo_s_', prefix: true, provider: 'Demo Electronics Ltd.', party: 'first', days: 0,
            type: 'cookie', purpose: 'Groups the pages of one visit (one cookie per visit, ending with its number).',
        });
        assert.equal(res.json.categories.find((c) => c.id === 'advertising').vendors[0].policy_url,
                     'https://ads.example/privacy');
    });

    it('speaks the visitor\'s language as the banner does (Accept-Language)', async () => {
        const de = await get(URL_DEMO, { 'Accept-Language': 'de-AT,de;q=0.9,en;q=0.5' });
        assert.equal(de.status, 200);
        assert.deepEqual(de.json, expected('de'));
        assert.equal(de.json.texts.col_provider, 'Anbieter');
        const banner = await get('/consent/v1/banner?site=demo', { 'Accept-Language': 'de-AT,de;q=0.9' });
        assert.equal(banner.json.language, de.json.language);
        const other = await get(URL_DEMO, { 'Accept-Language': 'ko' });
        assert.equal(other.json.language, 'en', 'the site\'s first language otherwise');
    });

    it('is cacheable by anyone: Cache-Control public, Vary Accept-Language, an ETag per language, CORS *', async () => {
        const en = await get(URL_DEMO);
        const de = await get(URL_DEMO, { 'Accept-Language': 'de' });
        assert.equal(en.headers['cache-control'], 'public, max-age=3600');
        assert.match(String(en.headers.vary), /Accept-Language/);
        assert.equal(en.headers['access-control-allow-origin'], '*');
        assert.match(en.headers.etag, /^"[0-9a-f]{32}"$/);
        assert.match(de.headers.etag, /^"[0-9a-f]{32}"$/);
        assert.notEqual(en.headers.etag, de.headers.etag);
        assert.equal((await get(URL_DEMO)).headers.etag, en.headers.etag, 'stable');
        assert.equal(en.headers['set-cookie'], undefined, 'nothing identifying');
    });

    it('answers 304 without a body to If-None-Match with its ETag (strong, weak, in a list, *)', async () => {
        const { etag } = (await get(URL_DEMO)).headers;
        for (const inm of [etag, 'W/' + etag, `"0000", ${etag}`, '*']) {
            const res = await get(URL_DEMO, { 'If-None-Match': inm });
            assert.equal(res.status, 304, inm);
            assert.equal(res.body, '', inm);
            assert.equal(res.headers.etag, etag, inm);
            assert.equal(res.headers['cache-control'], 'public, max-age=3600');
        }
    });

    it('answers 200 with the body to another ETag or another language\'s', async () => {
        const { etag } = (await get(URL_DEMO)).headers;
        const de = (await get(URL_DEMO, { 'Accept-Language': 'de' })).headers.etag;
        for (const [inm, lang] of [['"00000000000000000000000000000000"', 'en'], [etag, 'de'],
                                   [etag.slice(0, -2) + '"', 'en']]) {
            const res = await get(URL_DEMO, { 'If-None-Match': inm, 'Accept-Language': lang });
            assert.equal(res.status, 200, `${inm} in ${lang}`);
            assert.deepEqual(res.json, expected(lang));
        }
        assert.notEqual(de, etag);
    });

    it('an If-None-Match over 512 bytes is ignored (full answer), never refused', async () => {
        const { etag } = (await get(URL_DEMO)).headers;
        const long = '"x", '.repeat(110) + etag;
        assert.ok(long.length > 512);
        const res = await get(URL_DEMO, { 'If-None-Match': long });
        assert.equal(res.status, 200);
        assert.deepEqual(res.json, expected('en'));
    });

    it('HEAD answers the headers only', async () => {
        const res = await stack.request({ method: 'HEAD', path: URL_DEMO });
        assert.equal(res.status, 200);
        assert.equal(res.body, '');
        assert.match(res.headers.etag, /^"[0-9a-f]{32}"$/);
    });

    it('a site without a declaration answers its categories with empty lists', async () => {
        const res = await get('/consent/v1/declaration?site=shop');
        assert.equal(res.status, 200);
        assert.deepEqual(res.json.categories.map((c) => [c.id, c.storage, c.vendors]),
                         DEMO.categories.map((c) => [c.id, [], []]));
    });

    it('unknown site: 404 unknown_site; bad or missing site: 400; other methods: 405', async () => {
        assertError(await get('/consent/v1/declaration?site=nope'), 404, 'unknown_site');
        assertError(await get('/consent/v1/declaration'), 400, 'missing_parameter');
        assertError(await get('/consent/v1/declaration?site=Demo!'), 400, 'invalid_parameter');
        assertError(await get('/consent/v1/declaration?site=' + 'a'.repeat(33)), 400, 'invalid_parameter');
        assertError(await get('/consent/v1/declaration?site=%zz'), 400, 'invalid_parameter');
        const post = await stack.request({ method: 'POST', path: URL_DEMO, body: '' });
        assertError(post, 405, 'method_not_allowed');
        assert.equal(post.headers.allow, 'GET, HEAD');
    });

    it('the banner decision carries the first-party clean-up list of optional categories', async () => {
        const res = await get('/consent/v1/banner?site=demo');
        assert.equal(res.status, 200);
        assert.deepEqual(res.json.cleanup, {
            analytics: { cookies: ['_demo_a', '_demo_s_*'], storage: ['demo_analytics_queue'] },
            advertising: { cookies: ['_demo_ad'], storage: ['demo_ad_*'] },
        });
        const shop = await get('/consent/v1/banner?site=shop');
        assert.equal(shop.json.cleanup, undefined, 'nothing to clean: no field');
    });

    it('counts its answers in the metrics by route', async () => {
        const res = await get('/consent/v1/metrics');
        assert.match(res.body, /consent_requests_total\{route="GET \/consent\/v1\/declaration",status="304"\} [1-9]/);
        assert.match(res.body, /consent_requests_total\{route="GET \/consent\/v1\/declaration",status="200"\} [1-9]/);
    });
});
