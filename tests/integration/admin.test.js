'use strict';
/*
 * admin.test.js - the support API (/consent/v1/admin/) through a real
 * nginx -> consentd (FastCGI) -> redis-server stack: looking up a history
 * written through the public endpoint, verification marks after tampering in
 * Redis, one receipt by its ID, the Kantara Consent Receipt v1.1 form,
 * erasure with a tombstone, authentication (401), roles (403), malformed IDs
 * (400), the audit stream (authenticated calls only, valid UTF-8, bounded
 * by length), the support API's metrics and a Redis outage.
 *
 * Redis is read and changed directly with a small RESP client (below).
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/admin.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const { withStack } = require('./lib/suite');
const { Redis, withRedis, allKeys, snapshot } = require('./lib/redis');
const { verifyJws, jwks } = require('./lib/jws');
const V = require('./lib/visitor');

const { ADMIN, BANNER, RECEIPT_UUID, CONSENT_ID, ZERO_HASH, assertError, keys } = V;
const DAY_MS = 86400000;

const UA = V.UA;
const RETENTION_DAYS = 1095;              // receipts.retention_days of the example
const MAX_HISTORY = 4;                    // set below, so that a history can be trimmed
const TOMBSTONE_DAYS = 3650;

const sha256 = V.sha256;
const newToken = () => `cst_${crypto.randomBytes(32).toString('base64url')}`;


/* The support tokens of this stack: name -> { token, roles }. */
const TOKENS = {
    alice: { token: newToken(), roles: ['read'] },
    eve: { token: newToken(), roles: ['erase'] },
    carol: { token: newToken(), roles: ['audit'] },
    root: { token: newToken(), roles: ['read', 'erase', 'audit'] },
};

/* consent_admin_requests_total by status ({ "401": n, ... }). */
async function adminMetrics(stack) {
    const res = await stack.request({ path: '/consent/v1/metrics' });
    assert.equal(res.status, 200, res.body);
    const out = {};
    for (const m of res.body.matchAll(/^consent_admin_requests_total\{status="(\w+)"\} (\d+)$/gm))
        out[m[1]] = Number(m[2]);
    return out;
}

/* How the counts grew from before to after. */
function grown(before, after) {
    const out = {};
    for (const k of new Set([...Object.keys(before), ...Object.keys(after)]))
        if ((after[k] || 0) !== (before[k] || 0))
            out[k] = (after[k] || 0) - (before[k] || 0);
    return out;
}

const auditLength = (stack) => withRedis(stack, (r) => r.cmd('XLEN', 'consent:audit'));

/* Runs fn and asserts that nothing in Redis changed but the audit stream. */
async function assertUntouched(stack, fn) {
    const beforeSnap = await snapshot(stack, { exclude: [keys.audit] });
    const result = await fn();
    assert.deepEqual(await snapshot(stack, { exclude: [keys.audit] }), beforeSnap,
                     'nothing in Redis may change but the audit stream');
    return result;
}

/* Every receipt index entry (r:<4 hex> buckets): [bucket, receipt ID hex, consent ID]. */
async function indexEntries(r) {
    const out = [];
    for (const k of (await allKeys(r)).filter((x) => /^r:[0-9a-f]{3}$/.test(x))) {
        const flat = await r.cmd('HGETALL', k);
        for (let i = 0; i < flat.length; i += 2)
            out.push([k, flat[i].toString('hex'), flat[i + 1].toString()]);
    }
    return out;
}

/* The tombstone hash of a consent ID as an object of strings. */
async function tombstoneOf(r, id) {
    const t = await r.cmd('HGETALL', keys.tombstone(id));
    const tomb = {};
    for (let i = 0; i < t.length; i += 2)
        tomb[String(t[i])] = String(t[i + 1]);
    return tomb;
}

/* ---- the public endpoint: writing a history (lib/visitor.js) ---- */

/* Visitors come from Germany, each from its own address (V.address()). */
const { threeReceipts } = V;

/* ---- asserting answers ---- */

const isObject = (x) => x !== null && typeof x === 'object' && !Array.isArray(x);
const isStringArray = (x) => Array.isArray(x) && x.every((s) => typeof s === 'string');

/* k is the Kantara Consent Receipt v1.1 form of the native receipt r, its
 * x-jws verifies with jwk and carries exactly r. */
function assertKantara(k, r, jwk, site) {
    assert.ok(isObject(k), JSON.stringify(k));
    assert.equal(k.version, 'KI-CR-v1.1.0');
    assert.equal(typeof k.jurisdiction, 'string');
    assert.equal(k.jurisdiction, r.jurisdiction.regime);
    assert.ok(Number.isInteger(k.consentTimestamp), 'consentTimestamp is an integer');
    assert.equal(k.consentTimestamp, Math.floor(r.time_ms / 1000), 'epoch seconds');
    assert.equal(typeof k.collectionMethod, 'string');
    assert.ok(k.collectionMethod.length > 0);
    assert.equal(typeof k.consentReceiptID, 'string');
    assert.match(k.consentReceiptID, RECEIPT_UUID);
    assert.equal(k.consentReceiptID, r.receipt_id);
    assert.equal(typeof k.publicKey, 'string');
    assert.equal(k.publicKey, jwk.x, 'publicKey is the signing key (base64url)');
    assert.equal(typeof k.language, 'string');
    assert.equal(k.language, r.language);
    assert.equal(typeof k.piiPrincipalId, 'string');
    assert.equal(k.piiPrincipalId, r.consent_id);
    assert.ok(Array.isArray(k.piiControllers) && k.piiControllers.length >= 1);
    for (const c of k.piiControllers) {
        assert.ok(isObject(c));
        for (const f of ['piiController', 'contact', 'address', 'email', 'phone'])
            assert.equal(typeof c[f], 'string', `piiControllers[].${f} is a string`);
    }
    assert.deepEqual(k.piiControllers[0], {
        piiController: site.controller.name, contact: site.controller.contact,
        address: site.controller.address, email: site.controller.email,
        phone: site.controller.phone,
    });
    assert.equal(typeof k.policyUrl, 'string');
    assert.equal(k.policyUrl, r.policy_url);
    assert.ok(Array.isArray(k.services) && k.services.length >= 1);
    assert.equal(k.services[0].service, r.site);
    const on = Object.keys(r.choices).filter((c) => r.choices[c]);
    let purposes = 0;
    for (const s of k.services) {
        assert.equal(typeof s.service, 'string');
        assert.ok(Array.isArray(s.purposes));
        for (const p of s.purposes) {
            purposes++;
            assert.equal(typeof p.purpose, 'string');
            assert.ok(isStringArray(p.purposeCategory) && p.purposeCategory.length > 0);
            // Built only from the signed payload: the names it carries.
            const cat = p.purposeCategory[0];
            assert.ok(on.includes(cat), `${cat} is a category that is on`);
            const info = r.purposes[cat];
            assert.ok(isObject(info), `payload.purposes.${cat}`);
            assert.equal(p.purpose, info.name, `purpose ${cat} named as in the payload`);
            assert.equal(p.consentType, info.necessary ? 'NOT_REQUIRED'
                : r.jurisdiction.model === 'opt-in' ? 'EXPLICIT' : 'IMPLICIT', `consentType of ${cat}`);
            assert.ok(isStringArray(p.piiCategory) && p.piiCategory.length > 0);
            assert.equal(p.primaryPurpose, info.necessary);
            assert.equal(typeof p.termination, 'string');
            assert.equal(p.thirdPartyDisclosure, info.sale_sharing);
        }
    }
    assert.equal(purposes, on.length, `one purpose per category on (${on})`);
    assert.equal(k['x-action'], r.action);
    assert.deepEqual(k['x-choices'], r.choices);
    assert.equal(typeof k.sensitive, 'boolean');
    assert.ok(Array.isArray(k.spiCat));
    // The signed original, verifiable offline.
    assert.equal(typeof k['x-jws'], 'string');
    const v = verifyJws(k['x-jws'], jwk);
    assert.equal(v.ok, true, 'x-jws verifies with the JWKS key');
    assert.deepEqual(JSON.parse(v.payload.toString('utf8')), r, 'x-jws carries the receipt');
}

