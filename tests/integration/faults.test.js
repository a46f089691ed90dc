'use strict';
/*
 * faults.test.js - how the real nginx -> consentd -> redis-server stack
 * behaves when things break under load: Redis killed with SIGKILL and
 * restarted from its AOF, consentd restarted, the GeoIP database replaced
 * and reloaded (SIGHUP), Redis paused (SIGSTOP), and the abuse limits that
 * the other suites do not cover (JSON nesting, too many choices, long
 * fields, CR/LF injection, nginx's rate limit, no raw client address stored
 * or logged).
 *
 * Every load loop has a request limit and a deadline; every request is timed.
 * The Redis-kill test prints one line with a fixed prefix for the README:
 *   # FAULT redis-kill: acknowledged=N, found=M, 503s=K, ...
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/faults.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const {
    ROOT, consentdBinary, poll, sanitizerReports, startStack,
} = require('./lib/stack');
const { logLines, pseudoRandom, replaceFile } = require('./lib/suite');
const { withRedis } = require('./lib/redis');
const V = require('./lib/visitor');
const { countBy, startLoad, timed } = require('./lib/load');

const { BANNER, CONSENTS, COOKIE_VALUE, assertError, recordBody } = V;
const HEALTH = '/consent/v1/health';
const UA = 'faults-test/1.0 (integration; +https://example.invalid)';
const FIXTURES = path.join(ROOT, 'build', 'fixtures');

/* What a request may take at most, whatever breaks: Redis's command timeout
 * (500 ms in the example configuration) plus a margin for the ASan build on
 * a busy 2-core machine. A hang would last nginx's 60 s read timeout. */
const COMMAND_TIMEOUT_MS = 500;
const MAX_REQUEST_MS = 5000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/* Fresh client addresses (V.address(): nginx rate-limits writes per
 * address); 46.4.0.x, which it never gives, is left for the "no raw
 * address" test. */


/* Every key and value in Redis (hashes, lists, strings, sets, sorted sets
 * and streams) as latin1 text, for grepping. */
async function dumpRedisText(stack) {
    return withRedis(stack, async (r) => {
        const keys = new Set();
        let cursor = '0';
        do {
            const [next, batch] = await r.cmd('SCAN', cursor, 'COUNT', 1000);
            cursor = next.toString();
            for (const k of batch)
                keys.add(k.toString('latin1'));
        } while (cursor !== '0');
        const flat = (v) => {
            if (v === null || v === undefined)
                return [];
            if (Buffer.isBuffer(v))
                return [v.toString('latin1')];
            if (Array.isArray(v))
                return v.flatMap(flat);
            return [String(v)];
        };
        const parts = [];
        for (const key of keys) {
            parts.push(key);
            const type = await r.cmd('TYPE', key);
            const read = {
                string: ['GET', key],
                hash: ['HGETALL', key],
                list: ['LRANGE', key, 0, -1],
                set: ['SMEMBERS', key],
                zset: ['ZRANGE', key, 0, -1, 'WITHSCORES'],
                stream: ['XRANGE', key, '-', '+'],
            }[type];
            assert.ok(read, `a key type this dump can read: ${key} is ${type}`);
            parts.push(...flat(await r.cmd(...read)));
        }
        return { keys: [...keys], text: parts.join('\n') };
    });
}

/* ---- HTTP helpers (lib/visitor.js, with a fresh DE address each) ---- */

/* A visitor before its first choice: banner from a fresh DE address (no
 * Set-Cookie, consent_id null; checked by lib/visitor.js). */
const newVisitor = (stack, xff = V.address()) => V.newVisitor(stack, { xff, ua: UA });

/* A visitor with one receipt (reject_all): it holds the consent cookie the
 * first 201 issued (checked) and its consent ID. */
async function chosen(stack, xff = V.address()) {
    const v = await newVisitor(stack, xff);
    await V.record(v, 'reject_all');
    return v;
}

