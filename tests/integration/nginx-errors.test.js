'use strict';
/*
 * nginx-errors.test.js - every answer nginx gives itself on consent paths is
 * JSON in the API's error form ({"error": {"code", "message"}}), through the
 * shipped snippet on the real stack: 403 of the allow-lists (support page,
 * support API, metrics), 429 of both rate limits, 413, 400/494 of
 * requests nginx cannot read (where it knows the path), 502 and 504 when consentd cannot answer.
 * Outside /consent/ the site keeps nginx's own pages.
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/nginx-errors.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const net = require('node:net');

const { startStack } = require('./lib/stack');
const V = require('./lib/visitor');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/* A request written as raw bytes (for what Node's client will not send):
 * { status, headers (lower-case names), body } of the first answer. */
function rawRequest(port, text) {
    return new Promise((resolve, reject) => {
        const sock = net.connect({ host: '127.0.0.1', port });
        const chunks = [];
        sock.setTimeout(10000, () => sock.destroy(new Error('no answer within 10 s')));
        sock.once('error', reject);
        sock.once('connect', () => sock.write(text));
        sock.on('data', (d) => chunks.push(d));
        sock.once('close', () => {
            const all = Buffer.concat(chunks).toString('latin1');
            const end = all.indexOf('\r\n\r\n');
            if (end < 0) {
                reject(new Error(`no complete answer: ${JSON.stringify(all.slice(0, 200))}`));
                return;
            }
            const lines = all.slice(0, end).split('\r\n');
            const headers = {};
            for (const l of lines.slice(1)) {
                const i = l.indexOf(':');
                headers[l.slice(0, i).toLowerCase()] = l.slice(i + 1).trim();
            }
            let body = all.slice(end + 4);
            if (headers['content-length'] !== undefined)
                body = body.slice(0, Number(headers['content-length']));
            resolve({ status: Number(lines[0].split(' ')[1]), headers, body });
        });
    });
}

