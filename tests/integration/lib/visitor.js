'use strict';
/*
 * visitor.js - a visitor of the public endpoints, as every integration test
 * file needs one (receipt format v2):
 *
 *   const v = await newVisitor(stack, { xff: '46.4.0.1' });  // banner, no cookie
 *   const res = await record(v, 'reject_all');   // 201; the first one issues
 *   v.cookie, v.id                               // "consent=<43>", the consent ID
 *
 * The consent cookie ("consent", or "__Host-consent" with cookie.secure) holds
 * a 43-character secret the server issued (with a MAC); the consent ID is
 * derived from it one-way and is never the cookie value. No cookie is set
 * before the first choice: GET /banner never sets one; the first 201 of
 * POST /consents does.
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const BANNER = '/consent/v1/banner?site=demo';
const CONSENTS = '/consent/v1/consents';
const ME = '/consent/v1/consents/me';
const ADMIN = '/consent/v1/admin';
const DAY = 86400;
const ZERO_HASH = '0'.repeat(64);
/* Receipt IDs: UUIDs of version 8 derived from the consent ID and seq. */
const RECEIPT_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
/* A consent ID: 22 base64url characters, canonical (no bits past 128). */
const CONSENT_ID = /^[A-Za-z0-9_-]{21}[AQgw]$/;
/* A cookie value: 32 bytes (secret + MAC) as 43 base64url characters. */
const COOKIE_VALUE = /^[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]$/;
const COOKIE_NAME = 'consent';
const UA = 'consentd-integration/2.0 (+https://example.invalid)';

const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
/* user_agent_hash of a receipt: the first 8 bytes of SHA-256(UA), hex. */
const uaHash = (ua) => sha256(ua).slice(0, 16);

const allOff = { necessary: true, functional: false, analytics: false, advertising: false };
const allOn = { necessary: true, functional: true, analytics: true, advertising: true };

/* ---- answers ---- */

/* Set-Cookie of res parsed: { name, value, attrs: {lower-case name: value} },
 * or null when there is none. Asserts there is at most one. */
function setCookie(res) {
    const list = res.headers['set-cookie'];
    if (list === undefined)
        return null;
    assert.equal(list.length, 1, `one Set-Cookie: ${JSON.stringify(list)}`);
    const [pair, ...rest] = list[0].split(';').map((s) => s.trim());
    const eq = pair.indexOf('=');
    const attrs = {};
    for (const a of rest) {
        const i = a.indexOf('=');
        attrs[(i < 0 ? a : a.slice(0, i)).toLowerCase()] = i < 0 ? true : a.slice(i + 1);
    }
    return { name: pair.slice(0, eq), value: pair.slice(eq + 1), attrs };
}

/* The consent cookie res sets, checked (name, value, attributes): the
 * "Cookie" request header value for it ("consent=..."). days: the expected
 * Max-Age in days. */
function assertConsentCookie(res, days = 365, { name = COOKIE_NAME, secure = false } = {}) {
    const c = setCookie(res);
    assert.ok(c, `a Set-Cookie on ${res.status} ${String(res.body).slice(0, 200)}`);
    assert.equal(c.name, name);
    assert.match(c.value, COOKIE_VALUE, 'a 43-character server-issued cookie value');
    const want = { 'max-age': String(days * DAY), path: '/', httponly: true, samesite: 'Lax' };
    if (secure)
        want.secure = true;
    assert.deepEqual(c.attrs, want, `cookie attributes: ${res.headers['set-cookie']}`);
    if (res.json && typeof res.json.consent_id === 'string')
        assert.notEqual(c.value, res.json.consent_id, 'the cookie is not the consent ID');
    return `${c.name}=${c.value}`;
}

/*
 * status, a JSON body of exactly {error: {code, message, ...extra}}. extra:
 * an object (members and their values) or an array of member names whose
 * values are not checked here. res: a stack.request answer, or a raw one
 * ({ status, headers, body }) whose body is parsed here.
 */
