'use strict';
/*
 * receipts.test.js - recording choices as signed, chained receipts through a
 * real nginx -> consentd (FastCGI) -> redis-server stack: the round trip,
 * receipt fields, Ed25519/JWS signatures, tamper and chain detection, the
 * history bound and TTLs, the prompt rules over time, GPC, request
 * validation, malformed cookies, Redis outages and concurrent writes.
 *
 * Redis is read and changed directly with a small RESP client (below) to
 * check what is stored and to tamper with it. Every request that must fail
 * also checks that Redis is exactly as it was before (every key, field and
 * list element, compared byte for byte).
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/receipts.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { ROOT, makeTempDir, poll, removeDir, startStack } = require('./lib/stack');
const { withStack } = require('./lib/suite');
const { allKeys, isAnalyticsKey, snapshot, withRedis } = require('./lib/redis');
const { verifyJws, jwks } = require('./lib/jws');
const V = require('./lib/visitor');

const {
    BANNER, CONSENTS, ME, ZERO_HASH, RECEIPT_UUID, CONSENT_ID, COOKIE_VALUE, allOff, allOn,
    assertConsentCookie, assertError, recordBody, setCookie, sha256, uaHash, keys,
} = V;

/* 2026-11-22T00:00:00Z: after every gpc_binding_since date in rules.json. */
const NOW = Date.UTC(2026, 10, 22) / 1000;
const DAY = 86400;
const OPTIONAL = ['functional', 'analytics', 'advertising'];

/*
 * Regions by the networks of the geoip2 fixture (tests/fixtures/make-mmdb.pl).
 * nginx rate-limits /consents and /consents/me per client address (10 r/s,
 * burst 20: nginx/consent-http.conf), so each visitor gets addresses of its
 * own: addr(region) hands out a fresh one every call (V.address, kept in
 * USED_ADDRS). 46.4.0.x, which it never gives, is left for the test that
 * checks the stored network.
 */
const DE = 'DE';            // 46.4.0.0/16   DE-BY, gdpr, opt-in, 365 days
const CA = 'CA';            // 12.0.0.0/16   US-CA, ccpa, opt-out, 365 days, quiet 365
const WA = 'WA';            // 12.1.0.0/16   US-WA, us-notice, notice
const JP = 'JP';            // 1.0.16.0/20   JP, appi, notice
const USED_ADDRS = [];
function addr(region) {
    const ip = V.address(region);
    USED_ADDRS.push(ip);
    return ip;
}
/* An address as given, or a fresh one of a region. */
const where = (x) => (/[.:]/.test(x) ? x : addr(x));
const UA = V.UA;

const RULES = JSON.parse(fs.readFileSync(path.join(ROOT, 'geo', 'rules.json'), 'utf8'));
const REGIME = Object.fromEntries(RULES.regimes.map((r) => [r.id, r]));

/* Every key, field and value in Redis as latin1 text (for grepping). */
async function dumpText(stack) {
    const snap = await snapshot(stack);
    const parts = [];
    for (const [key, { type, value }] of Object.entries(snap)) {
        parts.push(key);
        if (type === 'hash') {
            for (const [f, v] of Object.entries(value))
                parts.push(f, Buffer.from(v, 'base64').toString('latin1'));
        } else if (type === 'list') {
            parts.push(...value.map((v) => Buffer.from(v, 'base64').toString('latin1')));
        } else if (type === 'string') {
            parts.push(Buffer.from(value, 'base64').toString('latin1'));
        }
    }
    return parts.join('\n');
}

/* Runs fn and asserts that Redis is byte for byte what it was before. */
async function assertNothingWritten(stack, fn) {
    const beforeSnap = await snapshot(stack);
    const result = await fn();
    const afterSnap = await snapshot(stack);
    assert.deepEqual(afterSnap, beforeSnap, 'nothing may be written to Redis');
    return result;
}

/* ---- HTTP helpers (lib/visitor.js, with addresses by region) ---- */

/* A visitor before its first choice (no cookie, no consent ID yet). */
const newVisitor = (stack, region = DE, headers = []) =>
    V.newVisitor(stack, { xff: where(region), headers });
const banner = (v, { xff = v.xff, ...rest } = {}) => V.banner(v, { xff: where(xff), ...rest });
const post = (stack, body, { xff = DE, ...rest } = {}) => V.post(stack, body, { xff: where(xff), ...rest });
const me = (stack, cookie, xff = DE) => V.me(stack, cookie, where(xff));
const withdraw = (stack, cookie, xff = DE, opts) => V.withdraw(stack, cookie, where(xff), opts);
const { record, history } = V;

/* A visitor with one receipt (reject_all unless action is given). */
async function chosen(stack, region = DE, action = 'reject_all', headers = []) {
    const v = await newVisitor(stack, region, headers);
    await record(v, action, undefined, { headers });
    return v;
}

/* Stops every stack (each one even when another's stop() throws), then
 * throws the first error. */
async function stopAll(stacks) {
    const errors = [];
    for (const s of stacks) {
        if (!s)
            continue;
        try {
            await s.stop();
        } catch (e) {
            errors.push(e);
        }
    }
    if (errors.length > 0)
        throw errors[0];
}

/* ======================================================================= */

