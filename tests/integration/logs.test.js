'use strict';
/*
 * logs.test.js - what the logs keep: after real traffic through nginx ->
 * consentd -> redis-server (visitors from IPv4, IPv6 and IPv4-mapped
 * addresses, a recorded choice, support lookups of its consent ID and
 * receipt ID, refusals and errors), no log file of the stack holds a full
 * client address, a consent ID or a receipt ID, and nginx's consent access
 * log holds the truncated networks instead.
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/logs.test.js
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');

const { startStack, poll, removeDir } = require('./lib/stack');
const { withStack } = require('./lib/suite');

const ADMIN = '/consent/v1/admin';
const BANNER = '/consent/v1/banner?site=demo';
const UA = 'logs-test/1.0 (integration)';

/* Each visitor address, as sent in X-Forwarded-For, and the network the
 * consent access log must show for it. nginx writes IPv6 addresses in its
 * canonical form, so each is given in that form. */
const VISITORS = [
    { addr: '46.4.12.34', net: '46.4.12.0/24' },
    { addr: '2a01:4f8:1234:5678:9abc:def0:1234:5678', net: '2a01:4f8:1234::/48' },
    { addr: '2001:db8::7', net: '2001:db8::/48' },
    { addr: '::ffff:46.4.99.77', net: '46.4.99.0/24' },
];
const SUPPORT = { addr: '10.20.30.40', net: '10.20.30.0/24' };
const OUTSIDER = { addr: '203.0.113.77', net: '203.0.113.0/24' };
/* Written in every form a log could use for them. */
const FULL_ADDRESSES = [...VISITORS.map((v) => v.addr), '46.4.99.77', SUPPORT.addr, OUTSIDER.addr];

const sha256 = (data) => crypto.createHash('sha256').update(data).digest('hex');
const TOKEN = `cst_${crypto.randomBytes(32).toString('base64url')}`;

