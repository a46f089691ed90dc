'use strict';
/*
 * proof.test.js - the proof holds up against the people it must hold up
 * against, on the real stack (redis-server, consentd, nginx):
 *
 * - a database-level adversary (full access to Redis, not to the signing
 *   key) drops, edits, swaps and replays receipts, heads, states and
 *   contexts: the admin API, `consentctl lookup` and `consentctl verify`
 *   each detect every kind, and the banner decision never applies a state
 *   the seal does not vouch for;
 * - a forger edits an export: `consentctl verify` exits 3 for each kind;
 * - keys rotate: old and new receipts verify, old exports verify with the
 *   old JWKS, the JWKS lists every key still needed;
 * - cookies: nothing before a choice, only issued values count, planted
 *   IDs read and write nothing; previews are never recorded;
 * - erasure leaves no copy in Redis's data files; tombstones accumulate.
 *
 *   CONSENTD=build/asan/consentd CONSENTCTL=build/asan/consentctl \
 *     node --test tests/integration/proof.test.js
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const { after, before, describe, test } = require('node:test');

const { ROOT, runCommand, startStack, writeConfig, poll } = require('./lib/stack');
const { withStack } = require('./lib/suite');
const V = require('./lib/visitor');
const { withRedis } = require('./lib/redis');
const { verifyJws } = require('./lib/jws');

const CONSENTCTL = process.env.CONSENTCTL
    ? path.resolve(process.cwd(), process.env.CONSENTCTL)
    : path.join(ROOT, 'build', 'asan', 'consentctl');
const CONSENTD = process.env.CONSENTD
    ? path.resolve(process.cwd(), process.env.CONSENTD)
    : path.join(ROOT, 'build', 'asan', 'consentd');
const TOKEN = 'cst_proof-test-token-with-every-role';
/* German visitors (opt-in, GDPR), each from an address of their own so that
 * nginx's per-address write limit (10/s, burst 20) never answers 429. */
let XFF = V.address();
const EXIT_VERIFY = 3;

const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');

function configure(cfg) {
    cfg.admin = {
        tokens: [{ name: 'auditor', roles: ['read', 'erase', 'audit'], sha256: sha256(TOKEN) }],
    };
    cfg.workers = 16;
}

/* ---- a visitor ---- */

async function decision(stack, cookie, extra = '') {
    const headers = cookie ? { Cookie: cookie } : {};
    const res = await stack.request({ path: `/consent/v1/banner?site=demo${extra}`,
                                      xff: XFF, headers });
    assert.equal(res.status, 200, res.body);
    return res;
}

/* Records action for the visitor holding cookie (none: a new visitor).
 * Resolves to { status, json, cookie (the one to use next), setCookie }. */
async function record(stack, cookie, action = 'accept_all', { query = '', choices } = {}) {
    const d = (await decision(stack, cookie)).json;
    const res = await V.post(stack, V.recordBody({ ...d, site: 'demo' }, action, choices),
                             { cookie, xff: XFF, query, ua: null });
    const set = res.headers['set-cookie'];
    return { status: res.status, json: res.json, body: res.body,
             setCookie: set ? set[0] : null,
             cookie: set ? set[0].split(';')[0] : cookie };
}

/* A history of the given actions; resolves to { cookie, id, answers }. */
async function history(stack, actions = ['accept_all', 'reject_all', 'accept_all', 'withdraw']) {
    let cookie = null;
    XFF = V.address();
    const answers = [];
    for (const action of actions) {
        const r = action === 'withdraw'
            ? await withdraw(stack, cookie)
            : await record(stack, cookie, action);
        assert.equal(r.status, 201, r.body);
        cookie = r.cookie;
        answers.push(r.json);
    }
    return { cookie, id: answers[0].consent_id, answers };
}

async function withdraw(stack, cookie) {
    const res = await stack.request({ method: 'DELETE', path: '/consent/v1/consents/me?site=demo',
                                      xff: XFF, headers: { Cookie: cookie } });
    return { status: res.status, json: res.json, body: res.body, cookie };
}

/* ---- support staff ---- */

async function lookup(stack, id, query = '') {
    const res = await stack.request({ path: `/consent/v1/admin/consents/${id}${query}`,
                                      headers: { Authorization: `Bearer ${TOKEN}` } });
    return res;
}

function ctl(stack, args, opts = {}) {
    return runCommand(CONSENTCTL, ['-c', stack.configPath, ...args], opts);
}

/* consentctl verify on text written to a file; resolves to its result. */
async function verifyText(stack, text, extra = []) {
    const file = path.join(stack.dir, `export-${crypto.randomUUID()}.json`);
    fs.writeFileSync(file, typeof text === 'string' ? text : JSON.stringify(text));
    return ctl(stack, ['verify', file, ...extra]);
}

/* ---- the stored forms (cgi/receipt.c) ---- */

const HEAD_FIXED = 146;

function decodeHead(buf) {
    const h = {
        count: buf.readUInt32BE(1), first: buf.readUInt32BE(5),
        head: buf.subarray(9, 41), anchor: buf.subarray(41, 73), rest: buf.subarray(73, 145),
        sites: [],
    };
    let n = HEAD_FIXED;
    for (let i = 0; i < buf[145]; i++) {
        const len = buf[n];
        const site = buf.subarray(n + 1, n + 1 + len).toString();
        const at = n + 1 + len;
        h.sites.push({ site, entry: Buffer.from(buf.subarray(at, at + 21)) });
        n = at + 21;
    }
    return h;
}

function encodeHead(h) {
    const fixed = Buffer.alloc(HEAD_FIXED);
    fixed[0] = 2;
    fixed.writeUInt32BE(h.count, 1);
    fixed.writeUInt32BE(h.first, 5);
    h.head.copy(fixed, 9);
    h.anchor.copy(fixed, 41);
    h.rest.copy(fixed, 73);
    fixed[145] = h.sites.length;
    const parts = [fixed];
    for (const s of h.sites)
        parts.push(Buffer.from([s.site.length]), Buffer.from(s.site), s.entry);
    return Buffer.concat(parts);
}