/* ======================================================================= */

describe('support API', () => {
    let stack;
    let jwk;
    /* The admin calls of each test come from the /24 network `client`
     * (support networks are private: nginx refuses others), each from an
     * address of its own: nginx rate-limits the support API per address. */
    let client = '10.0.0';
    let host = 0;
    const nextAddress = () => { host = host % 254 + 1; return `${client}.${host}`; };
    /* Every admin API call made, in order: what the audit stream must hold. */
    const calls = [];

    const ACTIONS = { 'GET consents': 'lookup', 'DELETE consents': 'erase',
                      'GET receipts': 'receipt', 'GET audit': 'audit' };

    /* An admin API call. auth: a token name of TOKENS, a raw Authorization
     * value ({ raw }, with who when it holds a valid token), or null for
     * none. target: what the audit entry must show, when it is not the
     * decoded path segment. */
    async function admin(method, rest, auth, { xff = nextAddress(), target } = {}) {
        const headers = [['User-Agent', UA]];
        let who = '-';
        if (typeof auth === 'string') {
            headers.push(['Authorization', `Bearer ${TOKENS[auth].token}`]);
            who = auth;
        } else if (auth && auth.raw !== undefined) {
            headers.push(['Authorization', auth.raw]);
            if (auth.who)
                who = auth.who;
        }
        const res = await stack.request({ method, path: `${ADMIN}/${rest}`, headers,
                                          xff: xff === null ? undefined : xff });
        const pathOnly = rest.split('?')[0];
        const [kind, ...param] = pathOnly.split('/');
        const action = ACTIONS[`${method} ${kind}`];
        // Every call reaches an admin route; with Redis down nothing can be
        // audited, and a call without a valid token is not audited.
        assert.ok(action !== undefined, `${method} ${rest} is an admin route`);
        if (who === '-')
            assert.equal(res.status, 401, `${method} ${rest} without a valid token`);
        if (res.status !== 503 && who !== '-') {
            calls.push({
                who, action, status: String(res.status),
                target: target !== undefined ? target : decodeURIComponent(param.join('/')),
                client: truncate(xff === null ? '127.0.0.1' : xff),
            });
        }
        return res;
    }

    function truncate(addr) {
        const p = addr.split('.');
        return `${p[0]}.${p[1]}.${p[2]}.0/24`;
    }

    withStack({
        configure: (cfg) => {
            cfg.workers = 32;
            cfg.receipts = { ...cfg.receipts, max_history: MAX_HISTORY };
            cfg.admin = {
                tokens: Object.entries(TOKENS).map(([name, t]) => ({
                    name, roles: t.roles, sha256: sha256(t.token),
                })),
                audit_retention_days: 30,
            };
        },
    }, (s) => { stack = s; });
    before(async () => {
        jwk = await jwks(stack);
    });

    it('lookup: a history written through the public endpoint, verified, newest first', async () => {
        client = '10.0.1';
        const v = await threeReceipts(stack);
        const t = Date.now();
        const res = await admin('GET', `consents/${v.id}`, 'alice');
        assert.equal(res.status, 200, res.body);
        assert.match(String(res.headers['content-type']), /^application\/json/);
        assert.equal(res.headers['cache-control'], 'no-store');
        const h = res.json;
        assert.deepEqual(Object.keys(h).sort(),
                         ['all_valid', 'consent_id', 'expires_ms', 'findings', 'head', 'receipts',
                          'receipts_written', 'state', 'verdict'].sort(),
                         'no tombstone: never erased');
        assert.equal(h.consent_id, v.id);
        assert.equal(h.receipts_written, 3);
        assert.equal(h.all_valid, true);
        assert.equal(h.verdict, 'verified');
        assert.deepEqual(h.findings, []);
        assert.deepEqual(Object.keys(h.head).sort(), ['count', 'first', 'head_sha256', 'jws', 'seal_valid']);
        assert.equal(h.head.count, 3);
        assert.equal(h.head.first, 1);
        assert.equal(h.head.seal_valid, true);
        assert.equal(verifyJws(h.head.jws, jwk).ok, true, 'the seal verifies with the JWKS key');
        assert.deepEqual(h.receipts.map((x) => x.receipt.action),
                         ['accept_all', 'custom', 'reject_all'], 'newest first');
        const posted = [...v.posted].reverse();
        assert.equal(h.head.head_sha256, posted[0].sha256);
        h.receipts.forEach((x, i) => {
            assert.deepEqual(Object.keys(x).sort(),
                             ['chain_valid', 'jws', 'receipt', 'seq', 'sha256', 'signature_valid',
                              'verdict']);
            assert.equal(x.seq, 3 - i);
            assert.equal(x.verdict, 'ok', `verdict of receipt ${i}`);
            assert.equal(x.signature_valid, true, `signature of receipt ${i}`);
            assert.equal(x.chain_valid, true, `chain of receipt ${i}`);
            assert.deepEqual(x.receipt, posted[i].receipt);
            assert.equal(x.jws, posted[i].jws);
            assert.equal(x.sha256, posted[i].sha256);
            assert.equal(verifyJws(x.jws, jwk).ok, true);
        });
        // The current state per site, sealed in the head: the newest receipt.
        assert.deepEqual(Object.keys(h.state), ['demo']);
        assert.deepEqual(h.state.demo, {
            receipt_id: posted[0].receipt.receipt_id, seq: 3, action: 'accept_all',
            time_ms: posted[0].receipt.time_ms, expires_ms: posted[0].receipt.expires_ms,
            choices: posted[0].receipt.choices,
        });
        // Kept for the retention after the latest receipt.
        const expect = t + RETENTION_DAYS * DAY_MS;
        assert.ok(Number.isFinite(h.expires_ms));
        assert.ok(Math.abs(h.expires_ms - expect) < 60000,
                  `expires_ms ${h.expires_ms} ≈ now + ${RETENTION_DAYS} days (${expect})`);

        // format=native is the same answer.
        const native = await admin('GET', `consents/${v.id}?format=native`, 'alice');
        assert.equal(native.status, 200, native.body);
        assert.deepEqual(native.json.receipts, h.receipts);
        assert.deepEqual(native.json.head, h.head);
    });

    it('lookup of a well-formed consent ID with nothing stored: 404 not_found', async () => {
        client = '10.0.2';
        assertError(await admin('GET', 'consents/AAAAAAAAAAAAAAAAAAAAAA', 'alice'),
                    404, 'not_found');
        assertError(await admin('GET', 'consents/zzzzzzzzzzzzzzzzzzzzzw?format=kantara', 'root'),
                    404, 'not_found');
        assertError(await admin('GET', `receipts/${crypto.randomUUID()}`, 'alice'),
                    404, 'not_found');
    });

    it('a tampered receipt (its stored action changed in Redis): signature_valid false', async () => {
        client = '10.0.3';
        const v = await threeReceipts(stack);
        const FLAGS = 1 + 64 + 32 + 8 + 6;     // cgi/receipt.h RECEIPT_AT_FLAGS
        await withRedis(stack, async (r) => {
            const stored = await r.cmd('HGET', keys.history(v.id), '2');    // custom
            const changed = Buffer.from(stored);
            assert.equal(changed[FLAGS] & 7, 2, 'custom is stored as action 2');
            changed[FLAGS] = (changed[FLAGS] & ~7) | 1;                      // reject_all
            assert.equal(await r.cmd('HSET', keys.history(v.id), '2', changed), 0);
        });
        const res = await admin('GET', `consents/${v.id}`, 'alice');
        assert.equal(res.status, 200, res.body);
        const h = res.json;
        assert.equal(h.all_valid, false);
        assert.equal(h.verdict, 'failed');
        assert.ok(h.findings.includes('receipt_failed'), JSON.stringify(h.findings));
        assert.deepEqual(h.receipts.map((x) => x.receipt.action), ['accept_all', 'reject_all', 'reject_all']);
        assert.deepEqual(h.receipts.map((x) => x.verdict), ['chain_broken', 'bad_signature', 'ok']);
        assert.equal(h.receipts[1].signature_valid, false);
        assert.equal(h.receipts[1].chain_valid, false);
        assert.equal(h.receipts[0].chain_valid, false, 'chained to a receipt that fails');
        assert.equal(h.receipts[2].chain_valid, true);

        // The same mark when asked by receipt ID.
        const one = await admin('GET', `receipts/${v.posted[1].receipt.receipt_id}`, 'alice');
        assert.equal(one.status, 200, one.body);
        assert.equal(one.json.signature_valid, false);
        assert.equal(one.json.verdict, 'bad_signature');
        assert.equal(one.json.history_verdict, 'failed');
        const other = await admin('GET', `receipts/${v.posted[0].receipt.receipt_id}`, 'alice');
        assert.equal(other.json.signature_valid, true);
        assert.equal(other.json.verdict, 'ok');
        assert.equal(other.json.history_verdict, 'failed', 'the history it belongs to fails');
    });

    it('a receipt deleted from the middle of a history: a gap, chain_valid false', async () => {
        client = '10.0.4';
        const v = await threeReceipts(stack);
        await withRedis(stack, async (r) => {
            assert.equal(await r.cmd('HDEL', keys.history(v.id), '2'), 1);
        });
        const res = await admin('GET', `consents/${v.id}`, 'alice');
        assert.equal(res.status, 200, res.body);
        const h = res.json;
        assert.equal(h.all_valid, false);
        assert.ok(h.findings.includes('gap'), JSON.stringify(h.findings));
        assert.deepEqual(h.receipts.map((x) => x.receipt.action), ['accept_all', 'reject_all']);
        assert.deepEqual(h.receipts.map((x) => x.seq), [3, 1]);
        assert.deepEqual(h.receipts.map((x) => x.verdict), ['chain_broken', 'ok']);
        assert.deepEqual(h.receipts.map((x) => x.chain_valid), [false, true],
                         'the receipt after the gap does not link');
    });

    it('one receipt by its receipt ID, found through the index', async () => {
        client = '10.0.5';
        const v = await threeReceipts(stack);
        const want = v.posted[1];          // custom, the middle one
        const rid = want.receipt.receipt_id;
        const raw = Buffer.from(rid.replace(/-/g, ''), 'hex');
        const bucket = `r:${raw.subarray(0, 2).toString('hex').slice(0, 3)}`;
        const idx = await withRedis(stack, (r) => r.cmd('HGET', bucket, raw));
        assert.equal(idx.toString('base64url'), v.id, 'the index names the consent ID (its 16 bytes)');

        // Watch what consentd asks Redis while answering.
        const mon = await Redis.connect(stack.redisPort);
        const seen = [];
        try {
            await mon.monitor((line) => seen.push(line));
            const res = await admin('GET', `receipts/${rid}`, 'alice');
            assert.equal(res.status, 200, res.body);
            assert.deepEqual(Object.keys(res.json).sort(),
                             ['chain_valid', 'consent_id', 'findings', 'history_verdict', 'jws',
                              'receipt', 'seq', 'sha256', 'signature_valid', 'verdict']);
            assert.equal(res.json.consent_id, v.id);
            assert.equal(res.json.seq, 2);
            assert.deepEqual(res.json.receipt, want.receipt);
            assert.equal(res.json.jws, want.jws);
            assert.equal(res.json.sha256, want.sha256);
            assert.equal(res.json.signature_valid, true);
            assert.equal(res.json.chain_valid, true);
            assert.equal(res.json.verdict, 'ok');
            assert.equal(res.json.history_verdict, 'verified');
            assert.deepEqual(res.json.findings, []);
            // the audit XADD is the last command of the request
            const deadline = Date.now() + 2000;
            while (!seen.some((l) => l.includes('"XADD"')) && Date.now() < deadline)
                await new Promise((r) => setTimeout(r, 20));
        } finally {
            mon.close();
        }
        const commands = seen.map((l) => (/\] "([A-Za-z]+)"/.exec(l) || [])[1]).filter(Boolean)
            .map((c) => c.toUpperCase());
        const onIndex = seen.filter((l) => l.includes(`"${bucket}"`));
        assert.equal(onIndex.length, 1, `one index lookup, got:\n${seen.join('\n')}`);
        assert.match(onIndex[0], new RegExp(`\\] "HGET" "${bucket}" `));
        for (const c of ['SCAN', 'KEYS'])
            assert.ok(!commands.includes(c), `no ${c}: ${commands}`);

        // Kantara form of one receipt.
        const k = await admin('GET', `receipts/${rid}?format=kantara`, 'alice');
        assert.equal(k.status, 200, k.body);
        assertKantara(k.json, want.receipt, jwk, stack.config.sites[0]);
        assertError(await admin('GET', `receipts/${rid}?format=bogus`, 'alice'),
                    400, 'invalid_parameter');
    });

    it('?format=kantara: every Kantara v1.1 field with its type, and an x-jws that verifies', async () => {
        client = '10.0.6';
        const v = await threeReceipts(stack);
        const res = await admin('GET', `consents/${v.id}?format=kantara`, 'alice');
        assert.equal(res.status, 200, res.body);
        assert.deepEqual(Object.keys(res.json), ['consent_id', 'head', 'receipts']);
        assert.equal(res.json.consent_id, v.id);
        assert.equal(res.json.head.count, 3);
        assert.equal(res.json.head.head_sha256, v.posted[2].sha256);
        const posted = [...v.posted].reverse();
        assert.equal(res.json.receipts.length, posted.length);
        const demo = stack.config.sites.find((s) => s.id === 'demo');
        res.json.receipts.forEach((k, i) => assertKantara(k, posted[i].receipt, jwk, demo));
        // opt-in: explicit consent; the necessary purpose is the primary one
        const all = res.json.receipts[0].services[0].purposes;
        assert.equal(all.length, 4, 'accept_all: four purposes');
        assert.ok(all.some((p) => p.primaryPurpose === true && p.consentType === 'NOT_REQUIRED'));
        assert.ok(all.filter((p) => p.consentType === 'EXPLICIT').length === 3);
        assert.equal(res.json.receipts[2].services[0].purposes.length, 1,
                     'reject_all: only the necessary purpose');

        assertError(await admin('GET', `consents/${v.id}?format=bogus`, 'alice'),
                    400, 'invalid_parameter');
        assertError(await admin('GET', `consents/${v.id}?format=`, 'alice'),
                    400, 'invalid_parameter');
    });

    it('erase: everything but the tombstone goes; a later lookup says "erased"', async () => {
        client = '10.0.7';
        const keep = await threeReceipts(stack);          // another visitor: untouched
        const v = await threeReceipts(stack);
        const rids = v.posted.map((p) => p.receipt.receipt_id.replace(/-/g, ''));
        const keepBefore = await withRedis(stack, async (r) =>
            (await r.cmd('HGETALL', keys.history(keep.id))).map((b) => b.toString('base64')));
        const t0 = Date.now();
        const res = await admin('DELETE', `consents/${v.id}`, 'eve');
        const t1 = Date.now();
        assert.equal(res.status, 200, res.body);
        assert.equal(res.headers['cache-control'], 'no-store');
        assert.deepEqual(Object.keys(res.json).sort(),
                         ['consent_id', 'erased', 'erasure', 'purged', 'receipts_erased', 'tombstone']);
        assert.equal(res.json.consent_id, v.id);
        assert.equal(res.json.erased, true);
        assert.equal(res.json.receipts_erased, 3);
        assert.equal(res.json.erasure, 1);
        assert.equal(res.json.purged, true, '200: Redis rewrote its AOF');
        assert.equal(res.json.tombstone.by, 'eve');
        assert.equal(res.json.tombstone.receipts, 3);
        assert.equal(res.json.tombstone.erasures, 1);
        assert.ok(res.json.tombstone.erased_ms >= t0 - 1000 && res.json.tombstone.erased_ms <= t1 + 1000);

        await withRedis(stack, async (r) => {
            const all = await allKeys(r);
            assert.deepEqual(all.filter((k) => k.includes(v.id)), [keys.tombstone(v.id)],
                             'only the tombstone is left of the consent ID');
            const index = await indexEntries(r);
            for (const rid of rids)
                assert.ok(!index.some(([, id]) => id === rid), `index entry of ${rid} removed`);
            assert.deepEqual(index.filter(([, , cid]) => cid === v.id), [],
                             'no index entry points at the erased ID');
            const tomb = await tombstoneOf(r, v.id);
            assert.deepEqual(Object.keys(tomb).sort(), ['e1', 'n']);
            assert.equal(tomb.n, '1');
            assert.equal(tomb.e1, `${res.json.tombstone.erased_ms} 3 3 eve`);
            const ttl = await r.cmd('TTL', keys.tombstone(v.id));
            assert.ok(Math.abs(ttl - TOMBSTONE_DAYS * 86400) < 60, `tombstone TTL ${ttl}`);
            // the other visitor is untouched
            assert.deepEqual((await r.cmd('HGETALL', keys.history(keep.id)))
                .map((b) => b.toString('base64')), keepBefore);
        });

        const later = await admin('GET', `consents/${v.id}`, 'alice');
        assertError(later, 404, 'erased', ['tombstone']);
        const tomb = later.json.error.tombstone;
        assert.equal(tomb.erasures, 1);
        assert.deepEqual(tomb.entries, [{ erased_ms: res.json.tombstone.erased_ms, by: 'eve',
                                          receipts: 3, receipts_written: 3 }]);
        assert.equal(tomb.by, 'eve');
        assert.equal(tomb.receipts, 3);
        assert.equal(tomb.erased_ms, res.json.tombstone.erased_ms);
        for (const p of v.posted)
            assertError(await admin('GET', `receipts/${p.receipt.receipt_id}`, 'alice'), 404, 'not_found');
        const other = await admin('GET', `consents/${keep.id}`, 'alice');
        assert.equal(other.status, 200);
        assert.equal(other.json.all_valid, true);

        // The visitor's cookie no longer continues the erased history: the
        // next write issues a new consent ID and cookie.
        const again = await V.post(stack, V.recordBody(v.banner, 'accept_all'),
                                   { cookie: v.cookie, xff: v.xff });
        assert.equal(again.status, 201, again.body);
        assert.notEqual(again.json.consent_id, v.id);
        assert.match(again.json.consent_id, CONSENT_ID);
        const fresh = V.assertConsentCookie(again, 365);
        assert.notEqual(fresh, v.cookie);
        assert.equal(again.json.receipt.seq, 1);
        assert.equal(again.json.receipt.prev_sha256, ZERO_HASH);
        await withRedis(stack, async (r) => {
            assert.equal(await r.cmd('EXISTS', keys.history(v.id)), 0, 'the erased ID is not continued');
            assert.deepEqual(await tombstoneOf(r, v.id), { n: '1', e1: `${res.json.tombstone.erased_ms} 3 3 eve` });
        });
    });

    it('a repeated erasure adds a second tombstone entry and keeps the first', async () => {
        client = '10.0.16';
        const v = await threeReceipts(stack);
        const first = await admin('DELETE', `consents/${v.id}`, 'eve');
        assert.equal(first.status, 200, first.body);
        assert.equal(first.json.erasure, 1);
        const second = await admin('DELETE', `consents/${v.id}`, 'root');
        assert.equal(second.status, 200, second.body);
        assert.equal(second.json.erasure, 2);
        assert.equal(second.json.receipts_erased, 0);
        assert.equal(second.json.tombstone.erasures, 2);
        await withRedis(stack, async (r) => {
            const tomb = await tombstoneOf(r, v.id);
            assert.deepEqual(Object.keys(tomb).sort(), ['e1', 'e2', 'n']);
            assert.equal(tomb.n, '2');
            assert.equal(tomb.e1, `${first.json.tombstone.erased_ms} 3 3 eve`);
            assert.equal(tomb.e2, `${second.json.tombstone.erased_ms} 0 0 root`);
        });
        const later = await admin('GET', `consents/${v.id}`, 'alice');
        assertError(later, 404, 'erased', ['tombstone']);
        assert.equal(later.json.error.tombstone.erasures, 2);
        assert.equal(later.json.error.tombstone.entries.length, 2);
        assert.deepEqual(later.json.error.tombstone.entries.map((e) => e.by).sort(), ['eve', 'root']);
    });

    it('erase also removes the index entries of receipts trimmed from the history', async () => {
        client = '10.0.8';
        const v = await V.newVisitor(stack);
        for (let i = 0; i < MAX_HISTORY + 2; i++)
            await V.record(v, i % 2 ? 'accept_all' : 'reject_all');
        const rids = v.posted.map((p) => p.receipt.receipt_id.replace(/-/g, ''));
        const h = await admin('GET', `consents/${v.id}`, 'alice');
        assert.equal(h.json.receipts.length, MAX_HISTORY, 'the history is bounded');
        assert.equal(h.json.head.first, 3);
        assert.equal(h.json.head.count, MAX_HISTORY + 2);
        assert.equal(h.json.all_valid, true);
        const trimmed = await withRedis(stack, indexEntries);
        for (const rid of rids.slice(0, 2))
            assert.ok(!trimmed.some(([, id]) => id === rid), `trimmed receipt ${rid} left the index`);
        const res = await admin('DELETE', `consents/${v.id}`, 'root');
        assert.equal(res.status, 200, res.body);
        assert.equal(res.json.receipts_erased, MAX_HISTORY);
        const left = (await withRedis(stack, indexEntries))
            .filter(([, id, cid]) => rids.includes(id) || cid === v.id);
        assert.deepEqual(left, [], 'after an erasure no key may still name the erased consent ID');
    });

    describe('authentication: 401', () => {
        it('no, wrong, non-Bearer or empty credentials: 401, WWW-Authenticate, one body for all', async () => {
            client = '10.0.9';
            const v = await threeReceipts(stack);
            const rid = v.posted[0].receipt.receipt_id;
            const auths = [
                null,
                { raw: 'Bearer wrong' },
                { raw: 'Basic xyz' },
                { raw: `Basic ${Buffer.from(`root:${TOKENS.root.token}`).toString('base64')}` },
                { raw: 'Bearer ' },
                { raw: 'Bearer' },
                { raw: '' },
                { raw: `Bearer ${TOKENS.root.token}x` },
                { raw: `Bearer ${TOKENS.root.token.slice(0, -1)}` },
                { raw: `Token ${TOKENS.root.token}` },
            ];
            const targets = [
                ['GET', `consents/${v.id}`],                    // exists
                ['GET', 'consents/AAAAAAAAAAAAAAAAAAAAAA'],     // well-formed, nothing stored
                ['GET', 'consents/not-an-id'],                  // malformed
                ['GET', `consents/${'A'.repeat(80)}`],
                ['DELETE', `consents/${v.id}`],
                ['DELETE', 'consents/x'],
                ['GET', `receipts/${rid}`],
                ['GET', 'receipts/NOT-A-UUID'],
                ['GET', `consents/${v.id}?format=bogus`],
                ['GET', 'audit'],
                ['GET', 'audit?count=0'],
            ];
            let body = null;
            const lengthBefore = await auditLength(stack);
            const metricsBefore = await adminMetrics(stack);
            await assertUntouched(stack, async () => {
                for (const auth of auths) {
                    for (const [method, rest] of targets) {
                        const res = await admin(method, rest, auth);
                        const what = `${method} ${rest} with ${JSON.stringify(auth)}`;
                        assertError(res, 401, 'unauthorized');
                        assert.equal(res.headers['www-authenticate'], 'Bearer realm="consent-admin"', what);
                        assert.equal(res.headers['cache-control'], 'no-store', what);
                        if (body === null)
                            body = res.body;
                        assert.equal(res.body, body, `the same body for ${what}`);
                    }
                }
            });
            assert.equal(await auditLength(stack), lengthBefore, '401s are not audited');
            assert.deepEqual(grown(metricsBefore, await adminMetrics(stack)),
                             { 401: auths.length * targets.length }, 'but every one is counted');
        });

        it('a call straight from 127.0.0.1 (no proxy header) is refused alike; with a token it is audited', async () => {
            const before = await auditLength(stack);
            const res = await admin('GET', 'consents/AAAAAAAAAAAAAAAAAAAAAA', null, { xff: null });
            assertError(res, 401, 'unauthorized');
            assert.equal(await auditLength(stack), before, 'not audited');
            const ok = await admin('GET', 'consents/AAAAAAAAAAAAAAAAAAAAAA', 'alice', { xff: null });
            assertError(ok, 404, 'not_found');
            assert.equal(await auditLength(stack), before + 1, 'audited');
        });

        it('the scheme is case-insensitive; the token is not', async () => {
            client = '10.0.10';
            const res = await admin('GET', 'consents/AAAAAAAAAAAAAAAAAAAAAA',
                                    { raw: `bearer ${TOKENS.alice.token}`, who: 'alice' });
            assertError(res, 404, 'not_found');
            const upper = await admin('GET', 'consents/AAAAAAAAAAAAAAAAAAAAAA',
                                      { raw: `Bearer ${TOKENS.alice.token.toUpperCase()}` });
            assertError(upper, 401, 'unauthorized');
        });
    });

    describe('roles: 403', () => {
        it('read token on DELETE, erase or read token on audit, audit token on lookup: 403, nothing erased', async () => {
            client = '10.0.11';
            const v = await threeReceipts(stack);
            const rid = v.posted[0].receipt.receipt_id;
            let body = null;
            await assertUntouched(stack, async () => {
                for (const [method, rest, who] of [
                    ['DELETE', `consents/${v.id}`, 'alice'],
                    ['DELETE', 'consents/AAAAAAAAAAAAAAAAAAAAAA', 'alice'],
                    ['DELETE', 'consents/not-an-id', 'alice'],    // roles before validation
                    ['DELETE', `consents/${v.id}`, 'carol'],
                    ['GET', 'audit', 'eve'],
                    ['GET', 'audit', 'alice'],
                    ['GET', 'audit?count=0', 'alice'],
                    ['GET', `consents/${v.id}`, 'eve'],
                    ['GET', `consents/${v.id}`, 'carol'],
                    ['GET', `receipts/${rid}`, 'carol'],
                    ['GET', 'receipts/not-a-uuid', 'eve'],
                ]) {
                    const res = await admin(method, rest, who);
                    assertError(res, 403, 'forbidden');
                    assert.equal(res.headers['www-authenticate'], undefined);
                    if (body === null)
                        body = res.body;
                    assert.equal(res.body, body, `${method} ${rest} by ${who}`);
                }
            });
            const h = await admin('GET', `consents/${v.id}`, 'alice');
            assert.equal(h.status, 200);
            assert.equal(h.json.receipts.length, 3, 'nothing was erased');
        });
    });

    describe('path IDs: 400 invalid_id', () => {
        it('malformed consent and receipt IDs with a valid token touch nothing', async () => {
            client = '10.0.12';
            const v = await threeReceipts(stack);
            const rid = v.posted[0].receipt.receipt_id;
            const badConsentIds = [
                'A',                                  // too short
                v.id.slice(0, 21),                    // one short
                `${v.id}A`,                           // one long
                'AAAAAAAAAAAAAAAAAAAAAB',             // last char carries bits past 128
                'AAAAAAAAAAAAAAAAAAAA*A',             // not base64url
                'AAAAAAAAAAAAAAAAAAAA.A',
                'AAAAAAAAAAAAAAAAAAAA+A',
                'AAAAAAAAAAAAAAAAAAAA%20A',           // a space
                'AAAAAAAAAAAAAAAAAAAA%C3%A9',         // non-ASCII
                `c:%7B${v.id}%7D`,                    // a key name
                'A'.repeat(64),
                'A'.repeat(200),
                rid,                                  // a receipt ID is not a consent ID
            ];
            const badReceiptIds = [
                'not-a-uuid',
                rid.toUpperCase(),                    // upper-case
                rid.replace(/-/g, ''),                // no dashes
                `${rid.slice(0, 14)}1${rid.slice(15)}`,   // version 1
                `${rid.slice(0, 19)}c${rid.slice(20)}`,   // variant not RFC 4122
                `${rid}0`,
                rid.slice(0, 35),
                `${rid.slice(0, 8)}_${rid.slice(9)}`,
                v.id,                                 // a consent ID is not a receipt ID
                'A'.repeat(100),
            ];
            await assertUntouched(stack, async () => {
                for (const id of badConsentIds) {
                    assertError(await admin('GET', `consents/${id}`, 'root'), 400, 'invalid_id');
                    assertError(await admin('DELETE', `consents/${id}`, 'root'), 400, 'invalid_id');
                    assertError(await admin('GET', `consents/${id}?format=kantara`, 'alice'),
                                400, 'invalid_id');
                }
                for (const id of badReceiptIds)
                    assertError(await admin('GET', `receipts/${id}`, 'root'), 400, 'invalid_id');
            });
        });
    });

    describe('networks', () => {
        it('the support API answers only the support networks (nginx): 403 forbidden_network, not audited', async () => {
            const v = await threeReceipts(stack);
            await assertUntouched(stack, async () => {
                for (const xff of ['203.0.113.7', '8.8.8.8', v.xff, '2001:db8::1']) {
                    const before = calls.length;
                    const res = await stack.request({
                        method: 'DELETE', path: `${ADMIN}/consents/${v.id}`, xff,
                        headers: [['Authorization', `Bearer ${TOKENS.root.token}`]],
                    });
                    assertError(res, 403, 'forbidden_network');
                    assert.equal(calls.length, before);
                }
            });
            // so is the support page
            const page = await stack.request({ path: '/consent/admin/index.html', xff: '203.0.113.7' });
            assert.equal(page.status, 403);
            const ok = await stack.request({ path: '/consent/admin/index.html', xff: '10.0.0.9' });
            assert.equal(ok.status, 200);
            assert.match(String(ok.headers['content-type']), /^text\/html/);
        });

        it('the support page is served at /consent/admin/ (its directory index)', async () => {
            const res = await stack.request({ path: '/consent/admin/', xff: '10.0.0.9' });
            assert.equal(res.status, 200, `GET /consent/admin/: ${res.status}\n${stack.readLog('nginxError').slice(-600)}`);
            assert.match(res.body, /<title>Consent support<\/title>/);
        });
    });

    describe('metrics', () => {
        it('every answer on a support path is counted, also those of the router and request parsing (404, 405, 431)', async () => {
            client = '10.0.15';
            const before = await auditLength(stack);
            const metricsBefore = await adminMetrics(stack);
            const auth = ['Authorization', `Bearer ${TOKENS.root.token}`];
            const send = (method, rest, headers = []) => stack.request({
                method, path: `${ADMIN}/${rest}`, xff: nextAddress(), headers: [auth, ...headers] });
            assertError(await send('GET', 'consents/AAAAAAAAAAAAAAAAAAAAAA/more'), 404, 'not_found');
            assertError(await send('GET', 'nothing-here'), 404, 'not_found');
            assertError(await send('POST', 'consents/AAAAAAAAAAAAAAAAAAAAAA'), 405, 'method_not_allowed');
            assertError(await send('DELETE', 'audit'), 405, 'method_not_allowed');
            assertError(await send('GET', `receipts/${crypto.randomUUID()}`,
                                   [['User-Agent', 'u'.repeat(600)]]), 431, 'header_too_large');
            assertError(await admin('GET', 'consents/AAAAAAAAAAAAAAAAAAAAAA', null), 401, 'unauthorized');
            assertError(await admin('GET', 'consents/AAAAAAAAAAAAAAAAAAAAAA', 'alice'), 404, 'not_found');
            assert.deepEqual(grown(metricsBefore, await adminMetrics(stack)),
                             { 401: 1, 404: 3, 405: 2, 431: 1 });
            // Only the call that reached a handler with a valid token is audited.
            assert.equal(await auditLength(stack), before + 1);
            // Other paths are not support API answers.
            const m = await adminMetrics(stack);
            assert.equal((await stack.request({ path: '/consent/v1/adminx' })).status, 404);
            assert.equal((await stack.request({ path: BANNER, xff: V.address() })).status, 200);
            assert.deepEqual(grown(m, await adminMetrics(stack)), {});
        });
    });

    describe('audit targets are valid UTF-8', () => {
        const fatal = new TextDecoder('utf-8', { fatal: true });

        it('bytes that are not UTF-8, and %, are stored as %HH; valid characters as they are', async () => {
            client = '10.0.16';
            for (const [segment, target] of [
                ['AB%FF%FEcd%C3%A9', 'AB%FF%FEcd\u00e9'],
                ['%C3', '%C3'],                                   // a cut sequence
                ['%C0%AF', '%C0%AF'],                             // overlong '/'
                ['%ED%A0%80', '%ED%A0%80'],                       // a surrogate
                ['%F4%90%80%80', '%F4%90%80%80'],                 // past U+10FFFF
                ['100%25', '100%25'],
                ['%F0%9F%98%80x', '\u{1F600}x'],
            ]) {
                const res = await admin('GET', `consents/${segment}`, 'root', { target });
                assertError(res, 400, 'invalid_id');
            }
        });

        it('a long target is cut between two characters and ends in an ellipsis', async () => {
            client = '10.0.17';
            // 60 stray bytes (180 bytes as %FF) and 40 euro signs (3 bytes
            // each): 300 bytes, over the 256 kept.
            const segment = '%FF'.repeat(60) + '%E2%82%AC'.repeat(40);
            const target = '%FF'.repeat(60) + '\u20ac'.repeat(24) + '\u2026';
            assert.equal(Buffer.byteLength(target), 255);
            assertError(await admin('GET', `consents/${segment}`, 'root', { target }), 400, 'invalid_id');
        });

        it('every target in Redis decodes as strict UTF-8', async () => {
            const entries = await withRedis(stack, (r) => r.cmd('XRANGE', 'consent:audit', '-', '+'));
            assert.ok(entries.length > 0);
            let seen = 0;
            for (const [, fields] of entries)
                for (let i = 0; i + 1 < fields.length; i += 2) {
                    fatal.decode(fields[i + 1]);      // throws on invalid UTF-8
                    if (String(fields[i]) === 'target' && fields[i + 1].length > 200) {
                        assert.ok(fields[i + 1].length <= 256, `at most 256 bytes: ${fields[i + 1].length}`);
                        seen++;
                    }
                }
            assert.ok(seen >= 1, 'the long target is there');
        });
    });

    describe('audit stream', () => {
        /* The stream's newest entry ID now ("0-0": none), read from Redis
         * (reading it through the API would add an entry). */
        const newestAuditId = () => withRedis(stack, async (r) => {
            const top = await r.cmd('XREVRANGE', 'consent:audit', '+', '-', 'COUNT', 1);
            return top.length ? top[0][0].toString() : '0-0';
        });
        /* Is stream entry ID a newer than b? */
        const newer = (a, b) => {
            const [am, as] = a.split('-').map(BigInt);
            const [bm, bs] = b.split('-').map(BigInt);
            return am > bm || (am === bm && as > bs);
        };

        it('every admin call is in GET /admin/audit: who, action, target, status, client /24, via api', async () => {
            // The calls of this test, of every kind: lookups of several
            // consent IDs (200), a receipt, an unknown ID (404), a malformed
            // one (400, the ID with one character more), a role refused
            // (403), an erasure, a call without a token (401: not audited),
            // one straight from 127.0.0.1 and the audit reads themselves.
            const since = await newestAuditId();
            const from = calls.length;
            client = '10.0.1';
            const visitors = [];
            for (let i = 0; i < 6; i++)
                visitors.push((await V.recordChoice(stack)).v);
            for (const v of visitors.slice(0, 5))
                assert.equal((await admin('GET', `consents/${v.id}`, 'alice')).status, 200);
            const rid = visitors[0].posted[0].receipt.receipt_id;
            assert.equal((await admin('GET', `receipts/${rid}`, 'root')).status, 200);
            client = '10.0.13';
            assertError(await admin('GET', 'consents/AAAAAAAAAAAAAAAAAAAAAA', 'alice'), 404, 'not_found');
            assertError(await admin('GET', `consents/${visitors[1].id}A`, 'alice'), 400, 'invalid_id');
            assertError(await admin('DELETE', `consents/${visitors[2].id}`, 'alice'), 403, 'forbidden');
            assertError(await admin('GET', `consents/${visitors[3].id}`, null), 401, 'unauthorized');
            assertError(await admin('GET', 'consents/AAAAAAAAAAAAAAAAAAAAAA', 'alice', { xff: null }),
                        404, 'not_found');
            assert.equal((await admin('DELETE', `consents/${visitors[5].id}`, 'eve')).status, 200);

            const want = calls.slice(from);
            const res = await admin('GET', 'audit?count=1000', 'carol');
            assert.equal(res.status, 200, res.body);
            assert.equal(res.headers['cache-control'], 'no-store');
            const entries = res.json.entries.filter((e) => newer(e.id, since));
            assert.ok(Array.isArray(entries));
            for (const e of entries) {
                assert.deepEqual(Object.keys(e).sort(),
                                 ['action', 'client', 'id', 'status', 'target', 'time_ms', 'via', 'who'],
                                 JSON.stringify(e));
                assert.match(e.id, /^\d+-\d+$/);
                assert.match(e.time_ms, /^\d+$/);
                assert.equal(e.via, 'api');
            }
            // newest first
            for (let i = 1; i < entries.length; i++)
                assert.ok(Number(entries[i - 1].time_ms) >= Number(entries[i].time_ms));
            const got = entries.slice().reverse()
                .map(({ who, action, target, status, client: c }) => ({ who, action, status, target, client: c }));
            assert.equal(got.length, want.length, 'one entry per admin call');
            // Consent IDs are kept only as "id:<16 hex>", a keyed hash: the
            // same ID always the same hash, two IDs two hashes.
            const hashOf = new Map();
            const idOf = new Map();
            const expected = want.map((w, i) => {
                if (!CONSENT_ID.test(w.target))
                    return w;
                const t = got[i] && got[i].target;
                assert.match(String(t), /^id:[0-9a-f]{16}$/, `entry ${i}: ${w.target} as a keyed hash`);
                if (!hashOf.has(w.target))
                    hashOf.set(w.target, t);
                if (!idOf.has(t))
                    idOf.set(t, w.target);
                assert.equal(t, hashOf.get(w.target), `the same hash for ${w.target}`);
                assert.equal(idOf.get(t), w.target, `${t} names one consent ID only`);
                return { ...w, target: t };
            });
            assert.deepEqual(got, expected);
            assert.ok(hashOf.size >= 5, 'several consent IDs were looked up');
            for (const e of got)
                assert.ok(!hashOf.has(e.target), `a consent ID in clear: ${e.target}`);
            // (IDs also sent malformed, with one character more, are in
            // those targets as sent.)
            const inMalformed = (id) => want.some((w) => w.target !== id && w.target.includes(id));
            const text = JSON.stringify(entries);
            for (const id of [...hashOf.keys()].filter((x) => !inMalformed(x)))
                assert.ok(!text.includes(id), `the visitor's consent ID ${id} is not in the stream`);
            // refusals of authenticated callers are recorded too; calls
            // without a valid token are not
            for (const status of ['403', '400', '404', '200'])
                assert.ok(got.some((e) => e.status === status), `an entry with status ${status}`);
            assert.ok(!entries.some((e) => e.status === '401' || e.who === '-'),
                      'no entry for a call without a valid token');
            // the full client address is never recorded
            for (const e of got)
                assert.match(e.client, /^\d+\.\d+\.\d+\.0\/24$/, 'client addresses are truncated');
            assert.ok(!/"10\.0\.\d+\.[1-9]\d*"/.test(res.body), 'no full address in the stream');
            assert.ok(got.some((e) => e.client === '10.0.1.0/24'));
            assert.ok(got.some((e) => e.client === '127.0.0.0/24'), 'the direct call from 127.0.0.1');

            // count bounds
            const two = await admin('GET', 'audit?count=2', 'root');
            assert.equal(two.status, 200, two.body);
            assert.equal(two.json.entries.length, 2);
            assert.equal(two.json.entries[0].action, 'audit', 'the previous audit read is the newest');
            assert.equal(two.json.entries[0].who, 'carol');
            for (const count of ['0', '5000', '1001', '-1', 'abc', '', '10x'])
                assertError(await admin('GET', `audit?count=${count}`, 'carol'), 400, 'invalid_parameter');
            assertError(await admin('GET', 'audit?format=bogus', 'carol'), 400, 'invalid_parameter');
            const last = await admin('GET', 'audit?count=1000', 'carol');
            assert.equal(last.json.entries.filter((e) => newer(e.id, since)).length, calls.length - from - 1,
                         'the read itself is recorded after it answered');
        });
    });

    describe('Redis unavailable', () => {
        it('lookup, receipt, erase and audit answer 503 store_unavailable', async () => {
            client = '10.0.14';
            const v = await threeReceipts(stack);
            await stack.stopRedis();
            for (const [method, rest, who] of [
                ['GET', `consents/${v.id}`, 'alice'],
                ['GET', `receipts/${v.posted[0].receipt.receipt_id}`, 'alice'],
                ['DELETE', `consents/${v.id}`, 'eve'],
                ['GET', 'audit', 'carol'],
            ]) {
                const res = await admin(method, rest, who);
                assertError(res, 503, 'store_unavailable');
                assert.equal(res.headers['retry-after'], '5');
            }
            // authentication still comes first
            assertError(await admin('GET', `consents/${v.id}`, null), 401, 'unauthorized');
        });
    });
});

