'use strict';
/*
 * input.test.js - hostile input through the real nginx -> consentd ->
 * redis-server stack: request bodies that are not UTF-8, that hold \u0000,
 * that repeat a key at any level; error answers that echo caller text; and
 * several Cookie headers, which nginx 1.22 (Debian 12) hands to FastCGI as
 * several HTTP_COOKIE parameters, one per header, in order.
 *
 * Every refused request also checks that Redis is exactly as it was before
 * (every key and value, and DBSIZE).
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/input.test.js
 */
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');

const { withStack } = require('./lib/suite');
const { snapshot } = require('./lib/redis');
const V = require('./lib/visitor');

const { BANNER, ME } = V;
const UA = 'input-test/1.0 (integration)';
const COOKIE_LIMIT = 4096;      // CONSENT_MAX_COOKIE_HEADER


async function assertNothingWritten(stack, fn) {
    const before_ = await snapshot(stack);
    const result = await fn();
    assert.deepEqual(await snapshot(stack), before_, 'nothing may be written to Redis');
    return result;
}

/* status, exactly {error: {code, message, ...extra}} (lib/visitor.js), and
 * the answer is JSON whose text decoded without replacement characters,
 * i.e. consentd sent valid UTF-8 (httpRequest decodes with Buffer#toString,
 * which turns every invalid byte, or half a character, into U+FFFD). */
function assertError(res, status, code, extra = {}) {
    V.assertError(res, status, code, extra);
    assert.ok(!res.body.includes('\uFFFD'), `valid UTF-8 answer: ${JSON.stringify(res.body)}`);
}

/* POST /consents from a fresh address (body: an object, a string or raw bytes). */
const post = (stack, body, opts = {}) => V.post(stack, body, { xff: V.address(), ua: UA, ...opts });