function assertError(res, status, code, extra = {}) {
    const what = `${res.status} ${res.headers['content-type']} ${String(res.body).slice(0, 300)}`;
    assert.equal(res.status, status, what);
    assert.match(String(res.headers['content-type']), /^application\/json\b/, what);
    const json = 'json' in res ? res.json : JSON.parse(res.body);
    assert.ok(json && json.error, `an error body, got ${JSON.stringify(res.body)}`);
    assert.deepEqual(Object.keys(json), ['error'], what);
    assert.equal(json.error.code, code, what);
    assert.equal(typeof json.error.message, 'string');
    assert.ok(json.error.message.length > 0, what);
    const names = Array.isArray(extra) ? extra : Object.keys(extra);
    if (!Array.isArray(extra))
        for (const [k, v] of Object.entries(extra))
            assert.deepEqual(json.error[k], v, `error.${k} in ${res.body}`);
    assert.deepEqual(Object.keys(json.error).sort(), ['code', 'message', ...names].sort(), what);
}

/* ---- addresses ---- */

/*
 * A fresh address of a region of the GeoIP fixture (tests/fixtures/
 * make-mmdb.pl) on every call: nginx rate-limits writes per address (10/s,
 * burst 20), so each visitor comes from its own. DE 46.4.0.0/16 (opt-in),
 * CA 12.0.0.0/16 and WA 12.1.0.0/16 (US states), JP 1.0.16.0/20 (notice).
 * The third byte starts at 1: the fixed addresses tests name (46.4.0.1,
 * 12.0.0.1...) are mostly in x.y.0.z.
 */
let issued = 0;
function address(region = 'DE') {
    const n = issued++;
    const a = Math.floor(n / 254) % 250 + 1;
    const b = (n % 254) + 1;
    const ip = { DE: `46.4.${a}.${b}`, CA: `12.0.${a}.${b}`, WA: `12.1.${a}.${b}`,
                 JP: `1.0.${16 + (a % 16)}.${b}` }[region];
    assert.ok(ip, `a region of the fixture: ${region}`);
    return ip;
}

/* ---- requests ---- */

function recordBody(b, action, choices, extra = {}) {
    const body = { site: b.site || 'demo', banner_version: b.banner_version,
                   texts_sha256: b.texts_sha256, action, ...extra };
    if (choices !== undefined)
        body.choices = choices;
    return body;
}

/* POST /consents. body: an object (sent as JSON), or a raw string or Buffer. */
function post(stack, body, { cookie, xff, headers = [], contentType = 'application/json',
                             ua = UA, query = '', timeoutMs } = {}) {
    const h = [];
    if (ua !== null)
        h.push(['User-Agent', ua]);
    if (contentType !== null)
        h.push(['Content-Type', contentType]);
    if (cookie)
        h.push(['Cookie', cookie]);
    return stack.request({ method: 'POST', path: CONSENTS + query, xff, headers: [...h, ...headers],
                           body: typeof body === 'string' || Buffer.isBuffer(body)
                               ? body : JSON.stringify(body),
                           timeoutMs });
}

/* GET /consents/me (with cookie, when given). */
function me(stack, cookie, xff, { headers = [], query = '' } = {}) {
    const h = [['User-Agent', UA]];
    if (cookie)
        h.push(['Cookie', cookie]);
    return stack.request({ path: ME + query, headers: [...h, ...headers], xff });
}

/* DELETE /consents/me?site=demo (with cookie, when given). */
function withdraw(stack, cookie, xff, { site = 'demo', query = '', headers = [] } = {}) {
    const h = [['User-Agent', UA]];
    if (cookie)
        h.push(['Cookie', cookie]);
    return stack.request({ method: 'DELETE', path: `${ME}?site=${site}${query}`,
                           headers: [...h, ...headers], xff });
}

