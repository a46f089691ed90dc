'use strict';
/*
 * cli.test.js - consentctl, support staff's command line, against the
 * configuration and Redis of a real stack (histories written through nginx ->
 * consentd): lookup, receipt, export (native and Kantara), offline verify
 * (no configuration, no Redis), erase, tokens, consent IDs that start with
 * '-', exit codes, and the audit stream (via "cli").
 *
 *   CONSENTD=build/asan/consentd CONSENTCTL=build/asan/consentctl \
 *       node --test tests/integration/cli.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');

const { ROOT, makeTempDir, poll, removeDir, startStack, writeConfig } = require('./lib/stack');
const { Redis, allKeys, redisOnce } = require('./lib/redis');
const { verifyJws } = require('./lib/jws');

const CONSENTCTL = process.env.CONSENTCTL
    ? path.resolve(process.cwd(), process.env.CONSENTCTL)
    : path.join(ROOT, 'build', 'asan', 'consentctl');

const BANNER = '/consent/v1/banner?site=demo';
const CONSENTS = '/consent/v1/consents';
const ADMIN = '/consent/v1/admin';
const UA = 'cli-test/1.0 (integration)';
/* Receipt IDs: UUIDs of version 8 derived from the consent ID and seq. */
const RECEIPT_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const CONSENT_ID = /^[A-Za-z0-9_-]{21}[AQgw]$/;
const WHO = `cli:${os.userInfo().username}`;
const SANITIZER = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/;

const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
const AUDIT_TOKEN = `cst_${crypto.randomBytes(32).toString('base64url')}`;

/* One Redis command on a fresh connection (lib/redis.js). */
const redis = redisOnce;


/* ---- consentctl ---- */

/*
 * Runs consentctl with args; options: input (stdin), env (added to a
 * minimal environment without CONSENTD_CONFIG). Asserts that no sanitizer
 * report came out. Returns { code, stdout, stderr, json } (json: stdout
 * parsed, when it is JSON).
 */
function ctl(args, { input, env = {} } = {}) {
    const r = spawnSync(CONSENTCTL, args, {
        cwd: ROOT,
        input: input === undefined ? '' : input,
        encoding: 'utf8',
        timeout: 20000,
        env: { PATH: process.env.PATH, HOME: process.env.HOME || '/', ...env },
    });
    assert.equal(r.error, undefined, `consentctl ${args.join(' ')}: ${r.error}`);
    assert.doesNotMatch(r.stderr, SANITIZER, `sanitizer report from consentctl ${args.join(' ')}`);
    let json;
    try {
        json = JSON.parse(r.stdout);
    } catch (_) {
        json = undefined;
    }
    return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr, json };
}

