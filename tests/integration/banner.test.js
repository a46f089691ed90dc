'use strict';
/*
 * banner.test.js - issue 2 acceptance tests: the banner decision through a
 * real nginx -> consentd (FastCGI) -> redis-server stack, once per GeoIP
 * database layout, plus consentd's start-up failures.
 *
 *   CONSENTD=build/asan/consentd node --test --test-concurrency=1 tests/integration/
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const { ROOT, checkConfig, poll, writeConfig } = require('./lib/stack');
const { refusedConfigs, withStack } = require('./lib/suite');
const V = require('./lib/visitor');

/* The clock consentd sees (the harness's CONSENTD_TEST_CLOCK file):
 * 2026-11-22T00:00:00Z, after every gpc_binding_since date in
 * geo/rules.json. */
const NOW = Date.UTC(2026, 10, 22) / 1000;

const RULES = JSON.parse(fs.readFileSync(path.join(ROOT, 'geo', 'rules.json'), 'utf8'));
const REGIME = Object.fromEntries(RULES.regimes.map((r) => [r.id, r]));

const BANNER = '/consent/v1/banner?site=demo';
const SALE_SHARING = 'advertising';

/*
 * address, region (geoip2 layout), region (flat layout), matched, regime.
 * The flat layout stores subdivision names and only US and Canadian names
 * are mapped to codes (geo/geo.c), so elsewhere its region is the country.
 */
const REGIONS = [
    ['46.4.0.1', 'DE-BY', 'DE', 'DE', 'gdpr'],
    ['81.2.69.1', 'GB-ENG', 'GB', 'GB', 'uk-gdpr'],
    ['12.0.0.1', 'US-CA', 'US-CA', 'US-CA', 'ccpa'],
    ['12.1.0.1', 'US-WA', 'US-WA', 'US', 'us-notice'],
    ['12.2.0.1', 'US-CO', 'US-CO', 'US-CO', 'cpa'],
    ['12.3.0.1', 'US-VA', 'US-VA', 'US-VA', 'us-state-optout'],
    ['24.48.0.1', 'CA-QC', 'CA-QC', 'CA-QC', 'quebec-law25'],
    ['24.49.0.1', 'CA-ON', 'CA-ON', 'CA', 'pipeda'],
    ['200.147.0.1', 'BR-SP', 'BR', 'BR', 'lgpd'],
    ['36.0.0.1', 'CN', 'CN', 'CN', 'pipl'],
    ['1.0.16.1', 'JP', 'JP', 'JP', 'appi'],
    ['1.128.0.1', 'AU-NSW', 'AU', 'AU', 'au-privacy'],
    ['175.192.0.1', 'KR', 'KR', 'KR', 'pipa'],
    ['85.0.0.1', 'CH', 'CH', 'CH', 'ch-revfadp'],
    ['90.0.0.1', 'FR-IDF', 'FR', 'FR', 'gdpr-fr'],
    ['2a01:4f8::1', 'DE-BY', 'DE', 'DE', 'gdpr'],
    ['2600:1700::1', 'US-CA', 'US-CA', 'US-CA', 'ccpa'],
    ['2001:250::1', 'CN', 'CN', 'CN', 'pipl'],
    // not in the database, and private addresses
    ['8.8.8.8', null, null, 'default', 'default'],
    ['2001:db8::1', null, null, 'default', 'default'],
    ['10.0.0.1', null, null, 'default', 'default'],
    ['192.168.1.1', null, null, 'default', 'default'],
];

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

function category(json, id) {
    const c = json.categories.find((x) => x.id === id);
    assert.ok(c, `category ${id} in ${JSON.stringify(json.categories)}`);
    return c;
}

/* Every category as the model without GPC decides it. */
function assertModelDefaults(json, model) {
    for (const c of json.categories) {
        if (c.id === 'necessary') {
            assert.equal(c.default, true, 'necessary is always on');
            assert.equal(c.changeable, false);
            assert.equal(c.locked, 'necessary');
        } else {
            assert.equal(c.default, model !== 'opt-in', `${c.id} default under ${model}`);
            assert.equal(c.changeable, true, `${c.id} changeable`);
            assert.equal(c.locked, undefined, `${c.id} not locked`);
        }
    }
}