describe('logs keep no full address and no consent IDs', () => {
    let stack;
    let consentId;
    let receiptId;

    withStack({
        configure: (cfg) => {
            cfg.access_log = true;
            cfg.admin = {
                tokens: [{ name: 'alice', roles: ['read'], sha256: sha256(TOKEN) }],
                audit_retention_days: 30,
            };
        },
    }, (s) => { stack = s; });

    const admin = (method, rest, { xff = SUPPORT.addr, headers = [] } = {}) =>
        stack.request({ method, path: `${ADMIN}/${rest}`, xff,
                        headers: [['Authorization', `Bearer ${TOKEN}`], ['User-Agent', UA], ...headers] });

    it('drives traffic: decisions, a choice, support lookups, refusals and errors', async () => {
        let b;
        for (const v of VISITORS) {
            const res = await stack.request({ path: BANNER, xff: v.addr, headers: [['User-Agent', UA]] });
            assert.equal(res.status, 200, `${v.addr}: ${res.body}`);
            b = res.json;
        }
        // A choice, without a cookie: the IDs come from the answer.
        const rec = await stack.request({
            method: 'POST', path: '/consent/v1/consents', xff: VISITORS[0].addr,
            headers: [['Content-Type', 'application/json'], ['User-Agent', UA]],
            body: JSON.stringify({ site: 'demo', banner_version: b.banner_version,
                                   texts_sha256: b.texts_sha256, action: 'reject_all' }),
        });
        assert.equal(rec.status, 201, rec.body);
        consentId = rec.json.consent_id;
        receiptId = rec.json.receipt.receipt_id;
        assert.equal(typeof consentId, 'string');
        assert.ok(consentId.length >= 16, consentId);
        assert.equal(typeof receiptId, 'string');
        assert.ok(receiptId.length >= 16, receiptId);

        // Support lookups, with query strings.
        const h = await admin('GET', `consents/${consentId}?format=kantara`);
        assert.equal(h.status, 200, h.body);
        const r = await admin('GET', `receipts/${receiptId}`);
        assert.equal(r.status, 200, r.body);
        // consentd's own errors on support paths: 404 (router), 405, 431.
        assert.equal((await admin('GET', `consents/${consentId}/more`)).status, 404);
        assert.equal((await admin('POST', `consents/${consentId}`)).status, 405);
        assert.equal((await admin('GET', `receipts/${receiptId}`,
                                  { headers: [['Accept-Language', 'x'.repeat(600)]] })).status, 431);
        // A path in the wrong case is a 404 whose ID is just as real.
        assert.equal((await admin('GET', `CONSENTS/${consentId}`)).status, 404);
        // nginx's own refusals: a header over its buffers (its 494, answered
        // 431 in JSON), a body over 16 KiB (413), the support API from
        // outside (403), and the support API's rate limit (429).
        const big = await admin('GET', `consents/${consentId}`, { headers: [['X-Big', 'y'.repeat(20000)]] });
        assert.equal(big.status, 431);
        assert.equal(big.json.error.code, 'header_too_large');
        const body = await stack.request({
            method: 'POST', path: '/consent/v1/consents', xff: VISITORS[1].addr,
            headers: [['Content-Type', 'application/json']], body: 'x'.repeat(17000),
        });
        assert.equal(body.status, 413);
        const outside = await admin('GET', `consents/${consentId}`, { xff: OUTSIDER.addr });
        assert.equal(outside.status, 403);
        const statuses = [];
        for (let i = 0; i < 30; i++)
            statuses.push((await admin('GET', `receipts/${receiptId}`)).status);
        assert.ok(statuses.includes(429), `the support API's rate limit answered: ${statuses}`);
        assert.equal((await stack.request({ path: '/consent/v1/nope', xff: VISITORS[2].addr })).status, 404);
    });

    it('no log file holds a full address, a consent ID or a receipt ID', async () => {
        assert.ok(consentId && receiptId, 'the traffic test ran');
        // nginx writes its access log after the answer: wait for the last line.
        await poll(() => stack.readLog('consentAccess').includes('/consent/v1/nope'),
                   { what: 'the last request in consent-access.log' });
        const names = Object.keys(stack.logs);
        for (const name of names) {
            const text = stack.readLog(name);
            for (const secret of [...FULL_ADDRESSES, consentId, receiptId])
                assert.ok(!text.includes(secret), `${name} (${stack.logs[name]}) holds ${secret}:\n` +
                          text.split('\n').filter((l) => l.includes(secret)).slice(0, 3).join('\n'));
            assert.ok(!/client: \d|client: [0-9a-f:]+:/i.test(text), `${name} names a client:\n${text}`);
        }
    });

    it("nginx's consent access log shows the networks, the redacted paths and no query strings", () => {
        const text = stack.readLog('consentAccess');
        for (const { net } of [...VISITORS, SUPPORT, OUTSIDER])
            assert.ok(text.includes(`${net} `), `${net} in consent-access.log:\n${text}`);
        const lines = text.trim().split('\n');
        for (const l of lines)
            assert.ok(!l.includes('?'), `no query string: ${l}`);
        const has = (re) => assert.ok(lines.some((l) => re.test(l)), `${re} in:\n${text}`);
        has(/^10\.20\.30\.0\/24 .*"GET \/consent\/v1\/admin\/consents\/:id HTTP\/1\.1" 200 /);
        has(/^10\.20\.30\.0\/24 .*"GET \/consent\/v1\/admin\/receipts\/:id HTTP\/1\.1" 200 /);
        has(/"GET \/consent\/v1\/admin\/consents\/:id HTTP\/1\.1" 404 /);
        has(/"POST \/consent\/v1\/admin\/consents\/:id HTTP\/1\.1" 405 /);
        has(/"GET \/consent\/v1\/admin\/receipts\/:id HTTP\/1\.1" 431 /);
        has(/"GET \/consent\/v1\/admin\/CONSENTS\/:id HTTP\/1\.1" 404 /);
        has(/^203\.0\.113\.0\/24 .*"GET \/consent\/v1\/admin\/consents\/:id HTTP\/1\.1" 403 /);
        has(/"GET \/consent\/v1\/admin\/receipts\/:id HTTP\/1\.1" 429 /);
        has(/^46\.4\.12\.0\/24 .*"POST \/consent\/v1\/consents HTTP\/1\.1" 201 /);
        has(/^2a01:4f8:1234::\/48 .*"POST \/consent\/v1\/consents HTTP\/1\.1" 413 /);
        has(/^2001:db8::\/48 .*"GET \/consent\/v1\/banner HTTP\/1\.1" 200 /);
        // The header nginx refused before choosing a location is answered
        // (431 JSON) by the snippet's named location, so it is in the
        // consent log, in the same format (from the proxy: no realip yet).
        has(/^127\.0\.0\.0\/24 .*"GET \/consent\/v1\/admin\/consents\/:id HTTP\/1\.1" 431 /);
    });

    it("consentd's access log shows the route's form of support paths and truncated clients", () => {
        const lines = stack.readLog('consentd').split('\n').filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l)).filter((o) => o.path !== undefined);
        const admin = lines.filter((o) => o.path.toLowerCase().startsWith(`${ADMIN}/`));
        assert.ok(admin.length >= 6, JSON.stringify(admin));
        for (const o of admin)
            assert.match(o.path, /^\/consent\/v1\/admin\/(consents\/:id|receipts\/:id|audit|:other)$/,
                         JSON.stringify(o));
        assert.deepEqual([...new Set(admin.map((o) => o.status))].sort(), [200, 404, 405, 431]);
        assert.deepEqual([...new Set(admin.map((o) => o.client))], [SUPPORT.net]);
        const clients = new Set(lines.map((o) => o.client));
        // ::ffff:46.4.99.77 is an IPv4 client: its /24, not ::/48.
        for (const net of ['46.4.12.0/24', '2a01:4f8:1234::/48', '2001:db8::/48', '46.4.99.0/24'])
            assert.ok(clients.has(net), `${net} in ${[...clients]}`);
    });
});