/* GET /banner for site (the visitor's cookie, when it has one). */
function bannerRequest(stack, { xff, cookie, headers = [], query = '', site = 'demo', ua = UA,
                                timeoutMs } = {}) {
    const h = [['User-Agent', ua]];
    if (cookie)
        h.push(['Cookie', cookie]);
    return stack.request({ path: `/consent/v1/banner?site=${site}${query}`, xff,
                           headers: [...h, ...headers], timeoutMs });
}

/* ---- a visitor ---- */

/*
 * A visitor that has not chosen yet: its first banner decision (200, no
 * Set-Cookie, consent_id null). The first record() gives it a cookie and a
 * consent ID. options: xff (a fresh German address() unless given),
 * headers for the banner, ua, site.
 */
async function newVisitor(stack, { xff = address(), headers = [], ua = UA, site = 'demo', cookie = null } = {}) {
    const res = await bannerRequest(stack, { xff, headers, ua, site, cookie });
    assert.equal(res.status, 200, res.body);
    assert.equal(setCookie(res), null, 'the banner never sets a cookie');
    assert.equal(res.json.consent_id, null, 'no consent ID before a choice');
    assert.equal(res.json.stored, null);
    return { stack, xff, ua, site, banner: res.json, first: res, cookie: null, id: null,
             posted: [] };
}

/* The visitor's banner decision (with its cookie once it has one). */
function banner(v, { xff = v.xff, headers = [], query = '', stack = v.stack, site = v.site } = {}) {
    return bannerRequest(stack, { xff, cookie: v.cookie, headers, query, site, ua: v.ua });
}

/*
 * Records action for visitor v and expects 201 with exactly {consent_id,
 * receipt, jws, sha256}, and gpp_ping when the receipt has a GPP string
 * (what the __gpp page API answers from then on). A visitor without a cookie gets one (checked: name,
 * 43 characters, attributes) and its consent ID; one with a cookie keeps its
 * consent ID. Returns the response; its json is also pushed to v.posted.
 */
async function record(v, action, choices, { headers = [], xff = v.xff, b = v.banner,
                                             stack = v.stack, days } = {}) {
    const res = await post(stack, recordBody(b, action, choices),
                           { cookie: v.cookie, xff, headers, ua: v.ua });
    assert.equal(res.status, 201, `${action}: ${res.body}`);
    assert.deepEqual(Object.keys(res.json).sort(),
                     ['consent_id', ...(res.json.receipt.gpp ? ['gpp_ping'] : []), 'jws', 'receipt', 'sha256']);
    assert.match(res.json.consent_id, CONSENT_ID);
    assert.equal(res.json.receipt.consent_id, res.json.consent_id);
    if (v.cookie === null) {
        v.cookie = assertConsentCookie(res, days === undefined ? b.consent_days : days);
        v.id = res.json.consent_id;
        assert.equal(res.json.receipt.seq, 1, 'a new consent ID starts at seq 1');
        assert.equal(res.json.receipt.prev_sha256, ZERO_HASH);
    } else {
        assert.equal(res.json.consent_id, v.id, 'the cookie keeps its consent ID');
        // Every write renews the same cookie (a new Max-Age, never a new value).
        const renewed = setCookie(res);
        assert.ok(renewed, `the cookie renewed on ${action}`);
        assert.equal(`${renewed.name}=${renewed.value}`, v.cookie, 'the cookie is renewed, not replaced');
    }
    v.posted.push(res.json);
    return res;
}

/* A new visitor that records one choice: { v, cookie, consentId, receipt,
 * jws, sha256, res }. */
async function recordChoice(stack, { xff, action = 'reject_all', choices, headers = [] } = {}) {
    const v = await newVisitor(stack, { xff, headers });
    const res = await record(v, action, choices, { headers });
    return { v, cookie: v.cookie, consentId: v.id, receipt: res.json.receipt,
             jws: res.json.jws, sha256: res.json.sha256, res };
}