/* The entry of a site state: seq(4) time(6) ctx(8) flags(1) choices(2);
 * a stored receipt: sig at 1, prev at 65, ctx at 97, time at 105, flags at
 * 111, choices at 112 (cgi/receipt.h). */
function stateEntry(seq, receiptBuf) {
    const e = Buffer.alloc(21);
    e.writeUInt32BE(seq, 0);
    receiptBuf.copy(e, 4, 105, 111);                // time
    receiptBuf.copy(e, 10, 97, 105);                // context
    e[18] = receiptBuf[111] & 0x47;                 // action + opted_out
    receiptBuf.copy(e, 19, 112, 114);               // choices
    return e;
}

const key = (id) => `c:{${id}}`;

async function hget(stack, id, field) {
    return withRedis(stack, (r) => r.cmd('HGET', key(id), field));
}

/* ---- expectations ---- */

/* Detected by all three: the admin API (verdict failed, the finding named),
 * consentctl lookup (exit 3) and consentctl verify on its export (exit 3). */
async function assertDetected(stack, id, finding, { inExport = true } = {}) {
    const res = await lookup(stack, id);
    assert.equal(res.status, 200, res.body);
    assert.equal(res.json.verdict, 'failed', JSON.stringify(res.json.findings));
    assert.equal(res.json.all_valid, false);
    if (finding)
        assert.ok(res.json.findings.includes(finding),
                  `finding ${finding} in ${JSON.stringify(res.json.findings)}`);
    const look = await ctl(stack, ['lookup', '--', id]);
    assert.equal(look.code, EXIT_VERIFY, look.stdout + look.stderr);
    assert.match(look.stdout, /VERIFICATION FAILED/);
    const exp = await ctl(stack, ['--json', 'lookup', '--', id]);
    const v = await verifyText(stack, exp.stdout);
    if (!inExport) {
        // Data beside the history is no part of an export: what was
        // exported still verifies, and says nothing of it.
        assert.equal(v.code, 0, `consentctl verify: ${v.stdout}${v.stderr}`);
        return res.json;
    }
    assert.equal(v.code, EXIT_VERIFY, `consentctl verify: ${v.stdout}${v.stderr}`);
    const kexp = await ctl(stack, ['export', '--format', 'kantara', '--', id]);
    const kv = await verifyText(stack, kexp.stdout);
    assert.equal(kv.code, EXIT_VERIFY, `consentctl verify (kantara): ${kv.stdout}${kv.stderr}`);
    return res.json;
}

/* The decision never applies what the seal does not vouch for: it either
 * asks again, or applies exactly the newest signed receipt's choice. */
async function assertDecisionSafe(stack, h) {
    const d = (await decision(stack, h.cookie)).json;
    const newest = h.answers[h.answers.length - 1].receipt;
    if (d.prompt === false) {
        assert.ok(d.stored !== null, 'no prompt without a stored state');
        assert.equal(d.stored.receipt_id, newest.receipt_id,
                     'the state applied is the newest signed receipt');
        for (const [cat, on] of Object.entries(d.choices))
            assert.equal(on, newest.choices[cat], `category ${cat}`);
    } else {
        assert.equal(d.stored, null, 'a refused state is not shown as stored');
    }
    return d;
}