describe('audit stream bound by length (admin.audit_max_entries)', () => {
    const MAX = 5;
    const NODE = 100;       // Redis trims whole stream nodes (stream-node-max-entries)
    let stack;

    withStack({
        configure: (cfg) => {
            cfg.admin = {
                tokens: [{ name: 'root', roles: ['read', 'audit'], sha256: sha256(TOKENS.root.token) }],
                audit_retention_days: 30,
                audit_max_entries: MAX,
            };
        },
    }, (s) => { stack = s; });

    const lookup = (i) => stack.request({
        path: `${ADMIN}/consents/AAAAAAAAAAAAAAAAAAAAAA`, xff: `10.9.0.${i + 1}`,
        headers: [['Authorization', `Bearer ${TOKENS.root.token}`]],
    });

    it('an audited call trims the stream to about audit_max_entries, newest kept', async () => {
        await withRedis(stack, async (r) => {
            for (let i = 0; i < 3 * NODE; i++)
                await r.cmd('XADD', 'consent:audit', '*', 'filler', String(i));
            assert.equal(await r.cmd('XLEN', 'consent:audit'), 3 * NODE);
        });
        assertError(await lookup(0), 404, 'not_found');
        const [len, newest] = await withRedis(stack, async (r) => [
            await r.cmd('XLEN', 'consent:audit'),
            await r.cmd('XREVRANGE', 'consent:audit', '+', '-', 'COUNT', 1)]);
        assert.ok(len >= MAX && len <= MAX + NODE, `XLEN ${len}: between ${MAX} and ${MAX + NODE}`);
        const f = newest[0][1].map(String);
        assert.equal(f[f.indexOf('who') + 1], 'root', 'the newest entry is the call');
        // and it stays bounded
        for (let i = 1; i < 3 * NODE / 10; i++)
            await withRedis(stack, async (r) => {
                for (let k = 0; k < 10; k++)
                    await r.cmd('XADD', 'consent:audit', '*', 'filler', String(k));
            });
        assertError(await lookup(1), 404, 'not_found');
        const after2 = await withRedis(stack, (r) => r.cmd('XLEN', 'consent:audit'));
        assert.ok(after2 <= MAX + NODE, `XLEN ${after2}`);
    });
});