const get = (port, target, extra = '') =>
    rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: localhost\r\n${extra}Connection: close\r\n\r\n`);

describe('nginx answers in JSON on consent paths', () => {
    let stack;
    before(async () => {
        // A short read timeout at http level, so that a stopped consentd
        // gives nginx's 504 within the test.
        stack = await startStack({ nginxHttp: 'fastcgi_read_timeout 2s;' });
    });
    after(async () => {
        if (stack)
            await stack.stop();
    });

    it('403 forbidden_network: support page, support API and metrics from outside the allow-list', async () => {
        for (const p of ['/consent/admin/', '/consent/admin/index.html', '/consent/v1/admin/audit',
                         '/consent/v1/admin/consents/abc', '/consent/v1/metrics'])
            V.assertError(await stack.request({ path: p, xff: '46.4.9.1' }), 403, 'forbidden_network');
        // From an allowed network the page itself is served (HTML).
        const page = await stack.request({ path: '/consent/admin/', xff: '10.1.2.3' });
        assert.equal(page.status, 200);
        assert.match(page.headers['content-type'], /^text\/html/);
    });

    it('429 rate_limited with Retry-After: consent writes and the support API', async () => {
        const writes = await Promise.all(Array.from({ length: 40 }, () =>
            V.post(stack, '{}', { xff: '46.4.9.2' })));
        const limited = writes.filter((r) => r.status === 429);
        assert.ok(limited.length >= 1, `some 429 of ${writes.map((r) => r.status).join(',')}`);
        for (const r of limited) {
            V.assertError(r, 429, 'rate_limited');
            assert.equal(r.headers['retry-after'], '1');
        }
        // The support API's own zone, from an allowed network: the nested
        // location's error_page list includes 429 too.
        const calls = await Promise.all(Array.from({ length: 40 }, () =>
            stack.request({ path: '/consent/v1/admin/audit', xff: '10.9.9.9' })));
        const adminLimited = calls.filter((r) => r.status === 429);
        assert.ok(adminLimited.length >= 1, `some 429 of ${calls.map((r) => r.status).join(',')}`);
        for (const r of adminLimited)
            V.assertError(r, 429, 'rate_limited');
        assert.deepEqual([...new Set(calls.map((r) => r.status))].sort(), [401, 429]);
    });

    it('413 body_too_large: a body over 16 KiB, on the write and the support paths', async () => {
        V.assertError(await V.post(stack, 'x'.repeat(20000), { xff: '46.4.9.3' }), 413, 'body_too_large');
        V.assertError(await stack.request({ method: 'DELETE', path: '/consent/v1/admin/consents/abc',
                                              xff: '10.9.9.8', body: 'x'.repeat(20000) }),
                        413, 'body_too_large');
    });

    it('431 header_too_large for a header over nginx\'s buffers (its 494); the site keeps nginx\'s page', async () => {
        const big = `Cookie: consent=${'a'.repeat(9000)}\r\n`;
        V.assertError(await get(stack.nginxPort, '/consent/v1/banner?site=demo', big), 431, 'header_too_large');
        V.assertError(await get(stack.nginxPort, '/consent/consent.js', big), 431, 'header_too_large');
        const site = await get(stack.nginxPort, '/', big);
        assert.equal(site.status, 400);
        assert.match(site.headers['content-type'], /^text\/html/);
        assert.match(site.body, /Request Header Or Cookie Too Large/);
    });

    it('a request line over nginx\'s buffers: 414, nginx\'s own page (it cannot tell the path)', async () => {
        const long = 'x'.repeat(9000);
        for (const target of [`/consent/v1/banner?site=${long}`, `/?q=${long}`]) {
            const r = await get(stack.nginxPort, target);
            assert.equal(r.status, 414, r.body.slice(0, 200));
            assert.match(r.headers['content-type'], /^text\/html/);
        }
    });

    it('400 bad_request for a request nginx cannot read; the site keeps nginx\'s page', async () => {
        const bad = 'Content-Length: twelve\r\n';
        V.assertError(await get(stack.nginxPort, '/consent/v1/banner?site=demo', bad), 400, 'bad_request');
        const site = await get(stack.nginxPort, '/', bad);
        assert.equal(site.status, 400);
        assert.match(site.headers['content-type'], /^text\/html/);
        // A request line nginx cannot parse has no path: nginx's own 400.
        for (const line of ['GARBAGE\r\n\r\n', 'GET consent/v1/banner HTTP/1.1\r\nHost: x\r\n\r\n']) {
            const r = await rawRequest(stack.nginxPort, line);
            assert.equal(r.status, 400, `${JSON.stringify(line)}: ${r.status} ${r.body.slice(0, 200)}`);
            assert.match(r.headers['content-type'], /^text\/html/);
        }
    });

    it('502 upstream_unavailable when consentd is down, 504 upstream_timeout when it does not answer', async () => {
        // SIGSTOP: the socket still accepts (the kernel's backlog), nothing
        // answers: nginx gives up after fastcgi_read_timeout.
        stack.signalConsentd('SIGSTOP');
        try {
            const slow = await stack.request({ path: '/consent/v1/health', timeoutMs: 30000 });
            V.assertError(slow, 504, 'upstream_timeout');
            assert.equal(slow.headers['retry-after'], '5');
        } finally {
            stack.signalConsentd('SIGCONT');
        }
        stack.signalConsentd('SIGTERM');
        while (stack.consentdRunning())
            await sleep(50);
        for (const p of ['/consent/v1/banner?site=demo', '/consent/v1/health', '/consent/v1/consents/me']) {
            const r = await stack.request({ path: p, xff: '46.4.9.4' });
            V.assertError(r, 502, 'upstream_unavailable');
            assert.equal(r.headers['retry-after'], '5');
        }
        V.assertError(await V.post(stack, '{}', { xff: '46.4.9.5' }), 502, 'upstream_unavailable');
        V.assertError(await stack.request({ path: '/consent/v1/metrics' }), 502, 'upstream_unavailable');
    });
});