describe("the harness's log check", () => {
    it('stop() fails when a log holds an address sent or an ID answered, and not for networks', async () => {
        const stack = await startStack();
        let stopped = false;
        try {
            const addr = '46.4.77.201';
            const res = await stack.request({ path: BANNER, xff: addr, headers: [['User-Agent', UA]] });
            assert.equal(res.status, 200, res.body);
            // What the snippet writes: the network only.
            await poll(() => stack.readLog('consentAccess').includes('46.4.77.0/24'),
                       { what: 'the request in consent-access.log' });
            const rec = await stack.request({
                method: 'POST', path: '/consent/v1/consents', xff: addr,
                headers: [['Content-Type', 'application/json'], ['User-Agent', UA]],
                body: JSON.stringify({ site: 'demo', banner_version: res.json.banner_version,
                                       texts_sha256: res.json.texts_sha256, action: 'reject_all' }),
            });
            assert.equal(rec.status, 201, rec.body);
            // Lines as logs that kept the address or the ID would have them.
            const fs = require('node:fs');
            fs.appendFileSync(stack.logs.consentError, `connect() failed, client: ${addr}\n`);
            fs.appendFileSync(stack.logs.consentd, `{"consent":"${rec.json.consent_id}"}\n`);
            stopped = true;
            await assert.rejects(stack.stop(), (e) => {
                assert.match(e.message, /the logs hold what they must not/);
                assert.match(e.message, /consentError: connect\(\) failed, client: 46\.4\.77\.201/);
                assert.ok(e.message.includes(`consentd: {"consent":"${rec.json.consent_id}"}`), e.message);
                assert.doesNotMatch(e.message, /consentAccess/);
                return true;
            });
            removeDir(stack.dir);       // kept by the failing stop()
        } finally {
            if (!stopped)
                await stack.stop();
        }
    });
});