for (const layout of ['geoip2', 'flat']) {
    describe(`banner decision, ${layout} GeoIP layout`, () => {
        let stack;
        const banner = (xff, headers, query = '') =>
            stack.request({ path: BANNER + query, xff, headers });

        withStack({ layout, now: NOW }, (s) => { stack = s; });

        describe('jurisdiction per region', () => {
            for (const [addr, geoip2Region, flatRegion, matched, regime] of REGIONS) {
                const region = layout === 'flat' ? flatRegion : geoip2Region;
                it(`${addr} -> ${region} -> ${regime}`, async () => {
                    const res = await banner(addr);
                    assert.equal(res.status, 200, res.body);
                    const { jurisdiction: j } = res.json;
                    assert.equal(res.json.site, 'demo');
                    assert.equal(j.region, region);
                    assert.equal(j.matched, matched);
                    assert.equal(j.regime, regime);
                    assert.equal(j.model, REGIME[regime].model);
                    assert.equal(j.name, REGIME[regime].name);
                    assert.equal(res.json.consent_days, REGIME[regime].consent_days);
                    assert.equal(res.json.preview, undefined);
                    // Format v2: no cookie and no consent ID before a choice.
                    assert.equal(V.setCookie(res), null, 'the banner never sets a cookie');
                    assert.equal(res.json.consent_id, null);
                    assert.equal(res.json.stored, null);
                    assert.equal(res.json.gpc.received, false);
                    assert.deepEqual(res.json.gpc.changed, []);
                    assertModelDefaults(res.json, j.model);
                    assert.deepEqual(res.json.categories.map((c) => c.id),
                                     ['necessary', 'functional', 'analytics', 'advertising']);
                    assert.equal(category(res.json, SALE_SHARING).sale_sharing, true);
                });
            }
        });

        describe('Global Privacy Control', () => {
            for (const [addr, where] of [['12.0.0.1', 'US-CA'], ['12.2.0.1', 'US-CO'],
                                         ['2600:1700::1', 'US-CA (IPv6)']]) {
                it(`Sec-GPC: 1 in ${where} is binding: advertising off and locked`, async () => {
                    const res = await banner(addr, [['Sec-GPC', '1']]);
                    assert.equal(res.status, 200, res.body);
                    assert.equal(res.json.jurisdiction.gpc_binding, true);
                    assert.deepEqual(res.json.gpc, {
                        received: true, honoured: true, binding: true, changed: ['advertising'],
                    });
                    const ad = category(res.json, SALE_SHARING);
                    assert.equal(ad.default, false);
                    assert.equal(ad.changeable, false);
                    assert.equal(ad.locked, 'gpc');
                    for (const id of ['functional', 'analytics']) {
                        assert.equal(category(res.json, id).default, true);
                        assert.equal(category(res.json, id).changeable, true);
                    }
                });
            }

            it('Sec-GPC: 1 in US-WA (notice, not binding): advertising off but changeable', async () => {
                const res = await banner('12.1.0.1', [['Sec-GPC', '1']]);
                assert.equal(res.json.jurisdiction.regime, 'us-notice');
                assert.equal(res.json.gpc.received, true);
                assert.equal(res.json.gpc.binding, false);
                assert.deepEqual(res.json.gpc.changed, ['advertising']);
                const ad = category(res.json, SALE_SHARING);
                assert.equal(ad.default, false);
                assert.equal(ad.changeable, true);
                assert.equal(ad.locked, undefined);
            });

            it('Sec-GPC: 1 in DE (opt-in): nothing changed, not binding', async () => {
                const res = await banner('46.4.0.1', [['Sec-GPC', '1']]);
                assert.equal(res.json.jurisdiction.regime, 'gdpr');
                assert.equal(res.json.gpc.received, true);
                assert.equal(res.json.gpc.binding, false);
                assert.deepEqual(res.json.gpc.changed, []);
                const ad = category(res.json, SALE_SHARING);
                assert.equal(ad.default, false);
                assert.equal(ad.changeable, true);
                assert.equal(ad.locked, undefined);
            });

            it('no Sec-GPC in US-CA: advertising on and changeable', async () => {
                const res = await banner('12.0.0.1');
                assert.equal(res.json.gpc.received, false);
                assert.equal(res.json.gpc.binding, false);
                assert.deepEqual(res.json.gpc.changed, []);
                assert.equal(category(res.json, SALE_SHARING).default, true);
                assert.equal(category(res.json, SALE_SHARING).changeable, true);
            });

            for (const value of ['0', 'true', '11', '']) {
                it(`Sec-GPC: ${JSON.stringify(value)} is treated as absent`, async () => {
                    const res = await banner('12.0.0.1', [['Sec-GPC', value]]);
                    assert.equal(res.status, 200, res.body);
                    assert.equal(res.json.gpc.received, false);
                    assert.equal(res.json.gpc.binding, false);
                    assert.equal(category(res.json, SALE_SHARING).default, true);
                });
            }

            for (const values of [['0', '1'], ['1', '0']]) {
                it(`two headers Sec-GPC: ${values.join(' and Sec-GPC: ')} -> on`, async () => {
                    const res = await banner('12.0.0.1', values.map((v) => ['Sec-GPC', v]));
                    assert.equal(res.json.gpc.received, true);
                    assert.equal(res.json.gpc.binding, true);
                    assert.equal(category(res.json, SALE_SHARING).locked, 'gpc');
                });
            }
        });

        describe('texts and language', () => {
            it('texts_sha256 is the SHA-256 of the texts and differs between models', async () => {
                const byModel = {};
                for (const addr of ['46.4.0.1', '12.0.0.1', '12.1.0.1']) {
                    const res = await banner(addr);
                    assert.equal(res.json.language, 'en');
                    assert.equal(res.json.texts_sha256, sha256(JSON.stringify(res.json.texts)));
                    byModel[res.json.jurisdiction.model] = res.json;
                }
                assert.deepEqual(Object.keys(byModel).sort(), ['notice', 'opt-in', 'opt-out']);
                const hashes = Object.values(byModel).map((j) => j.texts_sha256);
                assert.equal(new Set(hashes).size, 3, `distinct hashes: ${hashes}`);
                const en = stack.config.sites[0].languages.en;
                for (const [model, json] of Object.entries(byModel)) {
                    for (const [k, v] of Object.entries(en[model]))
                        assert.equal(json.texts[k], v, `${model} text ${k}`);
                    assert.deepEqual(json.texts.panel, en.panel);
                    assert.deepEqual(Object.keys(json.texts.categories),
                                     ['necessary', 'functional', 'analytics', 'advertising']);
                    assert.deepEqual(json.texts.categories.advertising, en.categories.advertising);
                }
            });

            it('Accept-Language: de-AT,de;q=0.9,en;q=0.5 -> German texts', async () => {
                const res = await banner('46.4.0.1',
                                         [['Accept-Language', 'de-AT,de;q=0.9,en;q=0.5']]);
                const de = stack.config.sites[0].languages.de;
                assert.equal(res.json.language, 'de');
                assert.equal(res.json.texts.title, de['opt-in'].title);
                assert.equal(res.json.texts.title, 'Ihre Datenschutz-Einstellungen');
                assert.equal(res.json.texts.panel.close, 'Schließen');
                assert.equal(res.json.texts_sha256, sha256(JSON.stringify(res.json.texts)));
                const en = await banner('46.4.0.1');
                assert.notEqual(res.json.texts_sha256, en.json.texts_sha256);
            });

            it('Accept-Language: ko (not offered) -> the default, en', async () => {
                const res = await banner('46.4.0.1', [['Accept-Language', 'ko']]);
                assert.equal(res.json.language, 'en');
                assert.equal(res.json.texts.title, 'Your privacy choices');
            });
        });

        if (layout === 'geoip2') {
            describe('HTTP behaviour', () => {
                it('Cache-Control: no-store and a JSON body', async () => {
                    const res = await banner('46.4.0.1');
                    assert.equal(res.headers['cache-control'], 'no-store');
                    assert.match(res.headers['content-type'], /^application\/json/);
                });

                it('a cookie the server did not issue: no consent ID, no Set-Cookie', async () => {
                    // v1's consent_id cookie, a consent cookie of the right
                    // shape but not issued here (no valid MAC), one a
                    // character short, and one of the other cookie name.
                    const forged = 'A'.repeat(42) + 'A';
                    assert.match(forged, V.COOKIE_VALUE);
                    for (const cookie of ['consent_id=AAAAAAAAAAAAAAAAAAAAAA', `consent=${forged}`,
                                          `consent=${forged.slice(1)}`, `__Host-consent=${forged}`]) {
                        const res = await banner('46.4.0.1', [['Cookie', cookie]]);
                        assert.equal(res.status, 200, res.body);
                        assert.equal(res.json.consent_id, null, cookie);
                        assert.equal(res.json.stored, null, cookie);
                        assert.equal(res.json.prompt, true, cookie);
                        assert.equal(V.setCookie(res), null, `no Set-Cookie for ${cookie}`);
                    }
                });

                it('a visitor\'s cookie after its first choice: its consent ID, still no Set-Cookie', async () => {
                    const { v, consentId, receipt } = await V.recordChoice(stack, { xff: '46.4.7.1' });
                    const res = await V.banner(v);
                    assert.equal(res.status, 200, res.body);
                    assert.equal(res.json.consent_id, consentId);
                    assert.equal(res.json.stored.receipt_id, receipt.receipt_id);
                    assert.equal(res.json.prompt, false);
                    assert.equal(V.setCookie(res), null, 'the banner never sets a cookie');
                });

                it('CORS: a configured origin is echoed with credentials', async () => {
                    const res = await banner('46.4.0.1', [['Origin', 'http://127.0.0.1:8080']]);
                    assert.equal(res.status, 200);
                    assert.equal(res.headers['access-control-allow-origin'], 'http://127.0.0.1:8080');
                    assert.equal(res.headers['access-control-allow-credentials'], 'true');
                    assert.match(String(res.headers.vary), /Origin/);
                });

                it('CORS: another origin gets no Access-Control-Allow-Origin', async () => {
                    const res = await banner('46.4.0.1', [['Origin', 'https://evil.example']]);
                    assert.equal(res.status, 200);
                    assert.equal(res.headers['access-control-allow-origin'], undefined);
                    assert.equal(res.headers['access-control-allow-credentials'], undefined);
                });

                it('CORS: origins are per site', async () => {
                    const shop = await stack.request({
                        path: '/consent/v1/banner?site=shop', xff: '46.4.0.1',
                        headers: [['Origin', 'https://shop.example']],
                    });
                    assert.equal(shop.headers['access-control-allow-origin'], 'https://shop.example');
                    const other = await stack.request({
                        path: '/consent/v1/banner?site=shop', xff: '46.4.0.1',
                        headers: [['Origin', 'http://127.0.0.1:8080']],
                    });
                    assert.equal(other.headers['access-control-allow-origin'], undefined);
                });

                it('preview=US-CA on demo -> ccpa whatever the address', async () => {
                    for (const addr of ['46.4.0.1', '8.8.8.8', '10.0.0.1']) {
                        const res = await banner(addr, [], '&preview=US-CA');
                        assert.equal(res.status, 200, res.body);
                        assert.equal(res.json.preview, 'Preview: choices made here are not recorded.');
                        assert.equal(res.json.jurisdiction.region, 'US-CA');
                        assert.equal(res.json.jurisdiction.matched, 'US-CA');
                        assert.equal(res.json.jurisdiction.regime, 'ccpa');
                        assert.equal(res.json.jurisdiction.model, 'opt-out');
                        assert.equal(V.setCookie(res), null, 'a preview sets no cookie');
                        assert.equal(res.json.consent_id, null);
                    }
                });

                it('preview on a site without previews -> 403 preview_disabled', async () => {
                    const res = await stack.request({
                        path: '/consent/v1/banner?site=shop&preview=US-CA', xff: '46.4.0.1',
                    });
                    V.assertError(res, 403, 'preview_disabled');
                });

                it('preview=california -> 400 invalid_parameter', async () => {
                    V.assertError(await banner('46.4.0.1', [], '&preview=california'),
                                400, 'invalid_parameter');
                });

                it('no site -> 400 missing_parameter', async () => {
                    V.assertError(await stack.request({ path: '/consent/v1/banner', xff: '46.4.0.1' }),
                                400, 'missing_parameter');
                });

                it('site=BAD! -> 400 invalid_parameter', async () => {
                    V.assertError(await stack.request({ path: '/consent/v1/banner?site=BAD!' }),
                                400, 'invalid_parameter');
                });

                it('site=nosuch -> 404 unknown_site', async () => {
                    V.assertError(await stack.request({ path: '/consent/v1/banner?site=nosuch' }),
                                404, 'unknown_site');
                });

                it('a query longer than 1024 bytes -> 400 query_too_long', async () => {
                    const query = 'site=demo&pad=' + 'a'.repeat(1100);
                    V.assertError(await stack.request({ path: `/consent/v1/banner?${query}` }),
                                400, 'query_too_long');
                });

                it('an Accept-Language of 600 bytes -> 431 header_too_large', async () => {
                    const al = 'en-US,'.repeat(100);
                    assert.equal(al.length, 600);
                    V.assertError(await banner('46.4.0.1', [['Accept-Language', al]]),
                                431, 'header_too_large');
                });

                it('POST /consent/v1/banner -> 405 with Allow: GET, HEAD', async () => {
                    const res = await stack.request({ method: 'POST', path: BANNER });
                    V.assertError(res, 405, 'method_not_allowed');
                    assert.equal(res.headers.allow, 'GET, HEAD');
                });

                it('GET /consent/v1/nope -> 404 not_found', async () => {
                    V.assertError(await stack.request({ path: '/consent/v1/nope' }), 404, 'not_found');
                });

                it('a 9000-byte POST body -> 413 body_too_large, and the service goes on', async () => {
                    const res = await stack.request({
                        method: 'POST', path: BANNER, body: 'x'.repeat(9000),
                        headers: [['Content-Type', 'application/json']],
                    });
                    V.assertError(res, 413, 'body_too_large');
                    // The FastCGI connection nginx keeps must still be usable.
                    for (let i = 0; i < 3; i++) {
                        const ok = await banner('46.4.0.1');
                        assert.equal(ok.status, 200, ok.body);
                    }
                });

                it('a body over 16 KiB is refused by nginx with the same JSON 413', async () => {
                    const res = await stack.request({ method: 'POST', path: BANNER,
                                                      body: 'x'.repeat(20000) });
                    V.assertError(res, 413, 'body_too_large');
                });

                describe('limits, at and just past each one', () => {
                    const query = (n) => {
                        const q = 'site=demo&pad=';
                        return `${BANNER.split('?')[0]}?${q}${'a'.repeat(n - q.length)}`;
                    };
                    it('query: 1024 bytes -> 200, 1025 -> 400 query_too_long', async () => {
                        assert.equal((await stack.request({ path: query(1024) })).status, 200);
                        V.assertError(await stack.request({ path: query(1025) }), 400, 'query_too_long');
                    });
                    it('path over 256 bytes -> 400 path_too_long', async () => {
                        V.assertError(await stack.request({ path: `/consent/v1/${'p'.repeat(300)}` }),
                                    400, 'path_too_long');
                    });
                    for (const [name, limit, make] of [
                        ['Accept-Language', 512, (n) => 'a'.repeat(n)],
                        ['User-Agent', 512, (n) => 'u'.repeat(n)],
                        ['Origin', 512, (n) => 'https://' + 'o'.repeat(n - 8)],
                        ['Cookie', 4096, (n) => 'a=' + 'b'.repeat(n - 2)],
                    ]) {
                        it(`${name}: ${limit} bytes -> 200, ${limit + 1} -> 431 header_too_large`, async () => {
                            const ok = await banner('46.4.0.1', [[name, make(limit)]]);
                            assert.equal(ok.status, 200, ok.body);
                            V.assertError(await banner('46.4.0.1', [[name, make(limit + 1)]]),
                                        431, 'header_too_large');
                        });
                    }
                    it('body: 8192 bytes is read (405 on banner), 8193 -> 413 body_too_large', async () => {
                        const at = await stack.request({ method: 'POST', path: BANNER,
                                                         body: 'x'.repeat(8192) });
                        V.assertError(at, 405, 'method_not_allowed');
                        V.assertError(await stack.request({ method: 'POST', path: BANNER,
                                                          body: 'x'.repeat(8193) }),
                                    413, 'body_too_large');
                    });
                });

                it('HEAD -> 200 and an empty body', async () => {
                    const res = await stack.request({ method: 'HEAD', path: BANNER, xff: '46.4.0.1' });
                    assert.equal(res.status, 200);
                    assert.equal(res.body, '');
                    assert.equal(res.headers['cache-control'], 'no-store');
                    assert.equal(V.setCookie(res), null, 'no Set-Cookie');
                });
            });

            describe('health and Redis', () => {
                it('health -> 200 status ok', async () => {
                    const res = await stack.request({ path: '/consent/v1/health' });
                    assert.equal(res.status, 200, res.body);
                    assert.equal(res.json.status, 'ok');
                    assert.equal(res.json.redis.status, 'ok');
                    assert.equal(res.json.geoip.status, 'ok');
                    assert.equal(res.json.geoip.type, 'GeoIP2-City');
                    assert.equal(res.json.rules_version, RULES.version);
                    assert.equal(res.headers['cache-control'], 'no-store');
                });

                it('Redis down -> health 503, banner still 200; Redis back -> health 200', async () => {
                    const pid = stack.consentdPid;
                    await stack.stopRedis();
                    const down = await stack.request({ path: '/consent/v1/health' });
                    assert.equal(down.status, 503, down.body);
                    assert.equal(down.json.status, 'unavailable');
                    assert.equal(down.json.redis.status, 'unavailable');
                    assert.equal(typeof down.json.redis.reason, 'string');
                    assert.ok(down.json.redis.reason.length > 0, 'a reason');

                    const decision = await banner('12.0.0.1');
                    assert.equal(decision.status, 200, decision.body);
                    assert.equal(decision.json.jurisdiction.regime, 'ccpa');

                    await stack.startRedis();
                    const up = await poll(async () => {
                        const r = await stack.request({ path: '/consent/v1/health' });
                        return r.status === 200 ? r : null;
                    }, { timeoutMs: 5000, intervalMs: 100, what: 'health 200 after Redis restart' });
                    assert.equal(up.json.redis.status, 'ok');
                    assert.equal(stack.consentdPid, pid);
                    assert.ok(stack.consentdRunning(), 'the same consentd process still runs');
                });
            });

            describe('access log', () => {
                it('logs truncated client addresses only', async () => {
                    for (const addr of ['46.4.0.1', '2a01:4f8::1']) {
                        const res = await banner(addr, [['Sec-GPC', '1']]);
                        assert.equal(res.status, 200);
                    }
                    const text = await poll(() => {
                        const t = stack.readLog('consentd');
                        return t.includes('"client":"46.4.0.0/24"') &&
                               t.includes('"client":"2a01:4f8::/48"') ? t : null;
                    }, { timeoutMs: 3000, what: 'access log lines' });
                    assert.ok(!text.includes('46.4.0.1'), 'the full IPv4 address is never logged');
                    assert.ok(!text.includes('2a01:4f8::1'), 'the full IPv6 address is never logged');
                    const lines = text.split('\n').filter((l) => l.includes('"client"'))
                        .map((l) => JSON.parse(l));
                    const de = lines.find((l) => l.client === '46.4.0.0/24' &&
                                                 l.path === '/consent/v1/banner' && l.gpc === true);
                    assert.ok(de, 'a banner line for 46.4.0.0/24');
                    assert.equal(de.method, 'GET');
                    assert.equal(de.status, 200);
                    assert.equal(de.regime, 'gdpr');
                    assert.equal(typeof de.us, 'number');
                });
            });
        }

        if (layout === 'geoip2') {
            it('SIGHUP reloads and is logged; requests keep working', async () => {
                stack.signalConsentd('SIGHUP');
                await poll(() => stack.readLog('consentd').includes('"msg":"reloaded"'),
                           { timeoutMs: 3000, what: 'the reload log line' });
                const res = await banner('46.4.0.1');
                assert.equal(res.status, 200);
                assert.ok(stack.consentdRunning());
            });
        }

        it('SIGTERM: consentd shuts down cleanly with exit code 0', async () => {
            const r = await stack.stop();
            assert.equal(r.consentd.killed, false, 'stopped within 10 s without SIGKILL');
            assert.equal(r.consentd.signal, null);
            assert.equal(r.consentd.code, 0,
                         `consentd exit code ${r.consentd.code}` +
                         (r.leaks ? `; LeakSanitizer at exit:\n${r.leaks}` : ''));
            assert.equal(r.nginx.killed, false);
            assert.equal(r.redis.killed, false);
        });
    });
}