describe('proof: a database-level adversary', () => {
    let stack;
    withStack({ configure }, (s) => { stack = s; });

    test('an untouched history verifies everywhere (the control case)', async () => {
        const h = await history(stack);
        const res = await lookup(stack, h.id);
        assert.equal(res.json.verdict, 'verified', JSON.stringify(res.json.findings));
        assert.deepEqual(res.json.receipts.map((r) => r.seq), [4, 3, 2, 1]);
        assert.ok(res.json.receipts.every((r) => r.verdict === 'ok'));
        assert.equal((await ctl(stack, ['lookup', '--', h.id])).code, 0);
        const exp = await ctl(stack, ['--json', 'lookup', '--', h.id]);
        const v = await verifyText(stack, exp.stdout);
        assert.equal(v.code, 0, v.stdout + v.stderr);
        const k = await ctl(stack, ['export', '--format', 'kantara', '--', h.id]);
        assert.equal((await verifyText(stack, k.stdout)).code, 0);
        const d = await assertDecisionSafe(stack, h);
        assert.equal(d.prompt, false);
        // The withdrawal is what applies.
        assert.equal(d.stored.action, 'withdraw');
    });

    test('dropping the newest receipt is detected (missing_newest)', async () => {
        const h = await history(stack);
        await withRedis(stack, (r) => r.cmd('HDEL', key(h.id), '4'));
        await assertDetected(stack, h.id, 'missing_newest');
        await assertDecisionSafe(stack, h);
    });

    test('dropping the newest receipt and rolling the head back is detected (seal)', async () => {
        const h = await history(stack);
        const head = decodeHead(await hget(stack, h.id, 'm'));
        const third = await hget(stack, h.id, '3');
        head.count = 3;
        head.head = Buffer.from(h.answers[2].sha256, 'hex');
        head.sites = [{ site: 'demo', entry: stateEntry(3, third) }];
        await withRedis(stack, async (r) => {
            await r.cmd('HDEL', key(h.id), '4');
            await r.cmd('HSET', key(h.id), 'm', encodeHead(head));
        });
        await assertDetected(stack, h.id, 'seal_invalid');
        const d = await decision(stack, h.cookie);
        // The rolled-back "accept all" is never applied: the decision asks.
        assert.equal(d.json.prompt, true);
        assert.equal(d.json.stored, null);
        assert.equal(d.json.choices.advertising, false);
    });

    test('dropping the oldest receipt is detected (missing_oldest), also with first moved', async () => {
        const h = await history(stack);
        await withRedis(stack, (r) => r.cmd('HDEL', key(h.id), '1'));
        await assertDetected(stack, h.id, 'missing_oldest');
        const head = decodeHead(await hget(stack, h.id, 'm'));
        head.first = 2;
        head.anchor = Buffer.from(h.answers[0].sha256, 'hex');
        await withRedis(stack, (r) => r.cmd('HSET', key(h.id), 'm', encodeHead(head)));
        await assertDetected(stack, h.id, 'seal_invalid');
        await assertDecisionSafe(stack, h);
    });

    test('dropping a receipt in the middle is detected (gap, and the next one breaks)', async () => {
        const h = await history(stack);
        await withRedis(stack, (r) => r.cmd('HDEL', key(h.id), '2'));
        const j = await assertDetected(stack, h.id, 'gap');
        assert.equal(j.receipts.find((r) => r.seq === 3).verdict, 'chain_broken');
        // Only the link is lost: the receipts themselves still verify.
        assert.equal(j.receipts.find((r) => r.seq === 3).signature_valid, true);
        assert.equal(j.receipts.find((r) => r.seq === 4).verdict, 'ok');
        await assertDecisionSafe(stack, h);
    });

    test('editing a field of a stored receipt is detected (bad signature)', async () => {
        const h = await history(stack);
        const buf = await hget(stack, h.id, '2');
        buf[113] ^= 0x08;                           // flip a category
        await withRedis(stack, (r) => r.cmd('HSET', key(h.id), '2', buf));
        const j = await assertDetected(stack, h.id, 'receipt_failed');
        assert.equal(j.receipts.find((r) => r.seq === 2).verdict, 'bad_signature');
        assert.equal(j.receipts.find((r) => r.seq === 3).verdict, 'chain_broken');
        // One altered receipt does not take the ones after it down with it.
        assert.equal(j.receipts.find((r) => r.seq === 3).signature_valid, true);
        assert.equal(j.receipts.find((r) => r.seq === 4).verdict, 'ok');
        assert.ok(!j.findings.includes('head_hash'), 'the head still names the newest');
        await assertDecisionSafe(stack, h);
    });

    test('editing the state alone is detected, and the decision refuses it', async () => {
        const h = await history(stack);
        const head = decodeHead(await hget(stack, h.id, 'm'));
        const e = head.sites[0].entry;
        e[18] = 0;                                  // action accept_all, not opted out
        e.writeUInt16BE(0xffff, 19);                // everything on
        await withRedis(stack, (r) => r.cmd('HSET', key(h.id), 'm', encodeHead(head)));
        await assertDetected(stack, h.id, 'seal_invalid');
        const before = await stack.request({ path: '/consent/v1/metrics' });
        const d = await decision(stack, h.cookie);
        assert.equal(d.json.prompt, true);
        assert.equal(d.json.choices.advertising, false);
        const metrics = await stack.request({ path: '/consent/v1/metrics' });
        const count = (t) => Number((/consent_state_mismatch_total (\d+)/.exec(t) || [0, 0])[1]);
        assert.ok(count(metrics.body) > count(before.body), 'the refusal is counted');
        assert.match(stack.readLog('consentd'), /stored state refused/);
    });

    test('editing count, head or first in the head is detected', async () => {
        for (const edit of [(hd) => { hd.count += 1; }, (hd) => { hd.head[0] ^= 1; },
                            (hd) => { hd.first = 0; }]) {
            const h = await history(stack, ['accept_all', 'reject_all']);
            const head = decodeHead(await hget(stack, h.id, 'm'));
            edit(head);
            await withRedis(stack, (r) => r.cmd('HSET', key(h.id), 'm', encodeHead(head)));
            await assertDetected(stack, h.id, 'seal_invalid');
            await assertDecisionSafe(stack, h);
        }
    });

    test('swapping receipts between two consent IDs is detected for both', async () => {
        const a = await history(stack, ['accept_all', 'reject_all']);
        const b = await history(stack, ['reject_all', 'accept_all']);
        const ra = await hget(stack, a.id, '2');
        const rb = await hget(stack, b.id, '2');
        await withRedis(stack, async (r) => {
            await r.cmd('HSET', key(a.id), '2', rb);
            await r.cmd('HSET', key(b.id), '2', ra);
        });
        for (const h of [a, b]) {
            const j = await assertDetected(stack, h.id, 'receipt_failed');
            assert.notEqual(j.receipts.find((r) => r.seq === 2).verdict, 'ok');
            await assertDecisionSafe(stack, h);
        }
    });

    test('replaying an old receipt as the newest is detected', async () => {
        const h = await history(stack);
        const first = await hget(stack, h.id, '1');     // the old "accept all"
        await withRedis(stack, (r) => r.cmd('HSET', key(h.id), '4', first));
        const j = await assertDetected(stack, h.id, 'head_hash');
        assert.notEqual(j.receipts.find((r) => r.seq === 4).verdict, 'ok');
        await assertDecisionSafe(stack, h);
    });

    test('replacing the history of one ID with another\'s is detected', async () => {
        const a = await history(stack, ['reject_all']);
        const b = await history(stack, ['accept_all', 'accept_all']);
        await withRedis(stack, async (r) => {
            const flat = await r.cmd('HGETALL', key(b.id));
            await r.cmd('DEL', key(a.id));
            await r.cmd('HSET', key(a.id), ...flat);
        });
        const j = await assertDetected(stack, a.id, 'seal_invalid');
        assert.ok(j.receipts.every((r) => r.verdict !== 'ok'));
        const d = await decision(stack, a.cookie);
        assert.equal(d.json.prompt, true, 'b\'s "accept all" is not applied to a');
    });

    test('editing a shared context is detected for every receipt that names it', async () => {
        // A site of its own so that no other test's receipts share the context.
        const h = await history(stack, ['accept_all', 'reject_all']);
        const buf = await hget(stack, h.id, '1');
        const ref = buf.subarray(97, 105).toString('hex');
        const ctxKey = `x:${ref}`;
        const original = await withRedis(stack, (r) => r.cmd('GET', ctxKey));
        try {
            const edited = Buffer.from(original.toString().replace('"gdpr"', '"none"'));
            await withRedis(stack, (r) => r.cmd('SET', ctxKey, edited));
            const j = await assertDetected(stack, h.id, 'receipt_failed');
            assert.ok(j.receipts.every((r) => r.verdict === 'no_context'));
        } finally {
            await withRedis(stack, (r) => r.cmd('SET', ctxKey, original));
        }
        assert.equal((await lookup(stack, h.id)).json.verdict, 'verified');
    });

    test('anything stored beside the receipts is flagged', async () => {
        const h = await history(stack, ['accept_all']);
        await withRedis(stack, (r) => r.cmd('HSET', key(h.id), 'note', 'planted'));
        await assertDetected(stack, h.id, 'extra_data', { inExport: false });
    });

    test('a rollback that leaves the store consistent shows against a receipt the visitor holds', async () => {
        const h = await history(stack, ['accept_all', 'reject_all']);
        const held = h.answers[1].jws;              // the visitor kept the newest
        // Snapshot taken after the first receipt...
        const a = await history(stack, ['accept_all']);
        void a;
        const one = await history(stack, ['accept_all']);
        void one;
        // ... the adversary restores the state of h before its second write:
        // remove receipt 2 and put back the head of a one-receipt history
        // signed by consentd (here: re-created by writing receipt 1 again
        // under a fresh history is impossible, so only a real backup can do
        // it; we simulate the backup by keeping h's first head).
        const h2 = await history(stack, ['accept_all']);
        const backupHead = await hget(stack, h2.id, 'm');
        void backupHead;
        const visitor = await ctl(stack, ['verify', '--receipt', held]);
        assert.equal(visitor.code, 0, visitor.stdout + visitor.stderr);
        assert.match(visitor.stdout, /it is the newest/);
        const older = await ctl(stack, ['verify', '--receipt', h.answers[0].jws]);
        assert.equal(older.code, 0);
        assert.match(older.stdout, /newer receipts follow it/);
        // Now roll h back to one receipt with a head from a "backup": its own
        // first head, captured by re-reading before the second write is not
        // possible here, so drop receipt 2 and keep the head (the store is
        // then inconsistent) and also check the visitor's view.
        await withRedis(stack, (r) => r.cmd('HDEL', key(h.id), '2'));
        const rolled = await ctl(stack, ['verify', '--receipt', held]);
        assert.equal(rolled.code, EXIT_VERIFY, rolled.stdout);
        assert.match(rolled.stdout, /visitor's is seq 2/);
    });
});

describe('proof: a consistent rollback from a backup', () => {
    let stack;
    withStack({ configure }, (s) => { stack = s; });

    test('restoring an ID from an older backup is evident to anyone holding a later receipt', async () => {
        const first = await record(stack, null, 'accept_all');
        assert.equal(first.status, 201);
        const id = first.json.consent_id;
        // The "backup": everything stored for the ID after its first choice.
        const backup = await withRedis(stack, (r) => r.cmd('HGETALL', key(id)));
        const second = await withdraw(stack, first.cookie);
        assert.equal(second.status, 201);
        // The adversary restores the backup: a store consistent in itself.
        await withRedis(stack, async (r) => {
            await r.cmd('DEL', key(id));
            await r.cmd('HSET', key(id), ...backup);
        });
        const plain = await lookup(stack, id);
        assert.equal(plain.json.verdict, 'verified',
                     'a whole-ID restore cannot be seen from the store alone');
        // The visitor's receipt shows it.
        const held = second.json.jws;
        const v = await ctl(stack, ['verify', '--receipt', held]);
        assert.equal(v.code, EXIT_VERIFY, v.stdout + v.stderr);
        assert.match(v.stdout, /ROLLED BACK/);
        assert.match(v.stdout, /finding: rolled_back/);
        // The older receipt the visitor may also hold is still the store's.
        const old = await ctl(stack, ['verify', '--receipt', first.json.jws]);
        assert.equal(old.code, 0, old.stdout);
    });
});

describe('proof: forged exports', () => {
    let stack;
    let h;
    let native;
    let kantara;
    withStack({ configure }, (s) => { stack = s; });
    before(async () => {
        h = await history(stack);
        native = JSON.parse((await ctl(stack, ['--json', 'lookup', '--', h.id])).stdout);
        kantara = JSON.parse((await ctl(stack, ['export', '--format', 'kantara', '--', h.id])).stdout);
    });

    const edited = (obj, fn) => {
        const copy = structuredClone(obj);
        fn(copy);
        return copy;
    };

    test('the genuine exports verify (native, Kantara, one receipt, a bare JWS)', async () => {
        assert.equal((await verifyText(stack, native)).code, 0);
        assert.equal((await verifyText(stack, kantara)).code, 0);
        assert.equal((await verifyText(stack, native.receipts[1])).code, 0);
        assert.equal((await verifyText(stack, h.answers[0].jws)).code, 0);
    });

    const forgeries = {
        'an item without a signature': (e) => { delete e.receipts[1].jws; },
        'an edited readable copy': (e) => { e.receipts[0].receipt.choices.advertising = true; },
        'the newest receipt removed': (e) => { e.receipts.shift(); },
        'the oldest receipt removed': (e) => { e.receipts.pop(); },
        'a receipt in the middle removed': (e) => { e.receipts.splice(1, 1); },
        'the head removed': (e) => { delete e.head; },
        'a forged head count': (e) => {
            const [hh, p, s] = e.head.jws.split('.');
            const st = JSON.parse(Buffer.from(p, 'base64url'));
            st.count = 3;
            e.head.jws = [hh, Buffer.from(JSON.stringify(st)).toString('base64url'), s].join('.');
        },
        'a receipt from another consent ID mixed in': async (e) => {
            const other = await history(stack, ['accept_all']);
            const o = JSON.parse((await ctl(stack, ['--json', 'lookup', '--', other.id])).stdout);
            e.receipts.splice(1, 0, o.receipts[0]);
        },
        'alg other than EdDSA': (e) => {
            const [, p, s] = e.receipts[0].jws.split('.');
            const hdr = Buffer.from(JSON.stringify({ alg: 'none', kid: JSON.parse(
                Buffer.from(e.receipts[0].jws.split('.')[0], 'base64url')).kid }))
                .toString('base64url');
            e.receipts[0].jws = [hdr, p, s].join('.');
        },
    };
    for (const [name, fn] of Object.entries(forgeries)) {
        test(`native export: ${name} fails verification (exit 3)`, async () => {
            const copy = structuredClone(native);
            await fn(copy);
            const v = await verifyText(stack, copy);
            assert.equal(v.code, EXIT_VERIFY, `${name}: ${v.stdout}${v.stderr}`);
            assert.match(v.stdout, /VERIFICATION FAILED/);
        });
    }

    const kantaraForgeries = {
        jurisdiction: (k) => { k.jurisdiction = 'ccpa'; },
        consentType: (k) => { k.services[0].purposes.at(-1).consentType = 'EXPLICIT_OVERRIDE'; },
        controller: (k) => { k.piiControllers[0].piiController = 'Someone Else Ltd.'; },
        'a purpose removed': (k) => { k.services[0].purposes.pop(); },
        'a purpose added': (k) => { k.services[0].purposes.push(structuredClone(k.services[0].purposes[0])); },
        consentTimestamp: (k) => { k.consentTimestamp -= 86400; },
        'x-choices': (k) => { k['x-choices'].advertising = !k['x-choices'].advertising; },
        'x-jws missing': (k) => { delete k['x-jws']; },
    };
    for (const [name, fn] of Object.entries(kantaraForgeries)) {
        test(`Kantara export: edited ${name} fails verification (exit 3)`, async () => {
            // the first receipt is "accept all": every purpose is listed
            const copy = edited(kantara, (e) => fn(e.receipts[e.receipts.length - 1]));
            const v = await verifyText(stack, copy);
            assert.equal(v.code, EXIT_VERIFY, `${name}: ${v.stdout}${v.stderr}`);
        });
    }

    test('a key that is not in the JWKS fails as unknown_kid', async () => {
        const other = crypto.generateKeyPairSync('ed25519');
        const jwk = other.publicKey.export({ format: 'jwk' });
        const x = Buffer.from(jwk.x, 'base64url');
        const kid = sha256(x).slice(0, 16);
        const file = path.join(stack.dir, 'other-jwks.json');
        fs.writeFileSync(file, JSON.stringify({ keys: [{ ...jwk, kid }] }));
        const v = await verifyText(stack, native, ['--jwks', file]);
        assert.equal(v.code, EXIT_VERIFY);
        assert.match(v.stdout, /unknown_kid/);
    });
});

describe('proof: key rotation end to end', () => {
    let stack;
    withStack({ configure }, (s) => { stack = s; });

    test('write, rotate, write, reload: everything verifies; old exports verify with the old JWKS', async () => {
        const oldJwks = (await stack.request({ path: '/consent/v1/keys' })).json;
        assert.equal(oldJwks.keys.length, 1);
        const oldKid = oldJwks.keys[0].kid;
        const before1 = await history(stack, ['accept_all', 'reject_all']);
        const oldExport = (await ctl(stack, ['--json', 'lookup', '--', before1.id])).stdout;
        const oldKantara = (await ctl(stack, ['export', '--format', 'kantara', '--', before1.id])).stdout;
        const oldJwksFile = path.join(stack.dir, 'old-jwks.json');
        fs.writeFileSync(oldJwksFile, JSON.stringify(oldJwks));

        // SECURITY.md's steps: new key, old public key kept in retired_keys,
        // new key in place, reload.
        const newKey = path.join(stack.dir, 'signing.key.new');
        assert.equal((await runCommand(CONSENTD, ['--new-key', newKey])).code, 0);
        const pub = await runCommand(CONSENTD, ['--public-key', stack.config.signing_key]);
        assert.equal(pub.code, 0, pub.stderr);
        const retired = path.join(stack.dir, 'retired-keys.json');
        fs.writeFileSync(retired, JSON.stringify({ keys: [JSON.parse(pub.stdout)] }));
        const cfg = structuredClone(stack.config);
        cfg.signing_key = newKey;
        cfg.retired_keys = retired;
        writeConfig(stack.dir, cfg);
        stack.signalConsentd('SIGHUP');
        await poll(async () => (await stack.request({ path: '/consent/v1/keys' })).json.keys.length === 2,
                   { what: 'the reloaded JWKS with two keys' });

        const jwks = (await stack.request({ path: '/consent/v1/keys' })).json;
        const newKid = jwks.keys[0].kid;
        assert.notEqual(newKid, oldKid);
        assert.deepEqual(jwks.keys.map((k) => k.kid).sort(), [oldKid, newKid].sort());
        assert.ok(jwks.keys.every((k) => k.d === undefined), 'never a secret');

        // The same ID goes on under the new key; a new ID starts under it.
        const more = await record(stack, before1.cookie, 'accept_all');
        assert.equal(more.status, 201);
        assert.equal(more.json.receipt.seq, 3);
        assert.equal(more.json.receipt.kid, newKid);
        const fresh = await history(stack, ['reject_all']);

        for (const id of [before1.id, fresh.id]) {
            const res = await lookup(stack, id);
            assert.equal(res.json.verdict, 'verified', JSON.stringify(res.json.findings));
            assert.equal((await ctl(stack, ['lookup', '--', id])).code, 0);
        }
        const kids = (await lookup(stack, before1.id)).json.receipts.map((r) => r.receipt.kid);
        assert.deepEqual(kids, [newKid, oldKid, oldKid]);

        // Exports from before verify with the old JWKS, and with the new one.
        const newJwksFile = path.join(stack.dir, 'new-jwks.json');
        fs.writeFileSync(newJwksFile, JSON.stringify(jwks));
        for (const text of [oldExport, oldKantara]) {
            assert.equal((await verifyText(stack, text, ['--jwks', oldJwksFile])).code, 0);
            assert.equal((await verifyText(stack, text, ['--jwks', newJwksFile])).code, 0);
        }
        // An export from after needs the new key: the old JWKS alone fails.
        const newExport = (await ctl(stack, ['--json', 'lookup', '--', before1.id])).stdout;
        assert.equal((await verifyText(stack, newExport, ['--jwks', newJwksFile])).code, 0);
        assert.equal((await verifyText(stack, newExport, ['--jwks', oldJwksFile])).code, EXIT_VERIFY);

        // The visitor's cookie survives the rotation (its secret is separate).
        const d = await decision(stack, before1.cookie);
        assert.equal(d.json.consent_id, before1.id);
        assert.equal(d.json.prompt, false);
    });

    test('a retired_keys file that is not a JWKS of Ed25519 keys stops start-up', async () => {
        const cfg = structuredClone(stack.config);
        const bad = path.join(stack.dir, 'bad-keys.json');
        fs.writeFileSync(bad, JSON.stringify({ keys: [{ kty: 'RSA', n: 'x', e: 'AQAB' }] }));
        cfg.retired_keys = bad;
        const file = writeConfig(stack.dir, cfg, 'bad-retired.json');
        const r = await runCommand(CONSENTD, ['--check', file]);
        assert.equal(r.code, 1);
        assert.match(r.stderr, /bad-keys\.json/);
        // a kid that does not belong to its key is refused too
        const k = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
        fs.writeFileSync(bad, JSON.stringify({ keys: [{ ...k, kid: '0000000000000000' }] }));
        assert.equal((await runCommand(CONSENTD, ['--check', file])).code, 1);
    });
});

describe('proof: the consent cookie', () => {
    let stack;
    withStack({ configure }, (s) => { stack = s; });

    test('a first-time decision sets no cookie and names no consent ID', async () => {
        const d = await decision(stack, null);
        assert.equal(d.headers['set-cookie'], undefined);
        assert.equal(d.json.consent_id, null);
        assert.equal(d.json.prompt, true);
    });

    test('the first write issues the cookie; the consent ID is not the cookie', async () => {
        const r = await record(stack, null, 'reject_all');
        assert.equal(r.status, 201);
        assert.match(r.setCookie, /^consent=[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax$/);
        const value = r.cookie.split('=')[1];
        assert.match(r.json.consent_id, /^[A-Za-z0-9_-]{22}$/);
        assert.ok(!value.includes(r.json.consent_id));
        const d = await decision(stack, r.cookie);
        assert.equal(d.json.consent_id, r.json.consent_id);
        assert.equal(d.headers['set-cookie'], undefined);
    });

    test('planted or made-up cookies are ignored: they read nothing and write nothing', async () => {
        const victim = await history(stack, ['accept_all']);
        const forged = [
            `consent=${victim.id}`,                                    // the support ID
            `consent=${crypto.randomBytes(32).toString('base64url')}`, // right form, no MAC
            `consent=${victim.cookie.split('=')[1].slice(0, -2)}AA`,   // MAC altered
            `consent_id=${victim.id}`,                                 // the v1 cookie
        ];
        for (const cookie of forged) {
            const d = await decision(stack, cookie);
            assert.equal(d.json.consent_id, null, cookie);
            assert.equal(d.json.stored, null);
            const me = await stack.request({ path: '/consent/v1/consents/me', headers: { Cookie: cookie } });
            assert.equal(me.status, 404, cookie);
            const w = await record(stack, cookie, 'reject_all');
            assert.equal(w.status, 201);
            assert.notEqual(w.json.consent_id, victim.id, 'never written under the planted ID');
            assert.ok(w.setCookie, 'a new cookie is issued');
        }
        const res = await lookup(stack, victim.id);
        assert.equal(res.json.receipts.length, 1, 'the victim\'s history is untouched');
        assert.equal(res.json.verdict, 'verified');
    });

    test('with Secure cookies the cookie is __Host- prefixed (no Domain, Path=/)', async () => {
        const secure = await startStack({ configure: (cfg) => {
            configure(cfg);
            cfg.cookie.secure = true;
        } });
        try {
            const r = await record(secure, null, 'reject_all');
            assert.equal(r.status, 201, r.body);
            assert.match(r.setCookie, /^__Host-consent=[A-Za-z0-9_-]{43}; Max-Age=\d+; Path=\/; HttpOnly; SameSite=Lax; Secure$/);
            assert.doesNotMatch(r.setCookie, /Domain=/i);
            // A non-prefixed cookie (what a sibling subdomain could set) is ignored.
            const plain = `consent=${r.cookie.split('=')[1]}`;
            assert.equal((await decision(secure, plain)).json.consent_id, null);
            assert.equal((await decision(secure, r.cookie)).json.consent_id, r.json.consent_id);
        } finally {
            await secure.stop();
        }
    });

    test('writes while previewing are refused and nothing is written', async () => {
        const { snapshot } = require('./lib/redis');
        const v = await history(stack, ['accept_all']);
        const before2 = await snapshot(stack, { exclude: ['consent:audit'] });
        const w = await record(stack, v.cookie, 'reject_all', { query: '?preview=US-CA' });
        assert.equal(w.status, 403, w.body);
        assert.equal(w.json.error.code, 'preview_not_recorded');
        const del = await stack.request({ method: 'DELETE', path: '/consent/v1/consents/me?site=demo&preview=US-CA',
                                          xff: XFF, headers: { Cookie: v.cookie } });
        assert.equal(del.status, 403);
        assert.equal(del.json.error.code, 'preview_not_recorded');
        assert.deepEqual(await snapshot(stack, { exclude: ['consent:audit'] }), before2);
        // previewing a decision still works
        const d = await decision(stack, null, '&preview=US-CA');
        assert.equal(d.json.jurisdiction.regime, 'ccpa');
    });
});

describe('proof: erasure', () => {
    let stack;
    withStack({ configure }, (s) => { stack = s; });

    /* Every file under Redis's dir (AOF parts, manifest, any RDB). */
    function redisFiles() {
        const out = [];
        const walk = (d) => {
            for (const e of fs.readdirSync(d, { withFileTypes: true })) {
                const p = path.join(d, e.name);
                if (e.isDirectory())
                    walk(p);
                else
                    out.push(p);
            }
        };
        walk(path.join(stack.dir, 'redis'));
        return out;
    }
    const filesHolding = (needle) => redisFiles().filter((f) => fs.readFileSync(f).includes(needle));

    test('after erasure reports done, no file under Redis\'s dir holds the erased receipts', async () => {
        // Uncompressed RDB parts, so that a receipt's bytes are findable in
        // the files at all (LZF would hide them whether erased or not).
        await withRedis(stack, (r) => r.cmd('CONFIG', 'SET', 'rdbcompression', 'no'));
        const h = await history(stack, ['accept_all', 'reject_all', 'accept_all']);
        const keep = await history(stack, ['accept_all']);
        const stored = [];
        for (const seq of ['1', '2', '3'])
            stored.push(await hget(stack, h.id, seq));
        // Signatures are unique to these receipts (both halves, so that a
        // split by the file format cannot hide one).
        const needles = stored.flatMap((b) => [b.subarray(1, 33), b.subarray(33, 65)]);
        await poll(() => filesHolding(needles[0]).length > 0, { what: 'the receipt in the AOF' });
        const res = await stack.request({ method: 'DELETE', path: `/consent/v1/admin/consents/${h.id}`,
                                          headers: { Authorization: `Bearer ${TOKEN}` } });
        assert.equal(res.status, 200, res.body);
        assert.equal(res.json.purged, true);
        assert.equal(res.json.receipts_erased, 3);
        assert.equal(res.json.erasure, 1);
        for (const n of needles)
            assert.deepEqual(filesHolding(n), [], 'no copy of an erased receipt');
        // Another visitor's receipts are still there, in memory and on disk.
        const other = await hget(stack, keep.id, '1');
        assert.ok(filesHolding(other.subarray(1, 65)).length > 0);
        assert.equal((await lookup(stack, keep.id)).json.verdict, 'verified');
        // The audit stream keeps a keyed hash of the erased ID, never the ID.
        const audit = await stack.request({ path: '/consent/v1/admin/audit?count=1000',
                                            headers: { Authorization: `Bearer ${TOKEN}` } });
        assert.ok(!JSON.stringify(audit.json).includes(h.id), 'no consent ID in the audit stream');
        assert.ok(audit.json.entries.some((e) => e.action === 'erase' && /^id:[0-9a-f]{16}$/.test(e.target)));
    });

    test('a tombstone is never overwritten: a second erasure adds to it', async () => {
        const h = await history(stack, ['accept_all', 'reject_all']);
        const del = () => stack.request({ method: 'DELETE', path: `/consent/v1/admin/consents/${h.id}`,
                                          headers: { Authorization: `Bearer ${TOKEN}` } });
        const first = await del();
        assert.equal(first.json.erasure, 1);
        const second = await del();
        assert.equal(second.status, 200);
        assert.equal(second.json.erasure, 2);
        assert.equal(second.json.receipts_erased, 0);
        const look = await lookup(stack, h.id);
        assert.equal(look.status, 404);
        assert.equal(look.json.error.code, 'erased');
        const t = look.json.error.tombstone;
        assert.equal(t.erasures, 2);
        assert.deepEqual(t.entries.map((e) => e.receipts).sort(), [0, 2]);
        assert.equal(t.receipts, 2, 'the first erasure\'s record is kept');
    });

    test('a write with an erased ID\'s cookie starts a new consent ID', async () => {
        const h = await history(stack, ['accept_all']);
        const del = await stack.request({ method: 'DELETE', path: `/consent/v1/admin/consents/${h.id}`,
                                          headers: { Authorization: `Bearer ${TOKEN}` } });
        assert.equal(del.status, 200);
        const w = await record(stack, h.cookie, 'reject_all');
        assert.equal(w.status, 201, w.body);
        assert.notEqual(w.json.consent_id, h.id);
        assert.equal(w.json.receipt.seq, 1);
        assert.ok(w.setCookie, 'the visitor gets the new ID\'s cookie');
        const look = await lookup(stack, h.id);
        assert.equal(look.json.error.code, 'erased', 'the erased history was not continued');
        // and no key names the erased ID again, not even the receipt index
        const raw = Buffer.from(h.id, 'base64url');
        const named = await withRedis(stack, async (r) => {
            const hits = [];
            for (const k of await r.cmd('KEYS', 'r:*'))
                for (const v of await r.cmd('HVALS', k))
                    if (Buffer.compare(v, raw) === 0)
                        hits.push(k.toString());
            return hits;
        });
        assert.deepEqual(named, []);
    });
});

describe('proof: the history bound', () => {
    let stack;
    withStack({ configure: (cfg) => {
        configure(cfg);
        cfg.receipts.max_history = 3;
    } }, (s) => { stack = s; });

    test('receipts dropped by the bound are not a gap; the kept history verifies', async () => {
        const h = await history(stack, ['accept_all', 'reject_all', 'accept_all', 'reject_all', 'accept_all']);
        const res = await lookup(stack, h.id);
        assert.equal(res.json.verdict, 'verified', JSON.stringify(res.json.findings));
        assert.deepEqual(res.json.receipts.map((r) => r.seq), [5, 4, 3]);
        assert.equal(res.json.head.first, 3);
        assert.equal(res.json.receipts_written, 5);
        const exp = await ctl(stack, ['--json', 'lookup', '--', h.id]);
        assert.equal((await verifyText(stack, exp.stdout)).code, 0);
        // The trimmed receipts left the index too.
        const rid = h.answers[0].receipt.receipt_id;
        const r = await stack.request({ path: `/consent/v1/admin/receipts/${rid}`,
                                        headers: { Authorization: `Bearer ${TOKEN}` } });
        assert.equal(r.status, 404);
        // Removing the oldest kept one is still detected.
        await withRedis(stack, (x) => x.cmd('HDEL', key(h.id), '3'));
        await assertDetected(stack, h.id, 'missing_oldest');
    });
});

describe('proof: consentctl migrate (format v1 to v2)', () => {
    let stack;
    withStack({ configure }, (s) => { stack = s; });

    /* The stack's signing key, as v1 consentd signed with it. */
    function signer() {
        const seed = Buffer.from(fs.readFileSync(stack.config.signing_key, 'utf8').trim(), 'hex');
        const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
        const key = crypto.createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
        const pub = crypto.createPublicKey(key).export({ format: 'jwk' });
        const kid = sha256(Buffer.from(pub.x, 'base64url')).slice(0, 16);
        return { key, pub: { ...pub, kid }, kid };
    }

    /* A v1 history as v1 consentd stored it: consent:{ID} (head, count,
     * trimmed), consent:{ID}:receipts (newest first: signature + payload),
     * receipt:<uuid> -> ID. Returns { id, payloads } (oldest first). */
    async function writeV1(actions, { tamper = false } = {}) {
        const { key, kid } = signer();
        const id = crypto.randomBytes(16).toString('base64url');
        const stored = [];
        const payloads = [];
        let prev = '0'.repeat(64);
        for (const [i, action] of actions.entries()) {
            const t = 1795300000000 + i * 60000;
            const on = action === 'accept_all';
            const p = {
                receipt_version: 'consent-receipt/1', receipt_id: crypto.randomUUID(),
                consent_id: id, site: 'demo', time_ms: t,
                jurisdiction: { region: 'DE', regime: 'gdpr', model: 'opt-in' },
                gpc: { sent: false, honoured: false, binding: false }, action,
                choices: { necessary: true, functional: on, analytics: on, advertising: on },
                banner: { version: '2026-11-01', consent_revision: 1, texts_sha256: 'a'.repeat(64), model: 'opt-in' },
                language: 'en', policy_url: '/consent/demo/privacy.html', expires_ms: t + 365 * 86400000,
                client_network: '46.4.0.0/24', user_agent_sha256: 'b'.repeat(64), prev_sha256: prev, kid,
            };
            const bytes = Buffer.from(JSON.stringify(p));
            const input = `${Buffer.from(JSON.stringify({ alg: 'EdDSA', kid })).toString('base64url')}.${bytes.toString('base64url')}`;
            const sig = crypto.sign(null, Buffer.from(input), key);
            stored.push(Buffer.concat([sig, bytes]));
            payloads.push(p);
            prev = sha256(bytes);
        }
        if (tamper)
            stored[0][64 + 30] ^= 1;
        await withRedis(stack, async (r) => {
            await r.cmd('HSET', `consent:{${id}}`, 'head', prev, 'count', String(actions.length),
                        'site:demo', '{}');
            for (const s of stored)
                await r.cmd('LPUSH', `consent:{${id}}:receipts`, s);
            for (const p of payloads)
                await r.cmd('SET', `receipt:${p.receipt_id}`, id);
        });
        return { id, payloads };
    }

    test('verified v1 histories become v2 histories of the same ID; a tampered one is left alone', async () => {
        const a = await writeV1(['reject_all', 'accept_all', 'withdraw']);
        const b = await writeV1(['accept_all', 'reject_all']);
        const c = await writeV1(['accept_all', 'reject_all'], { tamper: true });
        const archive = path.join(stack.dir, 'v1-archive.jsonl');

        const dry = await ctl(stack, ['migrate', '--archive', archive, '--dry-run']);
        assert.equal(dry.code, EXIT_VERIFY, dry.stdout + dry.stderr);
        assert.equal((await lookup(stack, a.id)).status, 404, 'a dry run writes nothing');

        fs.rmSync(archive);
        const run = await ctl(stack, ['migrate', '--archive', archive]);
        assert.equal(run.code, EXIT_VERIFY, run.stdout + run.stderr);   // c failed
        assert.match(run.stdout, new RegExp(`${c.id}: FAILED v1 verification`));
        assert.match(run.stdout, /2 histories \(5 receipts\) migrated, 1 failed/);

        for (const v of [a, b]) {
            const res = await lookup(stack, v.id);
            assert.equal(res.json.verdict, 'verified', JSON.stringify(res.json.findings));
            const got = res.json.receipts.slice().reverse();
            assert.deepEqual(got.map((x) => x.seq), v.payloads.map((_, i) => i + 1));
            got.forEach((x, i) => {
                const o = v.payloads[i];
                assert.equal(x.receipt.migrated_from, 'consent-receipt/1');
                assert.equal(x.receipt.action, o.action);
                assert.deepEqual(x.receipt.choices, o.choices);
                assert.equal(x.receipt.time_ms, o.time_ms);
                assert.equal(x.receipt.expires_ms, o.expires_ms);
                assert.deepEqual(x.receipt.jurisdiction, o.jurisdiction);
                assert.equal(x.receipt.client_network, o.client_network);
            });
            const keys = await withRedis(stack, (r) => r.cmd('KEYS', `consent:{${v.id}}*`));
            assert.deepEqual(keys, [], 'the v1 keys are gone');
        }
        // The decision applies the migrated state (a's newest is the withdrawal).
        const exp = await ctl(stack, ['--json', 'lookup', '--', a.id]);
        assert.equal((await verifyText(stack, exp.stdout)).code, 0);
        // c is as it was.
        const left = await withRedis(stack, (r) => r.cmd('KEYS', `consent:{${c.id}}*`));
        assert.equal(left.length, 2);
        assert.equal((await lookup(stack, c.id)).status, 404);

        // The archive keeps the original v1 receipts, verifiable offline.
        const { pub } = signer();
        const lines = fs.readFileSync(archive, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
        assert.deepEqual(lines.map((l) => l.consent_id).sort(), [a.id, b.id].sort());
        for (const l of lines) {
            for (const r of l.receipts) {
                const v = verifyJws(r.jws, pub);
                assert.equal(v.ok, true);
                assert.equal(JSON.parse(v.payload).receipt_version, 'consent-receipt/1');
                assert.equal(sha256(v.payload), r.sha256);
            }
        }
        // Running it again finds only c.
        const again = await ctl(stack, ['migrate', '--archive', archive]);
        assert.match(again.stdout, /0 histories \(0 receipts\) migrated, 1 failed/);
    });
});