const post = (stack, body, { xff = V.address(), timeoutMs = 10000, ...rest } = {}) =>
    V.post(stack, body, { xff, timeoutMs, ua: UA, ...rest });

/* Raw HTTP over TCP (for bytes node:http refuses to send): the whole answer
 * as latin1 text, head and body split. */
function rawRequest(port, text, timeoutMs = 5000) {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port });
        const chunks = [];
        sock.setTimeout(timeoutMs, () => sock.destroy(new Error(`raw request: no answer in ${timeoutMs} ms`)));
        sock.once('error', reject);
        sock.once('connect', () => sock.write(Buffer.from(text, 'latin1')));
        sock.on('data', (d) => chunks.push(d));
        sock.once('close', () => {
            const all = Buffer.concat(chunks).toString('latin1');
            const at = all.indexOf('\r\n\r\n');
            const head = at < 0 ? all : all.slice(0, at);
            const lines = head.split('\r\n');
            const headers = lines.slice(1).map((l) => {
                const i = l.indexOf(':');
                return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()];
            });
            resolve({ statusLine: lines[0], status: Number(lines[0].split(' ')[1]), head,
                      headers, body: at < 0 ? '' : all.slice(at + 4) });
        });
    });
}

/* ======================================================================= */

describe('faults under load', () => {
    let stack;
    let geoPath;
    before(async () => {
        stack = await startStack({
            configure: (cfg) => {
                cfg.workers = 64;                       // > keepalive 16 + 20 concurrent
                cfg.receipts = { ...cfg.receipts, max_history: 10000 };   // nothing trimmed
                assert.equal(cfg.redis.command_timeout_ms, COMMAND_TIMEOUT_MS,
                             'the example configuration\'s Redis command timeout');
                // The GeoIP database as a copy in the stack's folder, so the
                // reload test can replace it.
                geoPath = path.join(path.dirname(cfg.signing_key), 'geo.mmdb');
                fs.copyFileSync(path.join(FIXTURES, 'geoip2-city.mmdb'), geoPath);
                cfg.geoip = { database: geoPath, layout: 'geoip2' };
            },
        });
    });
    after(async () => {
        if (stack) {
            try {
                process.kill(stack.redisPid, 'SIGCONT');
            } catch (_) {
                /* not running */
            }
            await stack.stop();
        }
    });

    it('Redis killed (SIGKILL) under a write load and restarted from its AOF: every 201 is stored', async (t) => {
        const WRITERS = 16;
        const pid = stack.consentdPid;
        const fsync = await withRedis(stack, (r) => r.cmd('CONFIG', 'GET', 'appendfsync'));
        const appendfsync = fsync[1].toString();
        // Each writer is a visitor with its consent cookie (issued by a first
        // 201 before the load), so all its writes go to one consent ID.
        const visitors = [];
        for (let i = 0; i < WRITERS; i++)
            visitors.push(await chosen(stack));

        const load = startLoad({
            workers: WRITERS, maxRequests: 6000, deadlineMs: 20000, pauseAfterErrorMs: 10,
            make: (w, n) => post(stack, recordBody(visitors[w].banner,
                                                   n % 2 ? 'accept_all' : 'reject_all'),
                                 { cookie: visitors[w].cookie, timeoutMs: 5000 }),
        });
        let killedAt;
        let startingAt;
        let restartedAt;
        let recoveredAt = null;
        try {
            await sleep(1500);
            killedAt = Date.now();
            process.kill(stack.redisPid, 'SIGKILL');
            await sleep(1500);
            startingAt = Date.now();
            // startRedis() refuses while the harness has not yet seen the exit.
            await poll(async () => {
                try {
                    await stack.startRedis();
                    return true;
                } catch (e) {
                    if (/already running/.test(e.message))
                        return false;
                    throw e;
                }
            }, { timeoutMs: 10000, what: 'redis-server restarted' });
            restartedAt = Date.now();
            // Writes succeed again within 5 s, with no restart of consentd.
            await poll(() => {
                const ok = load.results.find((r) => r.status === 201 && r.start >= restartedAt);
                if (ok)
                    recoveredAt = ok.end;
                return ok !== undefined;
            }, { timeoutMs: 5000, intervalMs: 20, what: 'a 201 after Redis restarted' });
            await sleep(1000);
        } finally {
            await load.stop();
        }
        const results = load.results;
        const acked = results.filter((r) => r.status === 201);
        const s503 = results.filter((r) => r.status === 503);
        const maxMs = Math.max(...results.map((r) => r.ms));

        // Every 201 went to its writer's consent ID (the cookie kept it) and
        // is in Redis: in the receipt index and in its history (c:{ID}).
        assert.deepEqual(acked.filter((a) => a.json.consent_id !== visitors[a.worker].id)
            .map((a) => `${a.worker}: ${a.json.consent_id}`), [],
                         'every 201 names its writer\'s consent ID');
        let found = 0;
        const missing = [];
        await withRedis(stack, async (r) => {
            const stored = new Map();
            for (const v of visitors)
                stored.set(v.id, await V.storedReceipts(r, v.id));
            for (const a of acked) {
                const rid = a.json.receipt.receipt_id;
                const cid = a.json.consent_id;
                const idx = await V.indexedConsentId(r, rid);
                if (idx === cid && V.isStored(stored.get(cid), a.json))
                    found++;
                else
                    missing.push(rid);
            }
        });
        const line = `FAULT redis-kill: acknowledged=${acked.length}, found=${found}, ` +
            `503s=${s503.length}, requests=${results.length}, writers=${WRITERS}, ` +
            `outage_ms=${restartedAt - killedAt}, recovered_ms=${recoveredAt - restartedAt}, ` +
            `max_request_ms=${maxMs}, appendfsync=${appendfsync}`;
        t.diagnostic(line);

        assert.ok(acked.length > 0, 'some writes were acknowledged');
        assert.deepEqual(missing, [], `acknowledged receipts missing from Redis after the restart`);
        assert.equal(found, acked.length);
        assert.ok(s503.length > 0, 'writes during the outage answered 503');
        for (const r of s503)
            assert.equal(r.json && r.json.error && r.json.error.code, 'store_unavailable', r.body);
        assert.deepEqual(countBy(results.filter((r) => r.status !== 201 && r.status !== 503),
                                 (r) => `${r.status} ${r.error || r.body}`), {},
                         'only 201 and 503');
        // Redis listens again some time before startRedis() resolves, so the
        // window ends when it was started.
        const during = acked.filter((r) => r.start > killedAt + 50 && r.end < startingAt);
        assert.deepEqual(during.map((r) => r.json.receipt.receipt_id), [],
                         'no 201 for a write made while Redis was down');
        assert.ok(maxMs < MAX_REQUEST_MS, `slowest request ${maxMs} ms (< ${MAX_REQUEST_MS})`);
        assert.ok(recoveredAt - restartedAt < 5000);
        assert.equal(stack.consentdPid, pid);
        assert.ok(stack.consentdRunning(), 'the same consentd process served throughout');
        assert.match(stack.readLog('redis'), /DB loaded from (append only file|disk)|Reading RDB|AOF loaded/,
                     'the restarted Redis loaded its AOF');
    });

    it('Redis paused (SIGSTOP): writes 503 within the command timeout, decisions 200 "unavailable", health 503', async () => {
        const v = await newVisitor(stack);
        const first = await V.record(v, 'reject_all');     // 201, issues the cookie

        process.kill(stack.redisPid, 'SIGSTOP');
        try {
            for (let i = 0; i < 3; i++) {
                const w = await timed(() => post(stack, recordBody(v.banner, 'accept_all'),
                                                 { cookie: v.cookie }));
                assert.equal(w.status, 503, w.body || w.error);
                assert.equal(w.json.error.code, 'store_unavailable');
                assert.ok(w.ms < COMMAND_TIMEOUT_MS + 1000,
                          `write ${i} answered in ${w.ms} ms (command timeout ${COMMAND_TIMEOUT_MS} ms + 1 s)`);
            }
            // 20 concurrent decisions: none stuck behind the paused Redis.
            const decisions = await Promise.all(Array.from({ length: 20 }, () => timed(
                () => stack.request({ path: BANNER, xff: V.address(), timeoutMs: 5000,
                                      headers: [['Cookie', v.cookie], ['User-Agent', UA]] }))));
            for (const d of decisions) {
                assert.equal(d.status, 200, d.body || d.error);
                assert.equal(d.json.store, 'unavailable');
                assert.equal(d.json.consent_id, v.id, 'the ID is derived from the cookie, no Redis needed');
                assert.equal(d.headers['set-cookie'], undefined, 'the banner never sets a cookie');
                assert.ok(d.ms < MAX_REQUEST_MS, `a decision took ${d.ms} ms`);
            }
            const h = await timed(() => stack.request({ path: HEALTH, timeoutMs: 5000 }));
            assert.equal(h.status, 503, h.body || h.error);
            assert.equal(h.json.status, 'unavailable');
            assert.ok(h.ms < MAX_REQUEST_MS, `health took ${h.ms} ms`);
        } finally {
            process.kill(stack.redisPid, 'SIGCONT');
        }
        const t0 = Date.now();
        const ok = await poll(async () => {
            const r = await post(stack, recordBody(v.banner, 'accept_all'), { cookie: v.cookie });
            if (r.status !== 201 && !(r.status === 503 && r.json.error.code === 'store_unavailable'))
                throw new Error(`unexpected ${r.status} ${r.body}`);
            return r.status === 201 ? r : null;
        }, { timeoutMs: 5000, intervalMs: 100, what: 'a 201 after SIGCONT' });
        assert.ok(Date.now() - t0 < 5000);
        assert.equal(ok.json.consent_id, v.id, 'the same consent ID');
        assert.equal(ok.json.receipt.seq, 2);
        assert.equal(ok.json.receipt.prev_sha256, first.json.sha256, 'chained to the receipt from before');
        const h = await stack.request({ path: HEALTH });
        assert.equal(h.status, 200, h.body);
    });

    describe('abuse limits', () => {
        let v;          // a visitor with a receipt and its consent cookie
        before(async () => {
            v = await chosen(stack);
        });

        async function assertAlive() {
            const h = await stack.request({ path: HEALTH });
            assert.equal(h.status, 200, h.body);
            assert.ok(stack.consentdRunning(), 'consentd still runs');
        }

        it('5000 nested "[" -> 400 invalid_json, consentd alive', async () => {
            for (const body of ['['.repeat(5000), `{"choices":${'['.repeat(5000)}`,
                                `{"choices":${'{"a":'.repeat(1200)}true${'}'.repeat(1200)}}`]) {
                const res = await post(stack, body, { cookie: v.cookie });
                if (body.startsWith('['))
                    assertError(res, 400, 'invalid_json');
                else
                    assert.ok(res.status === 400 && ['invalid_json', 'invalid_field'].includes(res.json.error.code),
                              `${res.status} ${res.body}`);
            }
            await assertAlive();
        });

        it('17 choices -> 400 invalid_field (choices); 16 unknown ones are looked at one by one', async () => {
            const choices = {};
            for (let i = 0; i < 17; i++)
                choices[`c${i}`] = false;
            const res = await post(stack, recordBody(v.banner, 'reject_all', choices), { cookie: v.cookie });
            assertError(res, 400, 'invalid_field', { field: 'choices' });
            delete choices.c16;
            const sixteen = await post(stack, recordBody(v.banner, 'reject_all', choices), { cookie: v.cookie });
            assertError(sixteen, 422, 'unknown_category', { category: 'c0' });
        });

        it('banner_version: 64 characters is looked up (409), 65 -> 400 invalid_field', async () => {
            const at = await post(stack, recordBody(v.banner, 'reject_all', undefined,
                                                    { banner_version: 'v'.repeat(64) }),
                                  { cookie: v.cookie });
            assertError(at, 409, 'stale_banner', { current_version: v.banner.banner_version });
            const past = await post(stack, recordBody(v.banner, 'reject_all', undefined,
                                                      { banner_version: 'v'.repeat(65) }),
                                    { cookie: v.cookie });
            assertError(past, 400, 'invalid_field', { field: 'banner_version' });
        });

        it('a 6000-character category name in choices -> 422 unknown_category, not echoed whole', async () => {
            const name = 'x'.repeat(6000);
            const res = await post(stack, recordBody(v.banner, 'reject_all', { [name]: false }),
                                   { cookie: v.cookie });
            assertError(res, 422, 'unknown_category', ['category']);
            assert.ok(name.startsWith(res.json.error.category) && res.json.error.category.length < 1000,
                      `a short prefix of the name: ${res.json.error.category.length} characters`);
            assert.ok(res.body.length < 1000, `the error body stays small: ${res.body.length} bytes`);
            await assertAlive();
        });

        it('CR/LF in caller-controlled text never reaches a response header', async () => {
            const port = stack.nginxPort;
            const injected = (r) => r.headers.filter(([k, val]) =>
                k === 'x-injected' || /evil/i.test(k) || /evil|x-injected/i.test(val));
            const cases = [
                // percent-encoded CR/LF in the query, the path and cookie values
                [`GET /consent/v1/banner?site=demo%0d%0aX-Injected:%20yes HTTP/1.1`, []],
                [`GET /consent/v1/banner?site=demo&preview=US-CA%0d%0aX-Injected:%201 HTTP/1.1`, []],
                [`GET /consent/v1/banner%0d%0aX-Injected:%201?site=demo HTTP/1.1`, []],
                [`GET ${BANNER} HTTP/1.1`, [`Cookie: ${v.cookie}%0d%0aSet-Cookie:%20evil=1`]],
                [`GET ${BANNER} HTTP/1.1`, ['Origin: http://127.0.0.1%0d%0aX-Injected: yes']],
                [`GET ${BANNER} HTTP/1.1`, ['Accept-Language: de%0d%0aX-Injected: yes']],
                // raw CR/LF inside header values
                [`GET ${BANNER} HTTP/1.1`, ['Origin: http://evil.example\rX-Injected: yes']],
                [`GET ${BANNER} HTTP/1.1`, [`Cookie: ${v.cookie}\rSet-Cookie: evil=1`]],
                [`GET ${BANNER} HTTP/1.1`, ['Cookie: consent=x\rSet-Cookie: evil=1']],
                [`GET ${BANNER} HTTP/1.1`, ['Accept-Language: de\r\n X-Injected: folded']],
                [`OPTIONS ${CONSENTS} HTTP/1.1`, ['Origin: http://127.0.0.1\rX-Injected: yes',
                                                  'Access-Control-Request-Method: POST']],
            ];
            // Writes that record: the one Set-Cookie of a 201 is the consent
            // cookie and nothing of the request; the injected cookie value is
            // not a valid one, so the write starts a new consent ID.
            const body = JSON.stringify(recordBody(v.banner, 'reject_all'));
            const write = (cookie) => [`POST ${CONSENTS} HTTP/1.1`, [
                'Content-Type: application/json', `Content-Length: ${Buffer.byteLength(body)}`,
                `User-Agent: ${UA}`, `Cookie: ${cookie}`], body];
            const writes = [
                write(`${v.cookie}%0d%0aSet-Cookie:%20evil=1`),
                write(`consent=${v.cookie.slice('consent='.length, -1)}%0d%0aX-Injected:%20yes`),
            ];
            const seen = [];
            for (const [requestLine, extra, reqBody = ''] of [...cases, ...writes]) {
                const text = [requestLine, `Host: 127.0.0.1:${port}`, `X-Forwarded-For: ${V.address()}`,
                              ...extra, 'Connection: close', '', reqBody].join('\r\n');
                const r = await rawRequest(port, text);
                seen.push(`${JSON.stringify(requestLine + ' ' + extra.join(' '))} -> ${r.status}`);
                assert.ok(r.status > 0, `an HTTP answer to ${JSON.stringify(text)}`);
                assert.deepEqual(injected(r), [], `injected header in the answer to ${JSON.stringify(text)}:\n${r.head}`);
                const cookies = r.headers.filter(([k]) => k === 'set-cookie');
                if (requestLine.startsWith('POST')) {
                    // A recording write: one new consent cookie, not the one sent.
                    assert.equal(r.status, 201, `${text}\n${r.head}\n${r.body}`);
                    assert.equal(cookies.length, 1, r.head);
                    const m = /^consent=([^;]*);/.exec(cookies[0][1]);
                    assert.ok(m, r.head);
                    assert.match(m[1], COOKIE_VALUE, r.head);
                    assert.notEqual(`consent=${m[1]}`, v.cookie, 'an invalid cookie value is a new visitor');
                    // (the body may come chunked: the ID read from the text)
                    const id = /"consent_id":"([A-Za-z0-9_-]{22})"/.exec(r.body);
                    assert.ok(id, r.body);
                    assert.notEqual(id[1], v.id);
                } else {
                    // GET /banner and OPTIONS never set a cookie (format v2).
                    assert.deepEqual(cookies, [], r.head);
                }
                const acao = r.headers.filter(([k]) => k === 'access-control-allow-origin');
                for (const [, o] of acao)
                    assert.match(o, /^https?:\/\/[A-Za-z0-9.:-]+$/, r.head);
            }
            await assertAlive();
        });

        it('40 quick writes from one address: nginx answers 429 in JSON with Retry-After', async () => {
            const xff = '46.4.250.250';
            const results = await Promise.all(Array.from({ length: 40 }, () =>
                post(stack, '{}', { xff, cookie: v.cookie })));
            const counts = countBy(results, (r) => r.status);
            assert.ok((counts['429'] || 0) >= 1, `some 429s: ${JSON.stringify(counts)}`);
            assert.ok((counts['400'] || 0) >= 1, `some reached consentd (400 for {}): ${JSON.stringify(counts)}`);
            assert.deepEqual(Object.keys(counts).sort(), ['400', '429'], JSON.stringify(counts));
            const limited = results.find((r) => r.status === 429);
            assertError(limited, 429, 'rate_limited');
            assert.equal(limited.headers['retry-after'], '1');
        });

        it('no raw client address in Redis or consentd\'s log (46.4.0.77, 2a01:4f8::77)', async () => {
            const ADDRS = ['46.4.0.77', '2a01:4f8::77'];
            for (const xff of ADDRS) {
                const u = await newVisitor(stack, xff);
                const w = await V.record(u, 'reject_all');     // 201, the cookie issued
                const { cookie, id } = u;
                assert.equal(w.json.receipt.client_network, xff.includes(':') ? '2a01:4f8::/48' : '46.4.0.0/24');
                const m = await V.me(stack, cookie, xff);
                assert.equal(m.status, 200, m.body);
                assert.equal(m.json.consent_id, id);
                const d = await V.withdraw(stack, cookie, xff);
                assert.equal(d.status, 201, d.body);
                assert.equal(d.json.consent_id, id);
                // an error that consentd logs too, and a support-API call
                const bad = await post(stack, '{', { cookie, xff });
                assert.equal(bad.status, 400);
                await stack.request({ path: '/consent/v1/admin/consents/' + id, xff });
            }
            // Sanity: the addresses really reached nginx (its consent log
            // keeps their networks only: see logs.test.js).
            const access = await poll(() => {
                const a = stack.readLog('consentAccess');
                return ['46.4.0.0/24 ', '2a01:4f8::/48 '].every((x) => a.includes(x)) ? a : null;
            }, { timeoutMs: 3000, what: 'nginx access log lines' });
            assert.ok(access);
            const variants = ['46.4.0.77', '2a01:4f8::77', '2a01:04f8::77', '2a01:4f8:0:0:0:0:0:77',
                              '2a01:4f8:0000:0000:0000:0000:0000:0077'];
            const { keys, text } = await dumpRedisText(stack);
            assert.ok(keys.length > 0);
            const log = stack.readLog('consentd') + stack.readLog('consentdStdout');
            assert.ok(log.includes('46.4.0.0/24'), 'consentd logged the truncated network');
            for (const x of variants) {
                assert.ok(!text.includes(x), `${x} stored in Redis`);
                assert.ok(!log.includes(x), `${x} in consentd's log`);
            }
        });
    });

    it('GeoIP database replaced + SIGHUP under load: all 200, new decisions; a bad file is refused', async () => {
        const region = async () => {
            const r = await stack.request({ path: BANNER, xff: '46.4.100.1' });
            assert.equal(r.status, 200, r.body);
            return r.json.jurisdiction.region;
        };
        assert.equal(await region(), 'DE-BY', 'the geoip2 fixture names the subdivision');
        const reloads = () => logLines(stack).filter((l) => l.msg === 'reloaded').length;
        const refusals = () => logLines(stack).filter((l) => l.msg === 'reload refused');
        const before0 = reloads();

        const load = startLoad({
            workers: 6, maxRequests: 3000, deadlineMs: 20000, pauseAfterErrorMs: 0,
            make: () => stack.request({ path: BANNER, xff: V.address(), timeoutMs: 5000 }),
        });
        let signalledAt;
        try {
            await sleep(300);
            replaceFile(geoPath, fs.readFileSync(path.join(FIXTURES, 'flat-city.mmdb')));
            const cfg = JSON.parse(fs.readFileSync(stack.configPath, 'utf8'));
            cfg.geoip.layout = 'flat';
            replaceFile(stack.configPath, JSON.stringify(cfg, null, 2));
            signalledAt = Date.now();
            stack.signalConsentd('SIGHUP');
            await poll(() => reloads() > before0, { timeoutMs: 10000, what: 'the "reloaded" log line' });
            await sleep(500);
        } finally {
            await load.stop();
        }
        const results = load.results;
        assert.deepEqual(countBy(results.filter((r) => r.status !== 200), (r) => `${r.status} ${r.error || r.body}`),
                         {}, `every request during the reload answered 200 (of ${results.length})`);
        const regions = countBy(results, (r) => r.json.jurisdiction.region);
        assert.ok(regions['DE-BY'] > 0 && regions.DE > 0, `both databases answered: ${JSON.stringify(regions)}`);
        assert.ok(results.filter((r) => r.start < signalledAt).length > 0);
        assert.equal(await region(), 'DE', 'the flat fixture: the country only');

        // A corrupt database: refused, the running one kept.
        replaceFile(geoPath, pseudoRandom('consent corrupt mmdb for reload', 256));
        const refused0 = refusals().length;
        stack.signalConsentd('SIGHUP');
        const line = await poll(() => refusals().length > refused0 && refusals().at(-1),
                                { timeoutMs: 10000, what: 'the "reload refused" log line' });
        assert.equal(line.level, 'error');
        assert.ok(String(line.detail).includes(geoPath), `the line names the file: ${JSON.stringify(line)}`);
        assert.equal(await region(), 'DE', 'decisions still come from the database loaded before');
        const h = await stack.request({ path: HEALTH });
        assert.equal(h.status, 200, h.body);
        assert.ok(stack.consentdRunning());
    });
});