describe('GPC binding dates follow the clock', () => {
    let stack;
    // Colorado's GPC is binding from 2024-07-01, California's since 2023.
    const COLORADO = Date.UTC(2024, 6, 1) / 1000;
    withStack({ now: COLORADO - 1 }, (s) => { stack = s; });

    it('US-CO before 2024-07-01: GPC turns advertising off but does not lock it', async () => {
        const res = await stack.request({ path: BANNER, xff: '12.2.0.1',
                                          headers: [['Sec-GPC', '1']] });
        assert.equal(res.json.jurisdiction.regime, 'cpa');
        assert.equal(res.json.jurisdiction.gpc_binding, false);
        assert.equal(res.json.gpc.binding, false);
        assert.deepEqual(res.json.gpc.changed, ['advertising']);
        assert.equal(category(res.json, SALE_SHARING).default, false);
        assert.equal(category(res.json, SALE_SHARING).changeable, true);
    });

    it('US-CA on the same day: binding', async () => {
        const res = await stack.request({ path: BANNER, xff: '12.0.0.1',
                                          headers: [['Sec-GPC', '1']] });
        assert.equal(res.json.gpc.binding, true);
        assert.equal(category(res.json, SALE_SHARING).locked, 'gpc');
    });

    it('US-CO from 2024-07-01T00:00:00Z: binding and locked', async () => {
        stack.setClock(COLORADO);
        const res = await stack.request({ path: BANNER, xff: '12.2.0.1',
                                          headers: [['Sec-GPC', '1']] });
        assert.equal(res.json.jurisdiction.gpc_binding, true);
        assert.equal(res.json.gpc.binding, true);
        assert.equal(category(res.json, SALE_SHARING).default, false);
        assert.equal(category(res.json, SALE_SHARING).changeable, false);
        assert.equal(category(res.json, SALE_SHARING).locked, 'gpc');
    });
});