function expectExit(r, code, what) {
    assert.equal(r.code, code, `${what}: exit ${r.code} (want ${code})\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
}

/* ---- the public endpoint (lib/visitor.js) ---- */

const V = require('./lib/visitor');

/* Visitors come from Germany, each from its own address (V.address()). */
const { threeReceipts } = V;

/* A visitor whose consent ID starts with "-" (IDs are derived from the
 * cookie, so: new visitors until one does, 1 in 64), with three receipts. */
async function dashVisitor(stack) {
    for (let i = 0; i < 1000; i++) {
        const v = await V.newVisitor(stack);
        await V.record(v, 'reject_all');
        if (v.id.startsWith('-')) {
            await V.record(v, 'custom', { functional: true, analytics: false, advertising: false });
            await V.record(v, 'accept_all');
            return v;
        }
    }
    throw new Error('no consent ID starting with "-" in 1000 visitors');
}

/* An audit target as consentd and consentctl record it: consent IDs only as
 * a keyed hash "id:<16 hex>" (checked for consistency by the audit test). */
const isConsentId = (s) => V.CONSENT_ID.test(s);

/* A different base64url character at position i of s. */
function flipChar(s, i) {
    const c = s[i] === 'A' ? 'B' : 'A';
    return s.slice(0, i) + c + s.slice(i + 1);
}

/* ======================================================================= */

describe('consentctl', () => {
    let stack;
    let dir;
    let jwks;
    let jwksFile;
    let v;                          // a visitor with three receipts
    const cliCalls = [];            // what the audit stream must hold (via cli)

    /* consentctl -c CONFIG args; records what it should audit. */
    function run(args, options = {}, audit = null) {
        const r = ctl(['-c', stack.configPath, ...args], options);
        if (audit)
            cliCalls.push(audit);
        return r;
    }

    before(async () => {
        assert.ok(fs.existsSync(CONSENTCTL), `${CONSENTCTL} (make build/asan/consentctl)`);
        dir = makeTempDir();
        stack = await startStack({
            configure: (cfg) => {
                cfg.admin = {
                    tokens: [{ name: 'auditor', roles: ['audit'], sha256: sha256(AUDIT_TOKEN) }],
                    audit_retention_days: 30,
                };
            },
        });
        const k = await stack.request({ path: '/consent/v1/keys' });
        assert.equal(k.status, 200);
        jwks = k.json;
        jwksFile = path.join(dir, 'jwks.json');
        fs.writeFileSync(jwksFile, JSON.stringify(jwks));
        v = await threeReceipts(stack);
    });
    after(async () => {
        if (stack)
            await stack.stop();
        if (dir)
            removeDir(dir);
    });

    describe('lookup and receipt', () => {
        it('lookup ID: exit 0 and a table of verified receipts', () => {
            const r = run(['lookup', v.id], {}, { action: 'lookup', target: v.id, status: '200' });
            expectExit(r, 0, 'lookup');
            assert.match(r.stdout, new RegExp(`${v.id}: 3 receipt\\(s\\), all verified`));
            const rows = r.stdout.split('\n').filter((l) => /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/.test(l));
            assert.equal(rows.length, 3, r.stdout);
            assert.deepEqual(rows.map((l) => /(accept_all|custom|reject_all)/.exec(l)[1]),
                             ['accept_all', 'custom', 'reject_all'], 'newest first');
            for (const row of rows) {
                assert.match(row, /verified$/);
                assert.match(row, /DE-BY\s+gdpr/);
                assert.match(row, /necessary=on/);
            }
            // the time column is the receipts' UTC time
            const t = new Date(v.posted[2].receipt.time_ms).toISOString().slice(0, 19).replace('T', ' ');
            assert.ok(rows[0].startsWith(t), `${rows[0]} starts with ${t}`);
        });

        it('--json lookup ID: the history with its receipts, as the API gives it', () => {
            const r = run(['--json', 'lookup', v.id], {}, { action: 'lookup', target: v.id, status: '200' });
            expectExit(r, 0, '--json lookup');
            assert.ok(r.json, r.stdout);
            assert.equal(r.json.consent_id, v.id);
            assert.equal(r.json.all_valid, true);
            assert.equal(r.json.receipts_written, 3);
            assert.equal(r.json.receipts.length, 3);
            const posted = [...v.posted].reverse();
            r.json.receipts.forEach((x, i) => {
                assert.deepEqual(x.receipt, posted[i].receipt);
                assert.equal(x.jws, posted[i].jws);
                assert.equal(x.signature_valid, true);
                assert.equal(x.chain_valid, true);
            });
            assert.ok(r.json.state.demo);
            // options may come after the command too
            const after = run(['lookup', v.id, '--json'], {}, { action: 'lookup', target: v.id, status: '200' });
            expectExit(after, 0, 'lookup ID --json');
            assert.deepEqual(after.json.receipts, r.json.receipts);
        });

        it('receipt RID: exit 0; --json gives the receipt', () => {
            const want = v.posted[1];
            const rid = want.receipt.receipt_id;
            const r = run(['receipt', rid], {}, { action: 'receipt', target: rid, status: '200' });
            expectExit(r, 0, 'receipt');
            assert.match(r.stdout, /custom/);
            assert.match(r.stdout, /verified/);
            const j = run(['--json', 'receipt', rid], {}, { action: 'receipt', target: rid, status: '200' });
            expectExit(j, 0, '--json receipt');
            assert.equal(j.json.consent_id, v.id);
            assert.deepEqual(j.json.receipt, want.receipt);
            assert.equal(j.json.jws, want.jws);
            assert.equal(j.json.signature_valid, true);
            assert.equal(j.json.chain_valid, true);
            const unknown = crypto.randomUUID();
            expectExit(run(['receipt', unknown], {}, { action: 'receipt', target: unknown, status: '404' }),
                       1, 'receipt of an unknown receipt ID');
            expectExit(run(['receipt', 'not-a-uuid']), 2, 'receipt not-a-uuid');
            expectExit(run(['receipt', rid.toUpperCase()]), 2, 'receipt with an upper-case UUID');
        });

        it('lookup of an unknown well-formed ID: exit 1; of a malformed ID: exit 2', () => {
            const r = run(['lookup', 'AAAAAAAAAAAAAAAAAAAAAA'], {},
                          { action: 'lookup', target: 'AAAAAAAAAAAAAAAAAAAAAA' });
            expectExit(r, 1, 'lookup unknown');
            assert.match(r.stderr, /nothing is stored/);
            assert.equal(r.stdout, '');
            for (const bad of ['not-an-id', 'AAAAAAAAAAAAAAAAAAAAAB', 'AAAAAAAAAAAAAAAAAAAAA',
                               'AAAAAAAAAAAAAAAAAAAA*A', v.posted[0].receipt.receipt_id]) {
                const b = run(['lookup', bad]);
                expectExit(b, 2, `lookup ${bad}`);
                assert.match(b.stderr, /not a well-formed consent ID/);
            }
            expectExit(run(['erase', 'not-an-id']), 2, 'erase not-an-id');
            expectExit(run(['export', 'not-an-id']), 2, 'export not-an-id');
        });

        it('a tampered history: lookup exits 3, marks the receipt and names the findings', async () => {
            const t = await threeReceipts(stack);
            const key = V.keys.history(t.id);
            const FLAGS = 1 + 64 + 32 + 8 + 6;     // cgi/receipt.h RECEIPT_AT_FLAGS
            const stored = await redis(stack.redisPort, 'HGET', key, '2');    // custom
            const changed = Buffer.from(stored);
            assert.equal(changed[FLAGS] & 7, 2, 'custom is stored as action 2');
            changed[FLAGS] = (changed[FLAGS] & ~7) | 1;                      // reject_all
            assert.equal(await redis(stack.redisPort, 'HSET', key, '2', changed), 0);
            const r = run(['lookup', t.id], {}, { action: 'lookup', target: t.id, status: '200' });
            expectExit(r, 3, 'lookup of a tampered history');
            assert.match(r.stdout, /VERIFICATION FAILED/);
            assert.match(r.stdout, /TAMPERED \(signature\)/);
            assert.match(r.stdout, /^finding: receipt_failed$/m);
            const j = run(['--json', 'lookup', t.id], {}, { action: 'lookup', target: t.id, status: '200' });
            expectExit(j, 3, '--json lookup of a tampered history');
            assert.equal(j.json.verdict, 'failed');
            assert.deepEqual(j.json.receipts.map((x) => x.verdict), ['chain_broken', 'bad_signature', 'ok']);

            // A deleted middle receipt: finding gap.
            const g = await threeReceipts(stack);
            assert.equal(await redis(stack.redisPort, 'HDEL', V.keys.history(g.id), '2'), 1);
            const gr = run(['lookup', g.id], {}, { action: 'lookup', target: g.id, status: '200' });
            expectExit(gr, 3, 'lookup of a history with a gap');
            assert.match(gr.stdout, /^finding: gap$/m);
        });
    });

    describe('export and offline verify', () => {
        let nativeFile;
        let native;

        it('export ID (native) to a file: every receipt with its jws', () => {
            const r = run(['export', v.id], {}, { action: 'export', target: v.id, status: '200' });
            expectExit(r, 0, 'export');
            native = r.json;
            assert.ok(native, r.stdout);
            assert.equal(native.consent_id, v.id);
            assert.equal(native.receipts.length, 3);
            assert.equal(native.head.count, 3, 'the export carries the sealed head');
            assert.equal(native.head.seal_valid, true);
            assert.equal(native.verdict, 'verified');
            for (const x of native.receipts) {
                const { ok, payload: raw } = verifyJws(x.jws, jwks.keys[0]);
                const payload = JSON.parse(raw);
                assert.equal(ok, true);
                assert.deepEqual(payload, x.receipt);
            }
            nativeFile = path.join(dir, 'export.json');
            fs.writeFileSync(nativeFile, r.stdout);
            const same = run(['export', v.id, '--format', 'native'], {},
                             { action: 'export', target: v.id, status: '200' });
            expectExit(same, 0, 'export --format native');
            assert.deepEqual(same.json.receipts, native.receipts);
        });

        it('export ID --format kantara: Kantara v1.1 receipts with x-jws', () => {
            const r = run(['export', v.id, '--format', 'kantara'], {},
                          { action: 'export', target: v.id, status: '200' });
            expectExit(r, 0, 'export --format kantara');
            assert.ok(r.json, r.stdout);
            assert.equal(r.json.consent_id, v.id);
            assert.deepEqual(Object.keys(r.json), ['consent_id', 'head', 'receipts']);
            assert.equal(r.json.head.count, 3);
            assert.equal(r.json.receipts.length, 3);
            const posted = [...v.posted].reverse();
            r.json.receipts.forEach((k, i) => {
                const rec = posted[i].receipt;
                assert.equal(k.version, 'KI-CR-v1.1.0');
                assert.equal(k.jurisdiction, 'gdpr');
                assert.ok(Number.isInteger(k.consentTimestamp));
                assert.equal(k.consentTimestamp, Math.floor(rec.time_ms / 1000));
                assert.equal(typeof k.collectionMethod, 'string');
                assert.match(k.consentReceiptID, RECEIPT_UUID);
                assert.equal(k.consentReceiptID, rec.receipt_id);
                assert.equal(k.publicKey, jwks.keys[0].x);
                assert.equal(k.language, 'en');
                assert.equal(k.piiPrincipalId, v.id);
                assert.ok(Array.isArray(k.piiControllers) && k.piiControllers.length === 1);
                for (const f of ['piiController', 'contact', 'address', 'email', 'phone'])
                    assert.equal(typeof k.piiControllers[0][f], 'string');
                assert.equal(k.policyUrl, rec.policy_url);
                assert.ok(Array.isArray(k.services));
                for (const p of k.services[0].purposes) {
                    assert.equal(typeof p.purpose, 'string');
                    const info = rec.purposes[p.purposeCategory[0]];
                    assert.equal(p.purpose, info.name, 'the category name from the payload');
                    assert.equal(p.consentType, info.necessary ? 'NOT_REQUIRED' : 'EXPLICIT');
                    assert.ok(Array.isArray(p.purposeCategory));
                    assert.equal(typeof p.consentType, 'string');
                    assert.ok(Array.isArray(p.piiCategory));
                    assert.equal(typeof p.primaryPurpose, 'boolean');
                    assert.equal(typeof p.termination, 'string');
                    assert.equal(typeof p.thirdPartyDisclosure, 'boolean');
                }
                assert.equal(k.sensitive, false);
                assert.deepEqual(k.spiCat, []);
                const { ok, payload: raw } = verifyJws(k['x-jws'], jwks.keys[0]);
                const payload = JSON.parse(raw);
                assert.equal(ok, true);
                assert.deepEqual(payload, rec);
            });
            fs.writeFileSync(path.join(dir, 'kantara.json'), r.stdout);
            expectExit(run(['export', v.id, '--format', 'bogus']), 2, 'export --format bogus');
        });

        /* verify with --jwks: no configuration (CONSENTD_CONFIG names nothing)
         * and, below, no Redis either. */
        const offline = (args, options = {}) =>
            ctl(args, { ...options, env: { CONSENTD_CONFIG: path.join(os.tmpdir(), 'no-such-consentd.json') } });

        it('verify FILE --jwks JWKS: exit 0 without a configuration (so without Redis)', () => {
            {   // (and with Redis stopped: see "Redis unavailable" below)
                const r = offline(['verify', nativeFile, '--jwks', jwksFile]);
                expectExit(r, 0, 'verify');
                assert.match(r.stdout, /3 receipt\(s\): all verified/);
                expectExit(offline(['--jwks', jwksFile, 'verify', nativeFile]), 0, 'verify, --jwks first');
                const k = offline(['verify', path.join(dir, 'kantara.json'), '--jwks', jwksFile]);
                expectExit(k, 0, 'verify of the Kantara export');
                // one receipt (the --json receipt form) and a bare JWS
                const one = path.join(dir, 'one.json');
                fs.writeFileSync(one, JSON.stringify(native.receipts[1]));
                expectExit(offline(['verify', one, '--jwks', jwksFile]), 0, 'verify one receipt');
                const bare = path.join(dir, 'bare.jws');
                fs.writeFileSync(bare, `${native.receipts[1].jws}\n`);
                expectExit(offline(['verify', bare, '--jwks', jwksFile]), 0, 'verify a bare JWS');
                // with the configured key instead of a JWKS: still no Redis needed
                expectExit(ctl(['-c', stack.configPath, 'verify', nativeFile]), 0,
                           'verify with the configured key');
            }
        });

        it('verify -: the export on stdin', () => {
            const r = offline(['verify', '-', '--jwks', jwksFile], { input: fs.readFileSync(nativeFile) });
            expectExit(r, 0, 'verify -');
            assert.match(r.stdout, /all verified/);
            const bad = offline(['verify', '-', '--jwks', jwksFile], { input: '{"receipts": []}' });
            expectExit(bad, 3, 'verify - of an export without receipts');
        });

        it('verify: one byte changed inside a jws: exit 3', () => {
            for (const part of [0, 1, 2]) {
                const e = structuredClone(native);
                const segs = e.receipts[1].jws.split('.');
                segs[part] = flipChar(segs[part], Math.floor(segs[part].length / 2));
                e.receipts[1].jws = segs.join('.');
                const f = path.join(dir, `bad-jws-${part}.json`);
                fs.writeFileSync(f, JSON.stringify(e, null, 2));
                const r = offline(['verify', f, '--jwks', jwksFile]);
                expectExit(r, 3, `verify with a byte of JWS part ${part} changed`);
                assert.match(r.stdout, /VERIFICATION FAILED/);
            }
            const bare = path.join(dir, 'bare-bad.jws');
            const segs = native.receipts[0].jws.split('.');
            segs[1] = flipChar(segs[1], 10);
            fs.writeFileSync(bare, segs.join('.'));
            expectExit(offline(['verify', bare, '--jwks', jwksFile]), 3, 'a changed bare JWS');
        });

        it('verify: one byte of the readable receipt copy changed: exit 3', () => {
            const text = fs.readFileSync(nativeFile, 'utf8');
            // "custom" -> "cuStom" in the readable copy only (the jws is base64url)
            const m = /"action":\s*"cu(s)tom"/.exec(text);
            assert.ok(m, 'the readable copy holds the action');
            const at = m.index + m[0].indexOf('cus') + 2;
            const changed = `${text.slice(0, at)}S${text.slice(at + 1)}`;
            assert.equal(changed.length, text.length);
            const f = path.join(dir, 'bad-copy.json');
            fs.writeFileSync(f, changed);
            const r = offline(['verify', f, '--jwks', jwksFile]);
            expectExit(r, 3, 'verify with the readable copy changed');
            assert.match(r.stdout, /^receipt seq 2 \([0-9a-f-]{36}\): copy_differs$/m);
            // a changed choice, too
            const e = structuredClone(native);
            e.receipts[0].receipt.choices.advertising = false;
            fs.writeFileSync(f, JSON.stringify(e));
            expectExit(offline(['verify', f, '--jwks', jwksFile]), 3, 'verify with a choice changed');
        });

        it('verify: a middle receipt removed: exit 3', () => {
            const e = structuredClone(native);
            e.receipts.splice(1, 1);
            const f = path.join(dir, 'gap.json');
            fs.writeFileSync(f, JSON.stringify(e));
            const r = offline(['verify', f, '--jwks', jwksFile]);
            expectExit(r, 3, 'verify with a receipt removed');
            assert.match(r.stdout, /^receipt seq 3 \([0-9a-f-]{36}\): chain_broken$/m);
            assert.match(r.stdout, /^finding: gap$/m);
            // the newest receipt removed: the head says there were 3
            const cut = structuredClone(native);
            cut.receipts.shift();
            fs.writeFileSync(f, JSON.stringify(cut));
            const c = offline(['verify', f, '--jwks', jwksFile]);
            expectExit(c, 3, 'verify with the newest receipt removed');
            assert.match(c.stdout, /^finding: missing_newest$/m);
            // seq is signed: the array order of an export carries no meaning,
            // the receipts are judged in their signed order
            const swapped = structuredClone(native);
            [swapped.receipts[0], swapped.receipts[1]] = [swapped.receipts[1], swapped.receipts[0]];
            fs.writeFileSync(f, JSON.stringify(swapped));
            const sw = offline(['verify', f, '--jwks', jwksFile]);
            expectExit(sw, 0, 'verify with receipts swapped in the array');
            assert.deepEqual(sw.stdout.split('\n').filter((l) => l.startsWith('receipt seq'))
                .map((l) => /^receipt seq (\d+)/.exec(l)[1]), ['1', '2', '3']);
        });

        it('verify: a Kantara export whose readable fields were changed does not verify', () => {
            const k = JSON.parse(fs.readFileSync(path.join(dir, 'kantara.json'), 'utf8'));
            // the newest receipt was accept_all; claim advertising was refused
            k.receipts[0]['x-choices'].advertising = false;
            k.receipts[0]['x-action'] = 'custom';
            k.receipts[0].services[0].purposes = k.receipts[0].services[0].purposes
                .filter((p) => !p.thirdPartyDisclosure);
            const f = path.join(dir, 'kantara-changed.json');
            fs.writeFileSync(f, JSON.stringify(k));
            const r = offline(['verify', f, '--jwks', jwksFile]);
            expectExit(r, 3, 'verify of a Kantara export with changed readable fields');
        });

        it('verify: wrong key, missing file, not a JWKS', () => {
            const other = crypto.generateKeyPairSync('ed25519').publicKey.export({ format: 'jwk' });
            const otherFile = path.join(dir, 'other-jwks.json');
            fs.writeFileSync(otherFile, JSON.stringify({ keys: [other] }));
            const wrong = offline(['verify', nativeFile, '--jwks', otherFile]);
            expectExit(wrong, 3, 'verify with another key');
            assert.match(wrong.stdout, /unknown_kid/);
            // several keys: the right one among them verifies
            const bothFile = path.join(dir, 'both-jwks.json');
            fs.writeFileSync(bothFile, JSON.stringify({ keys: [other, jwks.keys[0]] }));
            expectExit(offline(['verify', nativeFile, '--jwks', bothFile]), 0, 'verify with two keys');
            // a kid that is not the one derived from x is refused
            const fakeFile = path.join(dir, 'fake-kid-jwks.json');
            fs.writeFileSync(fakeFile, JSON.stringify({ keys: [{ ...other, kid: jwks.keys[0].kid }] }));
            expectExit(offline(['verify', nativeFile, '--jwks', fakeFile]), 2,
                       'a JWKS that publishes a key under another key\'s kid');
            expectExit(offline(['verify', path.join(dir, 'missing.json'), '--jwks', jwksFile]), 2,
                       'verify of a missing file');
            expectExit(offline(['verify', nativeFile, '--jwks', nativeFile]), 2,
                       'verify with a file that is not a JWKS');
            expectExit(offline(['verify', nativeFile]), 2,
                       'verify without --jwks and without a configuration');
        });
    });

    describe('consent IDs that start with "-"', () => {
        it('lookup, export and erase of a consent ID starting with "-"', async () => {
            const d = await dashVisitor(stack);
            const DASH_ID = d.id;
            const r = run(['lookup', DASH_ID], {}, { action: 'lookup', target: DASH_ID, status: '200' });
            expectExit(r, 0, `lookup ${DASH_ID}`);
            assert.match(r.stdout, /all verified/);
            const j = run(['--json', 'lookup', DASH_ID], {}, { action: 'lookup', target: DASH_ID, status: '200' });
            expectExit(j, 0, `--json lookup ${DASH_ID}`);
            assert.equal(j.json.consent_id, DASH_ID);
            assert.equal(j.json.receipts.length, 3);
            assert.deepEqual(j.json.receipts[0].receipt, d.posted[2].receipt);
            const dd = run(['lookup', '--', DASH_ID], {}, { action: 'lookup', target: DASH_ID, status: '200' });
            expectExit(dd, 0, `lookup -- ${DASH_ID}`);
            const e = run(['export', DASH_ID, '--format', 'kantara'], {},
                          { action: 'export', target: DASH_ID, status: '200' });
            expectExit(e, 0, `export ${DASH_ID}`);
            assert.equal(e.json.receipts[0].piiPrincipalId, DASH_ID);
            expectExit(run(['erase', DASH_ID], {}, { action: 'erase', target: DASH_ID, status: '200' }),
                       0, `erase ${DASH_ID}`);
            expectExit(run(['lookup', DASH_ID], {}, { action: 'lookup', target: DASH_ID }),
                       1, `lookup ${DASH_ID} after erasure`);
        });
    });

    describe('erase', () => {
        it('erase ID: exit 0, only the tombstone is left, then lookup exits 1', async () => {
            const e = await threeReceipts(stack);
            const rids = e.posted.map((p) => p.receipt.receipt_id);
            const r = run(['erase', e.id], {}, { action: 'erase', target: e.id, status: '200' });
            expectExit(r, 0, 'erase');
            assert.match(r.stdout, new RegExp(`erased ${e.id}: 3 receipt\\(s\\); tombstone kept`));
            const conn = await Redis.connect(stack.redisPort);
            let keys;
            let buckets = [];
            try {
                keys = await allKeys(conn);
                for (const k of keys.filter((x) => /^r:[0-9a-f]{3}$/.test(x))) {
                    const flat = await conn.cmd('HGETALL', k);
                    for (let i = 0; i < flat.length; i += 2)
                        buckets.push([flat[i].toString('hex'), flat[i + 1].toString()]);
                }
            } finally { conn.close(); }
            assert.deepEqual(keys.filter((k) => k.includes(e.id)), [V.keys.tombstone(e.id)]);
            for (const rid of rids)
                assert.ok(!buckets.some(([id]) => id === rid.replace(/-/g, '')), `index entry ${rid} removed`);
            assert.deepEqual(buckets.filter(([, cid]) => cid === e.id), []);
            const tomb = await redis(stack.redisPort, 'HGETALL', V.keys.tombstone(e.id));
            const t = {};
            for (let i = 0; i < tomb.length; i += 2)
                t[String(tomb[i])] = String(tomb[i + 1]);
            assert.deepEqual(Object.keys(t).sort(), ['e1', 'n']);
            assert.equal(t.n, '1');
            assert.match(t.e1, new RegExp(`^\\d+ 3 3 ${WHO}$`));
            const l = run(['lookup', e.id], {}, { action: 'lookup', target: e.id });
            expectExit(l, 1, 'lookup after erasure');
            assert.match(l.stderr, new RegExp(`was erased by ${WHO} \\(1 erasure\\(s\\)\\)`));
        });

        it('--json erase: the tombstone', async () => {
            const e = await threeReceipts(stack);
            const r = run(['--json', 'erase', e.id], {}, { action: 'erase', target: e.id, status: '200' });
            expectExit(r, 0, '--json erase');
            assert.equal(r.json.consent_id, e.id);
            assert.equal(r.json.erased, true);
            assert.equal(r.json.receipts_erased, 3);
            assert.equal(r.json.erasure, 1);
            assert.equal(r.json.purged, true);
            assert.equal(r.json.tombstone.erasures, 1);
            assert.equal(r.json.tombstone.by, WHO);
            assert.equal(r.json.tombstone.receipts, 3);
            assert.ok(Math.abs(r.json.tombstone.erased_ms - Date.now()) < 60000);
        });
    });

    describe('tokens', () => {
        it('token new bob --role read --role audit: the token once and its config line', async () => {
            const r = ctl(['token', 'new', 'bob', '--role', 'read', '--role', 'audit']);
            expectExit(r, 0, 'token new');
            const m = /(cst_[A-Za-z0-9_-]{43})/.exec(r.stdout);
            assert.ok(m, r.stdout);
            const token = m[1];
            assert.equal(r.stdout.split(token).length - 1, 1, 'the token is printed once');
            const line = r.stdout.split('\n').map((l) => l.trim()).find((l) => l.startsWith('{'));
            assert.ok(line, r.stdout);
            const entry = JSON.parse(line);
            assert.deepEqual(entry, { name: 'bob', roles: ['read', 'audit'], sha256: sha256(token) });
            // Two runs, two tokens.
            const again = ctl(['token', 'new', 'bob', '--role', 'read']);
            expectExit(again, 0, 'token new again');
            assert.ok(!again.stdout.includes(token));

            // The line works: add it to the configuration, reload (SIGHUP), use it.
            const cfg = JSON.parse(fs.readFileSync(stack.configPath, 'utf8'));
            cfg.admin.tokens.push(entry);
            writeConfig(path.dirname(stack.configPath), cfg, path.basename(stack.configPath));
            stack.signalConsentd('SIGHUP');
            await poll(async () => {
                const res = await stack.request({
                    path: `${ADMIN}/consents/${v.id}`, xff: '10.0.0.2',
                    headers: [['Authorization', `Bearer ${token}`]],
                });
                return res.status === 200 && res.json.consent_id === v.id;
            }, { timeoutMs: 5000, what: 'the new token to be accepted after SIGHUP' });
        });

        it('--json token new: token, name, roles, sha256', () => {
            const r = ctl(['--json', 'token', 'new', 'carol', '--role', 'erase']);
            expectExit(r, 0, '--json token new');
            assert.ok(r.json, r.stdout);
            assert.deepEqual(Object.keys(r.json).sort(), ['name', 'roles', 'sha256', 'token']);
            assert.equal(r.json.name, 'carol');
            assert.deepEqual(r.json.roles, ['erase']);
            assert.match(r.json.token, /^cst_[A-Za-z0-9_-]{43}$/);
            assert.equal(r.json.sha256, sha256(r.json.token));
        });

        it('token new without a role, with an unknown role or without a name: exit 2', () => {
            expectExit(ctl(['token', 'new', 'bob']), 2, 'token new without --role');
            expectExit(ctl(['token', 'new', 'bob', '--role', 'admin']), 2, 'token new --role admin');
            expectExit(ctl(['token', 'new', '--role', 'read']), 2, 'token new without a name');
            expectExit(ctl(['token', 'new', 'x'.repeat(200), '--role', 'read']), 2, 'a name too long');
        });
    });

    describe('usage', () => {
        it('no command, unknown command or option, missing arguments: exit 2', () => {
            for (const args of [[], ['bogus'], ['--bogus'], ['--bogus', 'lookup', v.id], ['lookup'],
                                ['lookup', v.id, v.id], ['verify'], ['erase'], ['receipt'], ['-c'],
                                ['--format'], ['token'], ['token', 'old', 'bob']]) {
                const r = ctl(['-c', stack.configPath, ...args]);
                expectExit(r, 2, `consentctl ${args.join(' ')}`);
                assert.match(r.stderr, /usage: consentctl/);
            }
            const h = ctl(['--help']);
            expectExit(h, 0, '--help');
            assert.match(h.stdout, /usage: consentctl/);
        });

        it('a missing or broken configuration: exit 2', () => {
            expectExit(ctl(['-c', path.join(dir, 'missing.json'), 'lookup', v.id]), 2, 'missing config');
            const broken = path.join(dir, 'broken.json');
            fs.writeFileSync(broken, '{"listen": 1}');
            const r = ctl(['-c', broken, 'lookup', v.id]);
            expectExit(r, 2, 'broken config');
            assert.match(r.stderr, /broken\.json/);
            // CONSENTD_CONFIG is the default
            const env = ctl(['lookup', v.id], { env: { CONSENTD_CONFIG: stack.configPath } });
            cliCalls.push({ action: 'lookup', target: v.id, status: '200' });
            expectExit(env, 0, 'lookup with CONSENTD_CONFIG');
        });
    });

    describe('audit stream', () => {
        async function cliEntries() {
            const res = await stack.request({
                path: `${ADMIN}/audit?count=1000`, xff: '10.0.0.3',
                headers: [['Authorization', `Bearer ${AUDIT_TOKEN}`]],
            });
            assert.equal(res.status, 200, res.body);
            return res.json.entries.filter((e) => e.via === 'cli').reverse();
        }

        it('CLI lookups, exports, receipts and erasures are in the audit stream with via "cli"', async () => {
            const got = await cliEntries();
            assert.equal(got.length, cliCalls.length, JSON.stringify(got, null, 1));
            const hashOf = new Map();
            const idOf = new Map();
            got.forEach((e, i) => {
                const want = cliCalls[i];
                assert.equal(e.via, 'cli');
                assert.equal(e.who, WHO);
                assert.equal(e.action, want.action, `entry ${i}`);
                if (isConsentId(want.target)) {
                    // consent IDs only as a keyed hash, one per ID
                    assert.match(e.target, /^id:[0-9a-f]{16}$/, `entry ${i}`);
                    if (!hashOf.has(want.target))
                        hashOf.set(want.target, e.target);
                    if (!idOf.has(e.target))
                        idOf.set(e.target, want.target);
                    assert.equal(e.target, hashOf.get(want.target), `entry ${i}: the same hash for one ID`);
                    assert.equal(idOf.get(e.target), want.target, `entry ${i}: one ID per hash`);
                } else {
                    assert.equal(e.target, want.target, `entry ${i}`);
                }
                if (want.status !== undefined)
                    assert.equal(e.status, want.status, `entry ${i}: ${JSON.stringify(e)}`);
                assert.match(e.time_ms, /^\d+$/);
            });
            for (const action of ['lookup', 'export', 'receipt', 'erase'])
                assert.ok(got.some((e) => e.action === action), `an audited ${action}`);
        });

        it('a CLI lookup that finds nothing is audited as not found (404), as the API does', async () => {
            const got = await cliEntries();
            const at = cliCalls.findIndex((c) => c.target === 'AAAAAAAAAAAAAAAAAAAAAA');
            assert.ok(at >= 0);
            assert.equal(cliCalls.filter((c) => c.target === 'AAAAAAAAAAAAAAAAAAAAAA').length, 1);
            assert.equal(got[at].action, 'lookup');
            assert.match(got[at].target, /^id:[0-9a-f]{16}$/);
            assert.equal(got[at].status, '404', JSON.stringify(got[at]));
        });
    });

    describe('Redis unavailable', () => {
        it('lookup, receipt, export and erase exit 4', async () => {
            await stack.stopRedis();
            try {
                for (const args of [['lookup', v.id], ['receipt', v.posted[0].receipt.receipt_id],
                                    ['export', v.id], ['erase', v.id]]) {
                    const r = run(args);
                    expectExit(r, 4, `${args[0]} with Redis stopped`);
                    assert.match(r.stderr, /Redis/);
                }
                // verify needs no Redis
                const out = path.join(dir, 'again.json');
                const exported = JSON.parse(fs.readFileSync(path.join(dir, 'export.json'), 'utf8'));
                fs.writeFileSync(out, JSON.stringify({ consent_id: v.id, head: exported.head,
                                                       receipts: v.posted.slice().reverse()
                    .map((p) => ({ receipt: p.receipt, jws: p.jws })) }));
                expectExit(ctl(['verify', out, '--jwks', jwksFile]), 0, 'verify with Redis stopped');
                // without the head a list proves nothing about completeness
                const headless = path.join(dir, 'headless.json');
                fs.writeFileSync(headless, JSON.stringify({ receipts: v.posted.slice().reverse()
                    .map((p) => ({ receipt: p.receipt, jws: p.jws })) }));
                const h = ctl(['verify', headless, '--jwks', jwksFile]);
                expectExit(h, 3, 'verify of a list without head');
                assert.match(h.stdout, /^finding: no_head$/m);
            } finally {
                await stack.startRedis();
            }
            const back = run(['lookup', v.id], {}, { action: 'lookup', target: v.id, status: '200' });
            expectExit(back, 0, 'lookup once Redis is back');
        });
    });
});