describe('receipts', () => {
    let stack;
    before(async () => {
        // 20 concurrent POSTs below: more workers than nginx keepalive + 20.
        stack = await startStack({ configure: (cfg) => { cfg.workers = 64; } });
    });
    after(async () => {
        if (stack)
            await stack.stop();
    });

    it('round trip: banner, reject_all, custom, withdraw; history, chain and cookie', async () => {
        const v = await newVisitor(stack);     // checks: no Set-Cookie, consent_id null
        assert.equal(v.banner.prompt, true);
        assert.equal(v.banner.stored, null);
        assert.equal(v.banner.store, 'ok');
        assert.equal(setCookie(v.first), null, 'no cookie before a choice');

        // No cookie yet: /me says so.
        assertError(await me(stack, v.cookie), 404, 'no_consent');

        const r1 = await record(v, 'reject_all');      // issues the cookie (checked)
        assert.match(v.cookie, /^consent=/);
        assert.notEqual(v.cookie.slice('consent='.length), v.id, 'the cookie is not the ID');
        assert.deepEqual(r1.json.receipt.choices, allOff);
        assert.equal(r1.json.receipt.action, 'reject_all');
        assert.equal(r1.json.receipt.seq, 1);
        assert.equal(r1.json.receipt.prev_sha256, ZERO_HASH);

        let h = await history(v);
        assert.equal(h.receipts_written, 1);
        assert.equal(h.receipts.length, 1);
        assert.equal(h.all_valid, true);
        assert.equal(h.verdict, 'verified');
        assert.deepEqual(h.findings, []);
        assert.equal(h.head.count, 1);
        assert.equal(h.head.first, 1);
        assert.equal(h.head.head_sha256, r1.json.sha256);
        assert.equal(h.head.seal_valid, true);
        assert.deepEqual(h.receipts[0].receipt, r1.json.receipt);
        assert.equal(h.receipts[0].seq, 1);
        assert.equal(h.receipts[0].sha256, r1.json.sha256);
        assert.equal(h.receipts[0].jws, r1.json.jws);
        assert.equal(h.receipts[0].verdict, 'ok');
        assert.equal(h.receipts[0].signature_valid, true);
        assert.equal(h.receipts[0].chain_valid, true);
        assert.deepEqual(h.state, { demo: {
            receipt_id: r1.json.receipt.receipt_id, seq: 1, action: 'reject_all',
            time_ms: r1.json.receipt.time_ms, expires_ms: r1.json.receipt.expires_ms,
            choices: allOff,
        } });
        assert.ok(!('tombstone' in h), 'the tombstone is for support staff only');

        let back = await banner(v);
        assert.equal(back.status, 200);
        assert.equal(setCookie(back), null, 'the banner never sets a cookie');
        assert.equal(back.json.consent_id, v.id);
        assert.equal(back.json.prompt, false);
        assert.equal(back.json.stored.receipt_id, r1.json.receipt.receipt_id);
        assert.equal(back.json.stored.seq, 1);
        assert.equal(back.json.stored.action, 'reject_all');
        assert.deepEqual(back.json.choices, allOff);

        const custom = { functional: false, analytics: true, advertising: false };
        const r2 = await record(v, 'custom', custom);
        assert.deepEqual(r2.json.receipt.choices, { necessary: true, ...custom });
        assert.equal(r2.json.receipt.seq, 2);
        assert.equal(r2.json.receipt.prev_sha256, r1.json.sha256);

        h = await history(v);
        assert.equal(h.receipts_written, 2);
        assert.deepEqual(h.receipts.map((x) => x.receipt.action), ['custom', 'reject_all'],
                         'newest first');
        assert.deepEqual(h.receipts.map((x) => x.seq), [2, 1]);
        assert.equal(h.receipts[0].receipt.prev_sha256, h.receipts[1].sha256);
        assert.equal(h.receipts[1].receipt.prev_sha256, ZERO_HASH);
        assert.equal(h.head.head_sha256, r2.json.sha256);
        assert.equal(h.all_valid, true);

        back = await banner(v);
        assert.equal(back.json.prompt, false);
        assert.deepEqual(back.json.stored, {
            receipt_id: r2.json.receipt.receipt_id, seq: 2, action: 'custom',
            banner_version: v.banner.banner_version,
            time_ms: r2.json.receipt.time_ms, expires_ms: r2.json.receipt.expires_ms,
        });
        assert.deepEqual(back.json.choices, { necessary: true, ...custom },
                         'the stored choices apply');

        const w = await withdraw(stack, v.cookie, v.xff);
        assert.equal(w.status, 201, w.body);
        assert.equal(w.json.consent_id, v.id);
        assert.equal(w.json.receipt.action, 'withdraw');
        assert.equal(w.json.receipt.seq, 3);
        assert.deepEqual(w.json.receipt.choices, allOff);
        assert.equal(w.json.receipt.prev_sha256, r2.json.sha256);

        h = await history(v);
        assert.equal(h.receipts_written, 3);
        assert.deepEqual(h.receipts.map((x) => x.receipt.action),
                         ['withdraw', 'custom', 'reject_all']);
        for (const x of h.receipts) {
            assert.equal(x.verdict, 'ok');
            assert.equal(x.signature_valid, true);
            assert.equal(x.chain_valid, true);
        }
        assert.equal(h.all_valid, true);
        assert.equal(h.state.demo.action, 'withdraw');
        assert.equal(h.state.demo.seq, 3);
        for (const id of OPTIONAL)
            assert.equal(h.receipts[0].receipt.choices[id], false, `${id} off after withdraw`);

        back = await banner(v);
        assert.equal(back.json.stored.action, 'withdraw');
        assert.deepEqual(back.json.choices, allOff);
    });

    it('a write with the issued cookie renews it: same value, a fresh Max-Age',
       async () => {
           const v = await chosen(stack);
           const again = await record(v, 'accept_all');
           assert.equal(assertConsentCookie(again, 365), v.cookie, 'the same cookie, renewed');
           const w = await withdraw(stack, v.cookie, v.xff);
           assert.equal(w.status, 201, w.body);
           assert.equal(assertConsentCookie(w, 365), v.cookie);
       });

    it('the banner never sets a cookie: without one, with an issued one, with a planted one', async () => {
        const v = await chosen(stack);
        for (const cookie of [null, v.cookie, `consent=${'A'.repeat(43)}`, `consent=${v.id}`]) {
            const b = await V.bannerRequest(stack, { xff: addr(DE), cookie });
            assert.equal(b.status, 200, b.body);
            assert.equal(setCookie(b), null, `no Set-Cookie with ${cookie}`);
            assert.equal(b.json.consent_id, cookie === v.cookie ? v.id : null, String(cookie));
        }
    });

    it('receipt fields', async () => {
        const key = await jwks(stack);
        const v = await newVisitor(stack, '46.4.0.1');
        const t0 = Date.now();
        const res = await record(v, 'accept_all');
        const t1 = Date.now();
        const r = res.json.receipt;

        assert.deepEqual(Object.keys(r), [
            'receipt_version', 'receipt_id', 'consent_id', 'seq', 'prev_sha256', 'site',
            'time_ms', 'expires_ms', 'jurisdiction', 'gpc', 'action', 'choices', 'opted_out',
            'purposes', 'banner', 'language', 'policy_url', 'controller', 'client_network',
            'user_agent_hash', 'kid',
        ], 'the payload fields, in order');
        assert.equal(r.receipt_version, 'consent-receipt/2');
        assert.match(r.receipt_id, RECEIPT_UUID);
        assert.equal(r.consent_id, v.id);
        assert.match(r.consent_id, CONSENT_ID);
        assert.equal(r.seq, 1);
        assert.equal(r.prev_sha256, ZERO_HASH);
        assert.equal(r.site, 'demo');
        assert.ok(Number.isInteger(r.time_ms));
        assert.ok(r.time_ms >= t0 - 1000 && r.time_ms <= t1 + 1000,
                  `time_ms ${r.time_ms} within [${t0}, ${t1}]`);
        assert.equal(r.expires_ms, r.time_ms + REGIME.gdpr.consent_days * DAY * 1000);
        assert.deepEqual(r.jurisdiction, { region: 'DE-BY', regime: 'gdpr', model: 'opt-in' });
        assert.deepEqual(r.gpc, { sent: false, honoured: false, binding: false });
        assert.equal(r.action, 'accept_all');
        assert.deepEqual(r.choices, allOn);
        assert.equal(r.opted_out, false);
        const demo = stack.config.sites.find((s) => s.id === 'demo');
        assert.deepEqual(Object.keys(r.purposes), demo.categories.map((c) => c.id));
        for (const c of demo.categories) {
            const p = r.purposes[c.id];
            assert.deepEqual(Object.keys(p), ['name', 'necessary', 'sale_sharing']);
            assert.equal(typeof p.name, 'string');
            assert.ok(p.name.length > 0);
            assert.equal(p.necessary, c.necessary === true, `${c.id}.necessary`);
            assert.equal(p.sale_sharing, c.sale_sharing === true, `${c.id}.sale_sharing`);
        }
        assert.deepEqual(r.banner, {
            version: '2026-11-01', consent_revision: 1,
            texts_sha256: v.banner.texts_sha256, model: 'opt-in',
        });
        assert.equal(r.language, 'en');
        assert.equal(r.policy_url, demo.policy_url);
        assert.deepEqual(Object.keys(r.controller), ['name', 'contact', 'address', 'email', 'phone']);
        assert.equal(r.client_network, '46.4.0.0/24');
        assert.equal(r.user_agent_hash, uaHash(UA));
        assert.match(r.user_agent_hash, /^[0-9a-f]{16}$/);
        assert.equal(r.kid, key.kid);
        assert.ok(!('user_agent_sha256' in r) && !('preview' in r));

        // Each new receipt gets its own ID and the next seq.
        const again = await record(v, 'reject_all');
        assert.match(again.json.receipt.receipt_id, RECEIPT_UUID);
        assert.notEqual(again.json.receipt.receipt_id, r.receipt_id);
        assert.equal(again.json.receipt.seq, 2);
        assert.equal(again.json.receipt.prev_sha256, res.json.sha256);

        // The sealed head names the latest receipt; the receipts are stored
        // compactly under their seq (not as text).
        const stored = await withRedis(stack, (c) => c.cmd('HGETALL', keys.history(v.id)));
        const fields = [];
        for (let i = 0; i < stored.length; i += 2)
            fields.push(stored[i].toString());
        assert.deepEqual(fields.sort(), ['1', '2', 'm']);
        const h = await history(v);
        assert.equal(h.state.demo.receipt_id, again.json.receipt.receipt_id);
        assert.equal(h.head.head_sha256, again.json.sha256);

        // The full address is nowhere in Redis (every key, field and value).
        const text = await dumpText(stack);
        assert.ok(!text.includes('46.4.0.1'), 'the full address is never stored');
        for (const ip of USED_ADDRS)
            assert.ok(!text.includes(ip), `no full address of any visitor so far: ${ip}`);
        assert.ok(!text.includes(UA), 'the User-Agent itself is never stored');
        assert.ok(!text.includes(v.cookie.slice('consent='.length)), 'the cookie secret is never stored');
        assert.ok(!text.includes(r.receipt_id), 'no receipt is stored as text');
    });

    it('signatures: every JWS verifies with the JWKS key and matches the receipt', async () => {
        const key = await jwks(stack);
        assert.equal(key.kty, 'OKP');
        assert.equal(key.crv, 'Ed25519');
        assert.equal(key.alg, 'EdDSA');
        const v = await newVisitor(stack);
        const posted = [
            await record(v, 'reject_all'),
            await record(v, 'custom', { functional: true, analytics: false, advertising: true }),
            await record(v, 'accept_all'),
        ];
        for (const res of posted) {
            const { ok, header, payload } = verifyJws(res.json.jws, key);
            assert.equal(ok, true, 'the JWS of the 201 verifies');
            assert.deepEqual(Object.keys(header), ['alg', 'kid']);
            assert.deepEqual(header, { alg: 'EdDSA', kid: key.kid });
            assert.equal(payload.toString('utf8'), JSON.stringify(res.json.receipt),
                         'the JWS payload is the receipt, byte for byte');
            assert.equal(sha256(payload), res.json.sha256);
        }
        const h = await history(v);
        assert.equal(h.receipts.length, 3);
        assert.deepEqual(h.receipts.map((x) => x.jws), posted.map((p) => p.json.jws).reverse());
        for (const x of h.receipts) {
            const { ok, header, payload } = verifyJws(x.jws, key);
            assert.equal(ok, true, 'the JWS of /me verifies');
            assert.equal(header.kid, x.receipt.kid);
            assert.equal(payload.toString('utf8'), JSON.stringify(x.receipt));
            assert.equal(sha256(payload), x.sha256);
        }
        // The stored form carries the 64-byte signature (after a version
        // byte) and prev_sha256; the payload is rebuilt from it (the
        // receipt ID is derived from the consent ID and seq).
        const stored = await withRedis(stack, async (c) =>
            Promise.all(['1', '2', '3'].map((f) => c.cmd('HGET', keys.history(v.id), f))));
        stored.forEach((b, i) => {
            const [, , s] = posted[i].json.jws.split('.');
            assert.ok(b.length >= 123 && b.length <= 129, `a compact stored receipt: ${b.length} bytes`);
            assert.deepEqual(b.subarray(1, 65), Buffer.from(s, 'base64url'));
            assert.equal(b.subarray(65, 97).toString('hex'), posted[i].json.receipt.prev_sha256);
            assert.match(posted[i].json.receipt.receipt_id, /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab]/);
        });
        // The head statement is signed with the same key.
        const head = verifyJws(h.head.jws, key);
        assert.equal(head.ok, true, 'the sealed head verifies');
        // The verifier itself rejects a changed payload.
        const [hh, pp, ss] = posted[0].json.jws.split('.');
        const changed = Buffer.from(pp, 'base64url').toString().replace('reject_all', 'accept_all');
        assert.equal(verifyJws(`${hh}.${Buffer.from(changed).toString('base64url')}.${ss}`, key).ok,
                     false);
    });

    describe('tamper detection', () => {
        /* Stored receipt layout (cgi/receipt.h RECEIPT_AT_*): version byte,
         * 64-byte signature, 32-byte prev_sha256, 8-byte context reference,
         * 6-byte time_ms, flags (action in the low 3 bits), choices... */
        const SIG = 1;
        const TIME = 1 + 64 + 32 + 8;
        const FLAGS = TIME + 6;

        /* A visitor with [accept_all, reject_all, custom] (oldest first). */
        async function threeReceipts() {
            const v = await newVisitor(stack);
            await record(v, 'accept_all');
            await record(v, 'reject_all');
            await record(v, 'custom', { functional: true, analytics: true, advertising: false });
            const h = await history(v);
            assert.equal(h.all_valid, true);
            return { v, h };
        }

        async function tamper(v, seq, change) {
            await withRedis(stack, async (c) => {
                const b = await c.cmd('HGET', keys.history(v.id), String(seq));
                const nb = change(Buffer.from(b));
                assert.notDeepEqual(nb, b, 'the tamper changed something');
                assert.equal(nb.length, b.length);
                assert.equal(await c.cmd('HSET', keys.history(v.id), String(seq), nb), 0);
            });
        }

        it('"reject_all" -> "accept_all" in the middle receipt: its signature fails, the others hold', async () => {
            const { v, h: before0 } = await threeReceipts();
            await tamper(v, 2, (b) => {
                assert.equal(b[FLAGS] & 7, 1, 'reject_all is stored as action 1');
                b[FLAGS] &= ~7;     // accept_all
                return b;
            });
            const h = await history(v);
            assert.equal(h.receipts.length, 3);
            assert.deepEqual(h.receipts.map((x) => x.signature_valid), [true, false, true]);
            assert.deepEqual(h.receipts.map((x) => x.verdict)[1], 'bad_signature');
            assert.equal(h.receipts[1].receipt.action, 'accept_all', 'shows what is stored');
            assert.notEqual(h.receipts[1].sha256, before0.receipts[1].sha256);
            assert.equal(h.receipts[1].chain_valid, false);
            assert.equal(h.receipts[0].chain_valid, false,
                         'the newer receipt names the original hash');
            assert.equal(h.receipts[2].chain_valid, true);
            assert.equal(h.receipts[2].verdict, 'ok');
            assert.equal(h.all_valid, false);
            assert.equal(h.verdict, 'failed');
            assert.ok(h.findings.includes('receipt_failed'), JSON.stringify(h.findings));
        });

        it('one digit of time_ms in the newest receipt: its signature fails', async () => {
            const { v } = await threeReceipts();
            await tamper(v, 3, (b) => {
                b[TIME + 5] ^= 0x01;        // one millisecond
                return b;
            });
            const h = await history(v);
            assert.deepEqual(h.receipts.map((x) => x.signature_valid), [false, true, true]);
            assert.equal(h.receipts[0].verdict, 'bad_signature');
            assert.equal(h.receipts[0].chain_valid, false, 'no longer the head');
            assert.ok(h.findings.includes('head_hash'), JSON.stringify(h.findings));
            assert.equal(h.all_valid, false);
        });

        it('one byte of a stored signature: signature_valid false, the receipts above chained to a bad one', async () => {
            const { v, h: before0 } = await threeReceipts();
            await tamper(v, 1, (b) => {
                b[SIG + 10] ^= 0x01;
                return b;
            });
            const h = await history(v);
            assert.deepEqual(h.receipts.map((x) => x.signature_valid), [true, true, false]);
            assert.equal(h.receipts[2].verdict, 'bad_signature');
            assert.equal(h.receipts[2].sha256, before0.receipts[2].sha256,
                         'the payload itself is unchanged');
            assert.equal(h.all_valid, false);
            assert.equal(h.verdict, 'failed');
        });
    });

    describe('broken chain', () => {
        async function threeReceipts() {
            const v = await newVisitor(stack);
            const posted = [await record(v, 'accept_all'), await record(v, 'reject_all'),
                            await record(v, 'accept_all')];
            return { v, posted };
        }

        it('the middle receipt deleted: a gap, the one above it has chain_valid false', async () => {
            const { v, posted } = await threeReceipts();
            await withRedis(stack, async (c) => {
                assert.equal(await c.cmd('HDEL', keys.history(v.id), '2'), 1);
            });
            const h = await history(v);
            assert.equal(h.receipts_written, 3);
            assert.deepEqual(h.receipts.map((x) => x.seq), [3, 1]);
            assert.deepEqual(h.receipts.map((x) => x.receipt.receipt_id),
                             [posted[2].json.receipt.receipt_id, posted[0].json.receipt.receipt_id]);
            assert.equal(h.receipts[1].sha256, posted[0].json.sha256);
            assert.deepEqual(h.receipts.map((x) => x.verdict), ['chain_broken', 'ok']);
            assert.deepEqual(h.receipts.map((x) => x.chain_valid), [false, true]);
            assert.equal(h.receipts[1].signature_valid, true);
            assert.ok(h.findings.includes('gap'), JSON.stringify(h.findings));
            assert.equal(h.all_valid, false);
        });

        it('the newest receipt deleted: it no longer matches the head', async () => {
            const { v } = await threeReceipts();
            await withRedis(stack, (c) => c.cmd('HDEL', keys.history(v.id), '3'));
            const h = await history(v);
            assert.equal(h.receipts.length, 2);
            assert.equal(h.receipts_written, 3);
            assert.ok(h.findings.includes('missing_newest'), JSON.stringify(h.findings));
            assert.equal(h.all_valid, false);
            assert.equal(h.verdict, 'failed');
        });

        // Not in the brief: with max_history 100 and 3 receipts written,
        // nothing can have been trimmed: the head says first is 1.
        it('the oldest receipt deleted while nothing was trimmed is detected', async () => {
            const { v } = await threeReceipts();
            await withRedis(stack, (c) => c.cmd('HDEL', keys.history(v.id), '1'));
            const h = await history(v);
            assert.equal(h.receipts_written, 3);
            assert.equal(h.head.first, 1);
            assert.deepEqual(h.receipts.map((x) => x.seq), [3, 2]);
            assert.deepEqual(h.receipts.map((x) => x.verdict), ['ok', 'chain_broken'],
                             'first is 1: receipt 2 has no predecessor to chain to; 3 still links to 2');
            assert.deepEqual(h.receipts.map((x) => x.chain_valid), [true, false]);
            assert.ok(h.findings.includes('missing_oldest'), JSON.stringify(h.findings));
            assert.equal(h.all_valid, false);
        });
        it('a receipt above a gap is never reported signature_valid with a jws that does not verify',
           async () => {
               const key = await jwks(stack);
               const { v } = await threeReceipts();
               await withRedis(stack, (c) => c.cmd('HDEL', keys.history(v.id), '2'));
               const h = await history(v);
               for (const x of h.receipts)
                   if (x.signature_valid)
                       assert.equal(verifyJws(x.jws, key).ok, true,
                                    `seq ${x.seq} says signature_valid but its jws does not verify`);
           });
    });

    describe('Global Privacy Control (US-CA, binding)', () => {
        const GPC = [['Sec-GPC', '1']];

        let locked;     // a US-CA visitor with GPC and one stored receipt
        before(async () => {
            locked = await newVisitor(stack, CA, GPC);
            await record(locked, 'reject_all', undefined, { headers: GPC });
        });

        it('the decision locks advertising off', () => {
            const ad = locked.banner.categories.find((c) => c.id === 'advertising');
            assert.equal(locked.banner.jurisdiction.regime, 'ccpa');
            assert.equal(locked.banner.gpc.binding, true);
            assert.equal(ad.locked, 'gpc');
            assert.equal(ad.default, false);
            assert.equal(ad.changeable, false);
        });

        for (const [action, choices] of [
            ['custom', { functional: true, analytics: true, advertising: true }],
            ['accept_all', { advertising: true }],
            ['gpc', { advertising: true }],
        ]) {
            it(`${action} with advertising true -> 422 category_locked, nothing written`, async () => {
                await assertNothingWritten(stack, async () => {
                    const res = await post(stack, recordBody(locked.banner, action, choices),
                                           { cookie: locked.cookie, xff: locked.xff, headers: GPC });
                    assertError(res, 422, 'category_locked', { category: 'advertising' });
                });
            });
        }

        it('action gpc -> 201, gpc honoured and binding, advertising off', async () => {
            const v = await newVisitor(stack, CA, GPC);
            const res = await record(v, 'gpc', undefined, { headers: GPC });
            const r = res.json.receipt;
            assert.equal(r.action, 'gpc');
            assert.deepEqual(r.gpc, { sent: true, honoured: true, binding: true });
            assert.deepEqual(r.jurisdiction, { region: 'US-CA', regime: 'ccpa', model: 'opt-out' });
            assert.deepEqual(r.choices, { necessary: true, functional: true, analytics: true,
                                          advertising: false });
            assert.equal(r.banner.model, 'opt-out');
            assert.equal(r.opted_out, true, 'advertising (sale/sharing) is off');

            // accept_all under binding GPC leaves advertising off, honoured.
            const all = await record(v, 'accept_all', undefined, { headers: GPC });
            assert.equal(all.json.receipt.choices.advertising, false);
            assert.deepEqual(all.json.receipt.gpc, { sent: true, honoured: true, binding: true });

            const back = await banner(v, { headers: GPC });
            assert.equal(back.json.prompt, false);
            assert.equal(back.json.choices.advertising, false);
        });
    });

    describe('request validation (nothing written)', () => {
        let v;
        let good;
        before(async () => {
            v = await newVisitor(stack);
            await record(v, 'reject_all');     // writes would show in the snapshot
            good = recordBody(v.banner, 'accept_all');
        });

        const cases = [
            ['Content-Type text/plain -> 415', 415, 'unsupported_media_type', {},
             () => ({ body: JSON.stringify(good), contentType: 'text/plain' })],
            ['no Content-Type -> 415', 415, 'unsupported_media_type', {},
             () => ({ body: JSON.stringify(good), contentType: null })],
            ['empty body -> 400 invalid_json', 400, 'invalid_json', {}, () => ({ body: '' })],
            ['{bad json -> 400 invalid_json', 400, 'invalid_json', {}, () => ({ body: '{bad json' })],
            ['[] -> 400 invalid_json', 400, 'invalid_json', {}, () => ({ body: '[]' })],
            ['a JSON string -> 400 invalid_json', 400, 'invalid_json', {},
             () => ({ body: '"accept_all"' })],
            ['trailing garbage -> 400 invalid_json', 400, 'invalid_json', {},
             () => ({ body: `${JSON.stringify(good)} x` })],
            ['two objects -> 400 invalid_json', 400, 'invalid_json', {},
             () => ({ body: `${JSON.stringify(good)}${JSON.stringify(good)}` })],
            ['unknown field -> 400 unknown_field', 400, 'unknown_field', { field: 'colour' },
             () => ({ body: { ...good, colour: 'blue' } })],
            ['site 5 -> 400 invalid_field', 400, 'invalid_field', { field: 'site' },
             () => ({ body: { ...good, site: 5 } })],
            ['no site -> 400 invalid_field', 400, 'invalid_field', { field: 'site' },
             () => { const b = { ...good }; delete b.site; return { body: b }; }],
            ['action 1 -> 400 invalid_field', 400, 'invalid_field', { field: 'action' },
             () => ({ body: { ...good, action: 1 } })],
            ['action "maybe" -> 400 invalid_field', 400, 'invalid_field', { field: 'action' },
             () => ({ body: { ...good, action: 'maybe' } })],
            ['banner_version 5 -> 400 invalid_field', 400, 'invalid_field', { field: 'banner_version' },
             () => ({ body: { ...good, banner_version: 5 } })],
            ['texts_sha256 upper-case -> 400 invalid_field', 400, 'invalid_field', { field: 'texts_sha256' },
             () => ({ body: { ...good, texts_sha256: good.texts_sha256.toUpperCase() } })],
            ['choices [] -> 400 invalid_field', 400, 'invalid_field', { field: 'choices' },
             () => ({ body: { ...good, choices: [] } })],
            ['choices {"analytics":"yes"} -> 400 invalid_field', 400, 'invalid_field', { field: 'choices' },
             () => ({ body: { ...good, action: 'custom', choices: { analytics: 'yes' } } })],
            ['unknown site -> 404 unknown_site', 404, 'unknown_site', {},
             () => ({ body: { ...good, site: 'nosuch' } })],
            ['unknown category -> 422 unknown_category', 422, 'unknown_category', { category: 'tracking' },
             () => ({ body: { ...good, choices: { tracking: true } } })],
            ['necessary false -> 422 necessary_category', 422, 'necessary_category', { category: 'necessary' },
             () => ({ body: { ...good, action: 'reject_all', choices: { necessary: false } } })],
            ['custom missing a category -> 422 missing_category', 422, 'missing_category', { category: 'advertising' },
             () => ({ body: { ...good, action: 'custom', choices: { functional: true, analytics: false } } })],
            ['accept_all with a false choice -> 422 choices_mismatch', 422, 'choices_mismatch', { category: 'analytics' },
             () => ({ body: { ...good, choices: { analytics: false } } })],
            ['reject_all with a true choice -> 422 choices_mismatch', 422, 'choices_mismatch', { category: 'functional' },
             () => ({ body: { ...good, action: 'reject_all', choices: { functional: true } } })],
            ['stale banner_version -> 409 stale_banner', 409, 'stale_banner', { current_version: '2026-11-01' },
             () => ({ body: { ...good, banner_version: '2025-01-01' } })],
            ['texts_sha256 not the site\'s -> 409 stale_banner', 409, 'stale_banner', { current_version: '2026-11-01' },
             () => ({ body: { ...good, texts_sha256: sha256('not the texts') } })],
            ['9000-byte body -> 413 body_too_large', 413, 'body_too_large', {},
             () => ({ body: JSON.stringify(good) + ' '.repeat(9000 - JSON.stringify(good).length) })],
            ['Origin not the site\'s -> 403 origin_not_allowed', 403, 'origin_not_allowed', {},
             () => ({ body: good, headers: [['Origin', 'https://evil.example']] })],
            ['Origin of another site -> 403 origin_not_allowed', 403, 'origin_not_allowed', {},
             () => ({ body: good, headers: [['Origin', 'https://shop.example']] })],
        ];

        for (const [name, status, code, extra, make] of cases) {
            it(name, async () => {
                const { body, contentType = 'application/json', headers = [] } = make();
                if (code === 'body_too_large')
                    assert.equal(Buffer.byteLength(body), 9000);
                await assertNothingWritten(stack, async () => {
                    const res = await post(stack, body, { cookie: v.cookie, contentType, headers });
                    assertError(res, status, code, extra);
                });
            });
        }

        it('the same body from an allowed Origin -> 201 with CORS headers', async () => {
            const res = await post(stack, good, { cookie: v.cookie,
                                                  headers: [['Origin', 'http://127.0.0.1:8080']] });
            assert.equal(res.status, 201, res.body);
            assert.equal(res.headers['access-control-allow-origin'], 'http://127.0.0.1:8080');
            assert.equal(res.headers['access-control-allow-credentials'], 'true');
            assert.equal(res.headers['cache-control'], 'no-store');
        });

        for (const p of [CONSENTS, ME]) {
            it(`OPTIONS ${p} from an allowed origin -> 204; from another -> 403`, async () => {
                await assertNothingWritten(stack, async () => {
                    const ok = await stack.request({ method: 'OPTIONS', path: p, headers: [
                        ['Origin', 'http://127.0.0.1:8080'],
                        ['Access-Control-Request-Method', 'POST'],
                        ['Access-Control-Request-Headers', 'content-type']] });
                    assert.equal(ok.status, 204, ok.body);
                    assert.equal(ok.body, '');
                    assert.equal(ok.headers['access-control-allow-origin'], 'http://127.0.0.1:8080');
                    assert.equal(ok.headers['access-control-allow-credentials'], 'true');
                    const methods = String(ok.headers['access-control-allow-methods'])
                        .split(',').map((s) => s.trim());
                    for (const m of ['GET', 'POST', 'DELETE'])
                        assert.ok(methods.includes(m), `${m} in ${methods}`);
                    assert.match(String(ok.headers['access-control-allow-headers']), /content-type/i);
                    const bad = await stack.request({ method: 'OPTIONS', path: p, headers: [
                        ['Origin', 'https://evil.example'],
                        ['Access-Control-Request-Method', 'POST']] });
                    assertError(bad, 403, 'origin_not_allowed');
                    assert.equal(bad.headers['access-control-allow-origin'], undefined);
                });
            });
        }
    });

    describe('cookies the server did not issue are ignored (a new visitor)', () => {
        let issued;     // a visitor with a real cookie, to forge from
        before(async () => {
            issued = await chosen(stack);
        });
        const flip = (s, i) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
        const BAD = [
            [() => '../../etc', 'a path'],
            [() => 'short', 'too short'],
            [() => 'A'.repeat(43), '43 characters without our MAC'],
            [() => 'A'.repeat(44), '44 characters'],
            [() => `${'A'.repeat(20)}+${'A'.repeat(22)}`, "43 with '+'"],
            [() => flip(issued.cookie.slice('consent='.length), 5), 'an issued cookie with its secret changed'],
            [() => flip(issued.cookie.slice('consent='.length), 40), 'an issued cookie with its MAC changed'],
            [() => issued.id, 'the consent ID itself (not the cookie)'],
        ];
        for (const [make, what] of BAD) {
            it(`${what}`, async () => {
                const bad = make();
                const cookie = `consent=${bad}`;
                const xff = addr(DE);
                const keysBefore = await withRedis(stack, allKeys);
                const b = await stack.request({ path: BANNER, xff, headers: [['Cookie', cookie]] });
                assert.equal(b.status, 200, b.body);
                assert.equal(setCookie(b), null, 'the banner sets no cookie');
                assert.equal(b.json.consent_id, null, 'treated as no cookie');
                assert.equal(b.json.stored, null);
                assert.equal(b.json.prompt, true);

                await assertNothingWritten(stack, async () => {
                    assertError(await me(stack, cookie, xff), 404, 'no_consent');
                    assertError(await withdraw(stack, cookie, xff), 404, 'no_consent');
                });

                const p = await post(stack, recordBody(b.json, 'reject_all'), { cookie, xff });
                assert.equal(p.status, 201, p.body);
                assert.match(p.json.consent_id, CONSENT_ID);
                assert.notEqual(p.json.consent_id, bad);
                assert.notEqual(p.json.consent_id, issued.id, 'never the issued visitor\'s ID');
                const fresh = assertConsentCookie(p, 365);
                assert.notEqual(fresh, cookie, 'a freshly issued cookie');
                assert.equal(p.json.receipt.consent_id, p.json.consent_id);
                assert.equal(p.json.receipt.seq, 1);
                assert.equal(p.json.receipt.prev_sha256, ZERO_HASH);

                const keysAfter = await withRedis(stack, allKeys);
                // (Analytics counts, a:{...}, are flushed on consentd's own
                // schedule, whatever this request did: lib/redis.js.)
                const created = keysAfter.filter((k) => !keysBefore.includes(k) && !isAnalyticsKey(k));
                assert.ok(created.includes(keys.history(p.json.consent_id)), JSON.stringify(created));
                for (const k of created)
                    assert.ok(k === keys.history(p.json.consent_id) || /^r:[0-9a-f]{3}$/.test(k) ||
                              /^x:[0-9a-f]{16}$/.test(k),
                              `only the new ID's history, an index bucket or a context: ${k}`);
                for (const k of created)
                    assert.ok(!k.includes(bad), `the bad value is never a key: ${k}`);
                // The issued visitor's history is untouched.
                const h = await history(issued);
                assert.equal(h.receipts_written, 1);
                assert.equal(h.all_valid, true);
            });
        }

        it('the old cookie name consent_id with an issued value is not read', async () => {
            const cookie = issued.cookie.replace(/^consent=/, 'consent_id=');
            const b = await stack.request({ path: BANNER, xff: addr(DE), headers: [['Cookie', cookie]] });
            assert.equal(b.json.consent_id, null);
            assertError(await me(stack, cookie), 404, 'no_consent');
        });

        it('DELETE /me without a cookie -> 404 no_consent; GET /me without one -> 404', async () => {
            await assertNothingWritten(stack, async () => {
                assertError(await withdraw(stack, null), 404, 'no_consent');
                assertError(await me(stack, null), 404, 'no_consent');
            });
        });
    });

    describe('?preview=REGION is never recorded', () => {
        let v;
        before(async () => {
            v = await chosen(stack);
        });

        it('a preview decision still answers on a site with preview on', async () => {
            const b = await banner(v, { query: '&preview=US-CA' });
            assert.equal(b.status, 200, b.body);
            assert.equal(b.json.preview, 'Preview: choices made here are not recorded.');
            assert.equal(b.json.jurisdiction.region, 'US-CA');
            assert.equal(b.json.jurisdiction.regime, 'ccpa');
            assert.equal(setCookie(b), null);
        });

        for (const [what, cookie] of [['with a cookie', () => v.cookie], ['without one', () => null]]) {
            it(`POST /consents?preview=US-CA ${what} -> 403 preview_not_recorded, nothing written`, async () => {
                const b = (await banner(v, { query: '&preview=US-CA' })).json;
                await assertNothingWritten(stack, async () => {
                    const res = await post(stack, recordBody(b, 'reject_all'),
                                           { cookie: cookie(), query: '?preview=US-CA' });
                    assertError(res, 403, 'preview_not_recorded');
                    assert.equal(setCookie(res), null, 'no cookie is issued');
                });
            });
        }

        it('DELETE /consents/me?preview=DE -> 403 preview_not_recorded, nothing written', async () => {
            await assertNothingWritten(stack, async () => {
                const res = await withdraw(stack, v.cookie, v.xff, { query: '&preview=DE' });
                assertError(res, 403, 'preview_not_recorded');
                assert.equal(setCookie(res), null);
            });
            const h = await history(v);
            assert.equal(h.receipts_written, 1, 'still only the first receipt');
        });
    });

    describe('concurrency: 20 parallel POSTs for one consent ID (one cookie)', () => {
        /* A visitor with one receipt, then 20 parallel POSTs with its
         * cookie: { v, results, counts (by "201" or "status code") }. */
        async function parallelPosts() {
            const v = await chosen(stack);       // the cookie comes with a first receipt
            const body = recordBody(v.banner, 'accept_all');
            // Each from its own address: nginx's per-address rate limit is
            // not what this is about.
            const results = await Promise.all(Array.from({ length: 20 }, () =>
                post(stack, body, { cookie: v.cookie })));
            const counts = {};
            for (const r of results) {
                const k = r.status === 201 ? '201'
                    : `${r.status} ${r.json && r.json.error ? r.json.error.code : r.body.slice(0, 40)}`;
                counts[k] = (counts[k] || 0) + 1;
            }
            return { v, results, counts };
        }

        it('one unbroken chain holding exactly the 201s; the others 503 busy', async (t) => {
            const { v, results, counts } = await parallelPosts();
            t.diagnostic(`20 parallel POSTs: ${JSON.stringify(counts)}`);
            for (const r of results) {
                if (r.status !== 201) {
                    assertError(r, 503, 'busy');
                    assert.equal(r.headers['retry-after'], '1');
                }
            }
            const ok = results.filter((r) => r.status === 201);
            assert.ok(ok.length >= 1, 'at least one write');
            // Two identical requests answered in the same millisecond make
            // byte-identical receipts (the receipt ID is derived from the
            // consent ID and seq, Ed25519 is deterministic): the store keeps
            // it once and both get its 201. So count receipts by seq.
            const bySeq = new Map();
            for (const r of ok) {
                const seen = bySeq.get(r.json.receipt.seq);
                if (seen)
                    assert.equal(r.json.jws, seen.json.jws, 'one seq, one receipt');
                else
                    bySeq.set(r.json.receipt.seq, r);
            }
            const distinct = [...bySeq.values()];
            const h = await history(v);
            assert.equal(h.receipts_written, distinct.length + 1, `receipts_written, ${JSON.stringify(counts)}`);
            assert.equal(h.receipts.length, distinct.length + 1);
            assert.equal(h.all_valid, true);
            assert.deepEqual(h.findings, []);
            assert.ok(h.receipts.every((x) => x.verdict === 'ok' && x.chain_valid && x.signature_valid));
            assert.deepEqual(h.receipts.map((x) => x.seq),
                             Array.from({ length: distinct.length + 1 }, (_, i) => distinct.length + 1 - i));
            assert.equal(h.receipts[h.receipts.length - 1].receipt.prev_sha256, ZERO_HASH);
            assert.equal(h.receipts[h.receipts.length - 1].receipt.receipt_id,
                         v.posted[0].receipt.receipt_id);
            assert.deepEqual(new Set(h.receipts.slice(0, -1).map((x) => x.receipt.receipt_id)),
                             new Set(ok.map((r) => r.json.receipt.receipt_id)),
                             'every 201 is in the history exactly once');
            for (const r of ok)
                assert.equal(h.receipts.find((x) => x.seq === r.json.receipt.seq).jws, r.json.jws,
                             'every 201 is the stored receipt of its seq');
            for (const r of ok) {
                const c = setCookie(r);
                assert.ok(c === null || `${c.name}=${c.value}` === v.cookie,
                          `the same ID: never another cookie (${r.headers['set-cookie']})`);
            }
        });

        it('all 201, or a few 503 busy at most (>= 17 of 20)', async (t) => {
            const { counts } = await parallelPosts();
            t.diagnostic(`20 parallel POSTs: ${JSON.stringify(counts)}`);
            assert.ok((counts['201'] || 0) >= 17, `201s of 20: ${JSON.stringify(counts)}`);
        });
    });

    it('Redis down: 503 for writes and reads, banner still answers; back within 5 s, same process', async () => {
        const v = await newVisitor(stack);
        const r1 = await record(v, 'reject_all');
        const pid = stack.consentdPid;

        await stack.stopRedis();
        try {
            const b = await banner(v);
            assert.equal(b.status, 200, b.body);
            assert.equal(b.json.store, 'unavailable');
            assert.equal(b.json.prompt, true);
            assert.equal(b.json.consent_id, v.id);
            assert.equal(setCookie(b), null, 'the cookie is kept');

            const p = await post(stack, recordBody(v.banner, 'accept_all'), { cookie: v.cookie });
            assertError(p, 503, 'store_unavailable');
            assert.equal(p.headers['retry-after'], '5');

            const fresh = await post(stack, recordBody(v.banner, 'accept_all'));
            assertError(fresh, 503, 'store_unavailable');
            assert.equal(setCookie(fresh), null, 'no cookie for a write that was not stored');

            const m = await me(stack, v.cookie, v.xff);
            assertError(m, 503, 'store_unavailable');
            assert.equal(m.headers['retry-after'], '5');

            const d = await withdraw(stack, v.cookie, v.xff);
            assertError(d, 503, 'store_unavailable');

            const health = await stack.request({ path: '/consent/v1/health' });
            assert.equal(health.status, 503, health.body);
        } finally {
            await stack.startRedis();
        }
        const t0 = Date.now();
        const p = await poll(async () => {
            const r = await post(stack, recordBody(v.banner, 'accept_all'), { cookie: v.cookie });
            if (r.status !== 201 && !(r.status === 503 && r.json.error.code === 'store_unavailable'))
                throw new Error(`unexpected ${r.status} ${r.body}`);
            return r.status === 201 ? r : null;
        }, { timeoutMs: 5000, intervalMs: 100, what: 'a 201 after Redis restarted' });
        assert.ok(Date.now() - t0 < 5000);
        assert.equal(stack.consentdPid, pid);
        assert.ok(stack.consentdRunning(), 'the same consentd process');
        assert.equal(p.json.receipt.prev_sha256, r1.json.sha256, 'chained to the receipt from before');
        assert.equal(p.json.receipt.seq, 2);
        assert.equal(p.json.consent_id, v.id);

        const h = await history(v);
        assert.equal(h.receipts_written, 2, 'what was written before the outage survived (AOF)');
        assert.deepEqual(h.receipts.map((x) => x.receipt.receipt_id),
                         [p.json.receipt.receipt_id, r1.json.receipt.receipt_id]);
        assert.equal(h.all_valid, true);
        const b = await banner(v);
        assert.equal(b.json.store, 'ok');
        assert.equal(b.json.prompt, false);
    });

    it('Redis restarted between requests: the very first requests afterwards succeed (no dead connection surfaces)', async () => {
        const v = await newVisitor(stack);
        const r1 = await record(v, 'reject_all');
        // Every worker connected at start; a restart leaves them all holding
        // connections the server has closed. No request in between.
        await stack.stopRedis();
        await stack.startRedis();
        const b = await banner(v);
        assert.equal(b.json.store, 'ok', 'the decision read the stored state');
        assert.equal(b.json.prompt, false);
        const p = await post(stack, recordBody(v.banner, 'accept_all'), { cookie: v.cookie });
        assert.equal(p.status, 201, p.body);
        assert.equal(p.json.receipt.prev_sha256, r1.json.sha256);
        for (let i = 0; i < 5; i++) {
            const w = await newVisitor(stack);
            const q = await post(stack, recordBody(w.banner, 'reject_all'), { cookie: w.cookie, xff: w.xff });
            assert.equal(q.status, 201, q.body);
            assertConsentCookie(q, 365);
        }
        const h = await history(v);
        assert.equal(h.receipts_written, 2, 'one receipt per write, no duplicate from the retry');
        assert.equal(h.all_valid, true);
    });
});