describe('consentd restarted under load', () => {
    let stack;
    let second = null;          // the consentd this test starts itself
    const secondLog = () => path.join(stack.dir, 'consentd-restarted.log');

    const killSecond = () => {
        if (second !== null && second.exitCode === null && second.signalCode === null) {
            try {
                process.kill(-second.pid, 'SIGKILL');
            } catch (_) {
                /* gone */
            }
        }
    };
    process.on('exit', killSecond);

    before(async () => {
        stack = await startStack({ configure: (cfg) => { cfg.workers = 64; } });
    });
    after(async () => {
        if (second !== null && second.exitCode === null && second.signalCode === null) {
            const exited = new Promise((resolve) => second.once('exit', resolve));
            second.kill('SIGTERM');
            const r = await Promise.race([exited.then(() => true), sleep(10000).then(() => false)]);
            if (!r) {
                killSecond();
                await exited;
            }
        }
        if (stack) {
            const text = fs.existsSync(secondLog()) ? fs.readFileSync(secondLog(), 'utf8') : '';
            const reports = sanitizerReports(text);
            await stack.stop();
            assert.deepEqual(reports, [], `sanitizer reports of the restarted consentd:\n${text.slice(0, 4000)}`);
        }
    });

    it('SIGTERM, start again: 502/503 only while it is down, then traffic flows; nothing hangs', async (t) => {
        const load = startLoad({
            workers: 6, maxRequests: 6000, deadlineMs: 25000, pauseAfterErrorMs: 10,
            make: () => stack.request({ path: BANNER, xff: V.address(), timeoutMs: 5000 }),
        });
        let termAt;
        let startAt;
        let upAt;
        try {
            await sleep(500);
            termAt = Date.now();
            stack.signalConsentd('SIGTERM');
            await poll(() => !stack.consentdRunning(), { timeoutMs: 12000, what: 'consentd to exit' });
            await sleep(500);
            startAt = Date.now();
            const log = fs.openSync(secondLog(), 'a');
            try {
                second = spawn(consentdBinary(), ['-c', stack.configPath], {
                    cwd: ROOT,
                    env: { ...process.env, CONSENTD_TEST_CLOCK: path.join(stack.dir, 'clock') },
                    stdio: ['ignore', log, log],
                    detached: true,
                });
            } finally {
                fs.closeSync(log);
            }
            await poll(async () => {
                const r = await stack.request({ path: HEALTH, timeoutMs: 2000 });
                return r.status === 200 && r.json !== undefined;
            }, { timeoutMs: 15000, what: 'the restarted consentd through nginx',
                 check: () => assert.equal(second.exitCode, null, fs.readFileSync(secondLog(), 'utf8')) });
            upAt = Date.now();
            await sleep(1000);
        } finally {
            await load.stop();
        }
        const results = load.results;
        const counts = countBy(results, (r) => r.status);
        t.diagnostic(`restart: ${JSON.stringify(counts)} of ${results.length}; down ` +
                     `${startAt - termAt} ms, back ${upAt - startAt} ms after the start`);
        const bad = results.filter((r) => ![200, 502, 503].includes(r.status));
        assert.deepEqual(bad.map((r) => `${r.status} ${r.error || r.body}`), [], 'only 200, 502 and 503');
        const outside = results.filter((r) => r.status !== 200 && (r.end < termAt || r.start > upAt));
        assert.deepEqual(outside.map((r) => `${r.status} at +${r.start - termAt} ms`), [],
                         '502/503 only between SIGTERM and the restarted consentd answering');
        const after = results.filter((r) => r.start > upAt);
        assert.ok(after.length > 10, `traffic after the restart: ${after.length}`);
        assert.ok(after.every((r) => r.status === 200));
        assert.ok(results.filter((r) => r.end < termAt).length > 0, 'traffic before the restart');
        const maxMs = Math.max(...results.map((r) => r.ms));
        assert.ok(maxMs < MAX_REQUEST_MS, `slowest request ${maxMs} ms`);
        // The restart leaves Redis alone: a write works (201, a new cookie
        // and consent ID; checked by lib/visitor.js).
        const v = await newVisitor(stack);
        const w = await V.record(v, 'accept_all');
        assert.equal(w.json.receipt.seq, 1);
    });
});