describe('input', () => {
    let stack;
    let good;           // a body that records (accept_all), as an object
    let goodText;       // ... as JSON text
    let visitor;        // lib/visitor.js: one receipt stored; cookie "consent=<43>", id

    withStack({}, (s) => { stack = s; });
    before(async () => {
        // The first POST issues the consent cookie (checked: name, 43
        // characters, attributes) and the consent ID derived from it.
        visitor = await V.newVisitor(stack, { xff: V.address(), ua: UA });
        await V.record(visitor, 'reject_all');   // a stored receipt: writes would show
        assert.match(visitor.cookie, /^consent=/);
        good = V.recordBody(visitor.banner, 'accept_all');
        goodText = JSON.stringify(good);
    });

    /* goodText with `insert` (raw bytes) spliced in before the closing }. */
    const withRaw = (insert) => Buffer.concat([
        Buffer.from(goodText.slice(0, -1)), Buffer.from(','), insert, Buffer.from('}')]);

    describe('a body that is not valid UTF-8 -> 400 invalid_json, nothing written', () => {
        const BAD = [
            ['a lone continuation byte', [0x80]],
            ['an overlong "/" (C0 AF)', [0xC0, 0xAF]],
            ['an overlong three-byte form (E0 80 AF)', [0xE0, 0x80, 0xAF]],
            ['a surrogate (ED A0 80, U+D800)', [0xED, 0xA0, 0x80]],
            ['a code point past U+10FFFF (F4 90 80 80)', [0xF4, 0x90, 0x80, 0x80]],
            ['a truncated sequence (E2 82)', [0xE2, 0x82]],
            ['a Latin-1 "é" (E9)', [0xE9]],
        ];
        for (const [what, bytes] of BAD) {
            it(`${what} in a key`, async () => {
                const body = withRaw(Buffer.concat([
                    Buffer.from('"x'), Buffer.from(bytes), Buffer.from('":1')]));
                await assertNothingWritten(stack, async () => {
                    const res = await post(stack, body, { cookie: visitor.cookie });
                    assertError(res, 400, 'invalid_json');
                    assert.match(res.json.error.message, /not valid UTF-8/);
                });
            });
            it(`${what} in a string value`, async () => {
                // A value nested in "choices", next to a valid choice.
                const body = withRaw(Buffer.concat([
                    Buffer.from('"choices":{"analytics":true,"y":"'), Buffer.from(bytes),
                    Buffer.from('"}')]));
                await assertNothingWritten(stack, async () => {
                    const res = await post(stack, body, { cookie: visitor.cookie });
                    assertError(res, 400, 'invalid_json');
                    assert.match(res.json.error.message, /not valid UTF-8/);
                });
            });
        }

        it('an invalid byte in a value that would otherwise record (site)', async () => {
            // "demo" and a stray byte: refused as text before any lookup
            // (it used to reach the site lookup: 404 unknown_site).
            const body = Buffer.from(goodText.replace('"site":"demo"', '"site":"demo\u0000"'));
            body[body.indexOf(0)] = 0xFF;
            await assertNothingWritten(stack, async () => {
                assertError(await post(stack, body, { cookie: visitor.cookie }), 400, 'invalid_json');
            });
        });

        it('valid multi-byte UTF-8 is not refused as text', async () => {
            const res = await post(stack, { ...good, choices: { 'caf\u00e9\u{1D11E}': true } },
                                   { cookie: visitor.cookie });
            assertError(res, 422, 'unknown_category', { category: 'caf\u00e9\u{1D11E}' });
        });
    });

    it('a \\u0000 escape in a string -> 400 invalid_json, nothing written', async () => {
        // cJSON decodes it to a NUL that ends the C string: "demo\u0000x"
        // was read as "demo" and recorded.
        const body = goodText.replace('"site":"demo"', '"site":"demo\\u0000x"');
        await assertNothingWritten(stack, async () => {
            const res = await post(stack, body, { cookie: visitor.cookie });
            assertError(res, 400, 'invalid_json');
            assert.match(res.json.error.message, /\\u0000/);
        });
    });

    describe('duplicate keys -> 400 duplicate_key naming the key, nothing written', () => {
        it('"action" twice at the top level (the first used to win)', async () => {
            const body = `${goodText.slice(0, -1).replace('"accept_all"', '"reject_all"')},` +
                         '"action":"accept_all"}';
            await assertNothingWritten(stack, async () => {
                assertError(await post(stack, body, { cookie: visitor.cookie }), 400,
                            'duplicate_key', { field: 'action' });
            });
        });

        it('a category twice inside "choices" (the last used to win)', async () => {
            const body = `${goodText.slice(0, -1).replace('"accept_all"', '"reject_all"')},` +
                         '"choices":{"analytics":true,"analytics":false}}';
            await assertNothingWritten(stack, async () => {
                assertError(await post(stack, body, { cookie: visitor.cookie }), 400,
                            'duplicate_key', { field: 'choices.analytics' });
            });
        });

        it('"site" twice with the same value is still refused', async () => {
            const body = `${goodText.slice(0, -1)},"site":"demo"}`;
            await assertNothingWritten(stack, async () => {
                assertError(await post(stack, body, { cookie: visitor.cookie }), 400,
                            'duplicate_key', { field: 'site' });
            });
        });

        it('the same body without the duplicate records (the check is not over-eager)', async () => {
            const res = await post(stack, { ...good, action: 'reject_all',
                                            choices: { analytics: false } },
                                   { cookie: visitor.cookie });
            assert.equal(res.status, 201, res.body);
            assert.equal(res.json.consent_id, visitor.id, 'recorded for the visitor\'s consent ID');
        });
    });

    describe('echoed caller text is valid UTF-8, never cut inside a character', () => {
        it('a long unknown field name of 2-byte characters is echoed as a whole-character prefix', async () => {
            const name = `x${'\u00e9'.repeat(200)}`;
            await assertNothingWritten(stack, async () => {
                const res = await post(stack, { ...good, [name]: 1 }, { cookie: visitor.cookie });
                assert.equal(res.status, 400, res.body);
                assert.equal(res.json.error.code, 'unknown_field');
                assert.ok(!res.body.includes('\uFFFD'), `no half character: ${res.body}`);
                const field = res.json.error.field;
                assert.ok(field.length > 10 && name.startsWith(field), field);
                assert.ok(Buffer.byteLength(field) < Buffer.byteLength(name), 'shortened');
            });
        });

        it('a long unknown category of 4-byte characters is echoed as a whole-character prefix', async () => {
            const cat = `ab${'\u{1F36A}'.repeat(60)}`;
            const res = await post(stack, { ...good, choices: { [cat]: true } },
                                   { cookie: visitor.cookie });
            assert.equal(res.status, 422, res.body);
            assert.equal(res.json.error.code, 'unknown_category');
            assert.ok(!res.body.includes('\uFFFD'), `no half character: ${res.body}`);
            assert.ok(res.json.error.category.length > 2 && cat.startsWith(res.json.error.category),
                      res.json.error.category);
        });
    });

    describe('several Cookie headers (nginx 1.22: one HTTP_COOKIE parameter each)', () => {
        it('a consent cookie in the second Cookie header is read', async () => {
            // Before, only the first HTTP_COOKIE parameter was read: 404.
            const res = await stack.request({ path: ME, xff: V.address(), headers: [
                ['User-Agent', UA], ['Cookie', 'theme=dark'], ['Cookie', visitor.cookie]] });
            assert.equal(res.status, 200, res.body);
            assert.equal(res.json.consent_id, visitor.id);
            // The banner: the consent ID derived from it (null without a
            // valid cookie), and never a Set-Cookie.
            const b = await stack.request({ path: BANNER, xff: V.address(), headers: [
                ['User-Agent', UA], ['Cookie', ''], ['Cookie', 'a=1'], ['Cookie', visitor.cookie]] });
            assert.equal(b.status, 200, b.body);
            assert.equal(b.json.consent_id, visitor.id);
            assert.equal(V.setCookie(b), null, 'the banner never sets a cookie');
            // A write: recorded for the same consent ID; the cookie renewed
            // with the same value, not a new one.
            const w = await post(stack, good, { headers: [['Cookie', 'theme=dark'], ['Cookie', visitor.cookie]] });
            assert.equal(w.status, 201, w.body);
            assert.equal(w.json.consent_id, visitor.id, 'the cookie of the second header keeps its ID');
            assert.equal(V.assertConsentCookie(w, visitor.banner.consent_days), visitor.cookie,
                         'the same cookie, renewed');
        });

        it('each Cookie header under the limit but together over it -> 431 header_too_large', async () => {
            const half = 'a='.padEnd(COOKIE_LIMIT / 2 + 10, 'x');
            const alone = await stack.request({ path: BANNER, xff: V.address(), headers: [
                ['Cookie', half]] });
            assert.equal(alone.status, 200, 'one of them alone is fine');
            const res = await stack.request({ path: BANNER, xff: V.address(), headers: [
                ['Cookie', half], ['Cookie', half.replace('a=', 'b=')]] });
            assertError(res, 431, 'header_too_large');
        });

        it('many small Cookie headers over the limit together -> 431 on a write, nothing written', async () => {
            const many = Array.from({ length: 40 }, (_, i) => ['Cookie', `c${i}=${'v'.repeat(100)}`]);
            await assertNothingWritten(stack, async () => {
                const res = await post(stack, good, { cookie: visitor.cookie, headers: many });
                assertError(res, 431, 'header_too_large');
            });
        });

        it('Cookie headers that join to exactly the limit are accepted', async () => {
            // "a=..." (2048) + "; " + "b=..." (2046) = 4096 bytes joined.
            const a = 'a='.padEnd(COOKIE_LIMIT / 2, 'x');
            const b = 'b='.padEnd(COOKIE_LIMIT / 2 - 2, 'y');
            const ok = await stack.request({ path: BANNER, xff: V.address(), headers: [
                ['Cookie', a], ['Cookie', b]] });
            assert.equal(ok.status, 200, ok.body);
            const over = await stack.request({ path: BANNER, xff: V.address(), headers: [
                ['Cookie', a], ['Cookie', `${b}y`]] });
            assertError(over, 431, 'header_too_large');
        });

        it('one Cookie header over the limit is still refused', async () => {
            const res = await stack.request({ path: BANNER, xff: V.address(), headers: [
                ['Cookie', 'a='.padEnd(COOKIE_LIMIT + 1, 'x')]] });
            assertError(res, 431, 'header_too_large');
        });
    });
});