describe('history bound and TTLs (max_history 3, retention_days 2)', () => {
    let stack;
    withStack({
        configure: (cfg) => { cfg.receipts = { max_history: 3, retention_days: 2 }; },
    }, (s) => { stack = s; });

    it('5 receipts: 3 kept, 5 written, head.first 3, the kept history verifies; the hash expires in 2 days', async () => {
        const v = await newVisitor(stack);
        const posted = [];
        for (const a of ['accept_all', 'reject_all', 'accept_all', 'reject_all', 'accept_all'])
            posted.push(await record(v, a));
        posted.forEach((p, i) => assert.equal(p.json.receipt.seq, i + 1));
        const [fields, ttl] = await withRedis(stack, async (c) => [
            (await c.cmd('HKEYS', keys.history(v.id))).map((b) => b.toString()).sort(),
            await c.cmd('TTL', keys.history(v.id)),
        ]);
        assert.deepEqual(fields, ['3', '4', '5', 'm'], 'the two oldest were dropped');
        assert.ok(ttl > 2 * DAY - 60 && ttl <= 2 * DAY, `TTL ${ttl} ≈ ${2 * DAY}`);

        const h = await history(v);
        assert.equal(h.receipts_written, 5);
        assert.equal(h.head.count, 5);
        assert.equal(h.head.first, 3);
        assert.deepEqual(h.receipts.map((x) => x.seq), [5, 4, 3]);
        assert.deepEqual(h.receipts.map((x) => x.receipt.receipt_id),
                         posted.slice(2).reverse().map((p) => p.json.receipt.receipt_id),
                         'the 3 newest are kept');
        assert.ok(h.receipts.every((x) => x.verdict === 'ok' && x.signature_valid && x.chain_valid));
        assert.equal(h.all_valid, true);
        assert.equal(h.verdict, 'verified');
        assert.deepEqual(h.findings, []);
        assert.equal(h.receipts[2].receipt.prev_sha256, posted[1].json.sha256,
                     'the oldest kept points at a trimmed receipt');
        assert.ok(Math.abs(h.expires_ms - (Date.now() + 2 * DAY * 1000)) < 120000,
                  `expires_ms ${h.expires_ms} ≈ now + 2 days`);
    });
});