/* A visitor with [reject_all, custom, accept_all] written (oldest first). */
async function threeReceipts(stack, { xff, ua } = {}) {
    const v = await newVisitor(stack, { xff, ua });
    await record(v, 'reject_all');
    await record(v, 'custom', { functional: true, analytics: false, advertising: false });
    await record(v, 'accept_all');
    return v;
}

/* GET /consents/me for v: asserts 200 and its consent ID; the history. */
async function history(v, stack = v.stack) {
    const res = await me(stack, v.cookie, v.xff);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.consent_id, v.id);
    return res.json;
}

/* ---- Redis keys of format v2 ---- */

const keys = {
    history: (id) => `c:{${id}}`,           // "m": sealed head, "1", "2"...: receipts
    tombstone: (id) => `c:{${id}}:t`,       // "n", "e1", "e2"...
    audit: 'consent:audit',
};

/* A receipt ID (UUID text) as its 16 bytes. */
const rawReceiptId = (uuid) => Buffer.from(uuid.replace(/-/g, ''), 'hex');

/*
 * The stored receipts of c:{ID} (r: a lib/redis.js connection): a Map from
 * seq to { bytes, sig, prev } (cgi/receipt.h: 0 version 2 | 1 signature (64)
 * | 65 prev_sha256 (32) | 97 context ref (8) | ...); the head "m" left out.
 * Receipt IDs are not stored: they are derived from the consent ID and seq.
 */
async function storedReceipts(r, consentId) {
    const flat = await r.cmd('HGETALL', keys.history(consentId));
    const out = new Map();
    for (let i = 0; i < flat.length; i += 2) {
        const field = flat[i].toString('latin1');
        if (field === 'm')
            continue;
        const b = flat[i + 1];
        assert.match(field, /^[1-9][0-9]*$/, `a sequence number field in ${keys.history(consentId)}`);
        assert.equal(b[0], 2, `stored receipt ${field} of ${consentId} is version 2`);
        assert.ok(b.length >= 114, `stored receipt ${field}: ${b.length} bytes`);
        out.set(Number(field), { bytes: b, sig: b.subarray(1, 65), prev: b.subarray(65, 97) });
    }
    return out;
}

/* Is the 201 answer a (its receipt and JWS) stored exactly: under its
 * consent ID and seq, with its signature and prev_sha256? stored: the Map of
 * storedReceipts for a.consent_id. */
function isStored(stored, a) {
    const s = stored.get(a.receipt.seq);
    return s !== undefined &&
        s.sig.equals(Buffer.from(a.jws.split('.')[2], 'base64url')) &&
        s.prev.toString('hex') === a.receipt.prev_sha256;
}

/*
 * The consent ID the receipt index names for a receipt ID (a UUID), or null:
 * bucket r:<the first 3 hex digits of the receipt ID>, field the 16 raw
 * bytes of the receipt ID, value the 16 bytes of the consent ID.
 */
async function indexedConsentId(r, receiptId) {
    const raw = rawReceiptId(receiptId);
    const v = await r.cmd('HGET', `r:${raw.toString('hex').slice(0, 3)}`, raw);
    if (v === null)
        return null;
    assert.equal(v.length, 16, `an index entry holds the 16 bytes of a consent ID: ${v.toString('hex')}`);
    return v.toString('base64url');
}

module.exports = {
    ADMIN, BANNER, CONSENTS, COOKIE_NAME, COOKIE_VALUE, CONSENT_ID, DAY, ME, UA, RECEIPT_UUID,
    ZERO_HASH, address, allOff, allOn, assertConsentCookie, assertError, banner, bannerRequest,
    history, indexedConsentId, isStored, keys, me, newVisitor, post, rawReceiptId, record,
    recordBody, recordChoice, setCookie, sha256, storedReceipts, threeReceipts, uaHash, withdraw,
};