describe('consentd started while Redis is down', () => {
    let stack;
    withStack({ redis: false }, (s) => { stack = s; });

    it('answers decisions, reports Redis unavailable, and recovers when it starts', async () => {
        const down = await stack.request({ path: '/consent/v1/health' });
        assert.equal(down.status, 503, down.body);
        assert.equal(down.json.redis.status, 'unavailable');
        assert.ok(down.json.redis.reason.length > 0);
        const decision = await stack.request({ path: BANNER, xff: '46.4.0.1' });
        assert.equal(decision.status, 200, decision.body);

        await stack.startRedis();
        await poll(async () =>
            (await stack.request({ path: '/consent/v1/health' })).status === 200,
        { timeoutMs: 5000, intervalMs: 100, what: 'health 200 once Redis runs' });
        assert.ok(stack.consentdRunning());
    });
});

describe('consentd start-up failures', () => {
    const refused = refusedConfigs();
    const { good } = refused;

    it('--check accepts the good configuration', async () => {
        const file = writeConfig(refused.dir, good(), 'good.json');
        const r = await checkConfig(file);
        assert.equal(r.code, 0, r.stderr);
        assert.match(r.stdout, /configuration ok \(2 sites, \d+ regimes, GeoIP GeoIP2-City\b/);
        assert.equal(r.stderr, '');
    });

    it('a GeoIP database that does not exist', async () => {
        const cfg = good();
        cfg.geoip.database = path.join(refused.dir, 'missing.mmdb');
        await refused.expect('missing-db', cfg, cfg.geoip.database,
                             'Error opening the specified MaxMind DB file');
    });

    it('an unknown key names its JSON path', async () => {
        const cfg = good();
        cfg.sites[0].colour = 'blue';
        await refused.expect('unknown-key', cfg, '$.sites[0].colour: unknown key');
    });
});