describe('prompt rules over time', () => {
    let stack;          // shipped rules, demo consent_revision 1, clock NOW
    let stackRev2;      // same Redis and signing key, demo consent_revision 2
    let stackQuiet;     // ccpa consent_days 30 (quiet period still 365)
    let rulesDir;

    before(async () => {
        stack = await startStack({ now: NOW });
        const signingKey = fs.readFileSync(stack.signingKeyPath, 'utf8').trim();
        stackRev2 = await startStack({
            now: NOW,
            signingKey,
            configure: (cfg) => {
                cfg.redis.address = `127.0.0.1:${stack.redisPort}`;
                cfg.cookie.secret = stack.config.cookie.secret;     // reads the same cookies
                cfg.sites.find((s) => s.id === 'demo').consent_revision = 2;
            },
        });
        rulesDir = makeTempDir();
        const rules = structuredClone(RULES);
        const ccpa = rules.regimes.find((r) => r.id === 'ccpa');
        ccpa.consent_days = 30;
        assert.equal(ccpa.optout_quiet_days, 365);
        const rulesPath = path.join(rulesDir, 'rules.json');
        fs.writeFileSync(rulesPath, JSON.stringify(rules, null, 2));
        stackQuiet = await startStack({ now: NOW, configure: (cfg) => { cfg.rules = rulesPath; } });
    });
    after(async () => {
        if (rulesDir)
            removeDir(rulesDir);
        await stopAll([stackQuiet, stackRev2, stack]);
    });

    const at = (s, days, secs = 0) => s.setClock(NOW + days * DAY + secs);

    it('DE (365 days): asked again exactly when the choice expires; choices fall back', async () => {
        const v = await newVisitor(stack);
        const r = await record(v, 'accept_all');
        assert.equal(r.json.receipt.time_ms, NOW * 1000);
        assert.equal(r.json.receipt.expires_ms, (NOW + 365 * DAY) * 1000);
        try {
            for (const [days, secs, prompt] of [[0, 0, false], [364, 0, false],
                                                 [365, -1, false], [365, 0, true], [366, 0, true]]) {
                at(stack, days, secs);
                const b = await banner(v);
                assert.equal(b.json.prompt, prompt, `prompt at +${days} days ${secs} s`);
                assert.equal(b.json.stored.receipt_id, r.json.receipt.receipt_id);
                assert.deepEqual(b.json.choices, prompt ? allOff : allOn,
                                 `choices at +${days} days ${secs} s`);
            }
        } finally {
            stack.setClock(NOW);
        }
    });

    it('settings=1 asks even with a valid stored choice, showing the stored choices', async () => {
        const v = await newVisitor(stack);
        await record(v, 'custom', { functional: true, analytics: false, advertising: true });
        assert.equal((await banner(v)).json.prompt, false);
        const b = await banner(v, { query: '&settings=1' });
        assert.equal(b.json.prompt, true);
        assert.deepEqual(b.json.choices, { necessary: true, functional: true, analytics: false,
                                           advertising: true });
        assert.equal((await banner(v, { query: '&settings=0' })).json.prompt, false);
    });

    it('consent_revision raised: asked again; an answer under revision 2 counts for both', async () => {
        const v = await newVisitor(stack);
        await record(v, 'accept_all');
        assert.equal((await banner(v)).json.prompt, false, 'revision 1 stack');
        const b2 = await banner(v, { stack: stackRev2 });
        assert.equal(b2.status, 200, b2.body);
        assert.equal(b2.json.consent_revision, 2);
        assert.equal(b2.json.prompt, true, 'revision 2 stack: asked again');
        assert.deepEqual(b2.json.choices, allOff, 'opt-in defaults while asking again');

        const r2 = await record(v, 'reject_all', undefined, { stack: stackRev2, b: b2.json });
        assert.equal(r2.json.receipt.banner.consent_revision, 2);
        assert.equal((await banner(v, { stack: stackRev2 })).json.prompt, false);
        assert.equal((await banner(v)).json.prompt, false);
        const h = await history(v, stackRev2);
        assert.equal(h.receipts_written, 2);
        assert.equal(h.all_valid, true);
    });

    it('California (quiet 365 days after an opt-out): reject_all -> no prompt at +100, prompt at +366', async () => {
        const v = await newVisitor(stack, CA);
        assert.equal(v.banner.jurisdiction.regime, 'ccpa');
        await record(v, 'reject_all');
        try {
            for (const [days, prompt] of [[100, false], [364, false], [366, true]]) {
                at(stack, days);
                assert.equal((await banner(v)).json.prompt, prompt, `prompt at +${days} days`);
            }
        } finally {
            stack.setClock(NOW);
        }
    });

    it('California with consent_days 30: an opt-out stays quiet past expiry, an accept does not', async () => {
        const out = await newVisitor(stackQuiet, CA);
        const custom = await newVisitor(stackQuiet, CA);
        const yes = await newVisitor(stackQuiet, CA);
        assert.equal(out.banner.consent_days, 30);
        await record(out, 'reject_all');
        await record(custom, 'custom', { functional: true, analytics: true, advertising: false });
        await record(yes, 'accept_all');
        try {
            at(stackQuiet, 29);
            for (const x of [out, custom, yes])
                assert.equal((await banner(x)).json.prompt, false, 'within 30 days');
            at(stackQuiet, 200);
            assert.equal((await banner(out)).json.prompt, false, 'reject_all: quiet at +200 days');
            assert.equal((await banner(custom)).json.prompt, false,
                         'advertising off is an opt-out: quiet at +200 days');
            assert.equal((await banner(yes)).json.prompt, true, 'accept_all expired at +30 days');
            at(stackQuiet, 366);
            assert.equal((await banner(out)).json.prompt, true, 'quiet period over');
        } finally {
            stackQuiet.setClock(NOW);
        }
    });

    it('a notice answered in JP is not consent in DE: same cookie, prompt true', async () => {
        const v = await newVisitor(stack, JP);
        assert.equal(v.banner.jurisdiction.model, 'notice');
        const r = await record(v, 'accept_all');
        assert.equal(r.json.receipt.banner.model, 'notice');
        assert.equal((await banner(v)).json.prompt, false, 'in JP the notice was answered');
        const de = await banner(v, { xff: DE });
        assert.equal(de.json.jurisdiction.model, 'opt-in');
        assert.equal(de.json.prompt, true, 'in DE it must ask');
        assert.deepEqual(de.json.choices, allOff, 'opt-in defaults, not the notice answer');
        // In US-WA (notice as well) the JP answer counts.
        assert.equal((await banner(v, { xff: WA })).json.prompt, false);
    });

    // Not in the brief: the same thing when the notice texts are posted
    // from a DE address (a banner fetched before moving, or a client that
    // sends another model's texts_sha256): the receipt says banner.model
    // "notice", so it must not count as opt-in consent.
    it('accept_all on the notice texts from a DE address is not opt-in consent', async () => {
        const jp = await newVisitor(stack, JP);
        const v = await newVisitor(stack, DE);
        await record(v, 'reject_all');      // so that it has a cookie
        const res = await post(stack, recordBody(jp.banner, 'accept_all'),
                               { cookie: v.cookie, xff: v.xff });
        if (res.status === 409) {
            assert.equal(res.json.error.code, 'stale_banner', res.body);
            const b = await banner(v);
            assert.equal(b.json.stored.action, 'reject_all', 'nothing recorded');
            return;     // refusing other models' texts is fine too
        }
        assert.equal(res.status, 201, res.body);
        assert.equal(res.json.consent_id, v.id);
        assert.equal(res.json.receipt.jurisdiction.model, 'opt-in');
        assert.equal(res.json.receipt.banner.model, 'notice');
        const b = await banner(v);
        assert.equal(b.json.prompt, true, 'a notice is not consent in an opt-in region');
        assert.deepEqual(b.json.choices, allOff);
    });
});
