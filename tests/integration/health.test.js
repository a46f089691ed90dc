'use strict';
/*
 * health.test.js - what GET /consent/v1/health tells whom. From any address
 * but loopback (after nginx's realip: the stack's nginx takes the visitor's
 * address from X-Forwarded-For) only {"status"}: no Redis address,
 * topology or error text, no GeoIP, rules or key details, also when Redis
 * is down. From loopback (127.0.0.0/8, ::1, ::ffff:127.x) the details.
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/health.test.js
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');

const { poll } = require('./lib/stack');
const { withStack } = require('./lib/suite');

const HEALTH = '/consent/v1/health';
/* Public and private networks alike: only loopback is "this machine". */
const OUTSIDE = ['46.4.0.1', '10.1.2.3', '192.168.0.7', '2a01:4f8::1', '::ffff:46.4.0.1'];
/* undefined: nginx's own peer, 127.0.0.1 (an X-Forwarded-For of 127.0.0.1
 * would be an address the harness looks for in the logs, where consentd's
 * start-up line has its listen address). */
const LOOPBACK = [undefined, '127.3.2.1', '::1', '::ffff:127.9.9.9'];

function health(stack, xff) {
    return stack.request({ path: HEALTH, xff });
}

/* The public answer, and nothing of the inside in its bytes. */
function assertStatusOnly(res, status, text, stack) {
    assert.equal(res.status, status, res.body);
    assert.deepEqual(res.json, { status: text });
    assert.equal(res.headers['cache-control'], 'no-store');
    assert.match(res.headers['content-type'], /^application\/json/);
    for (const inside of ['127.0.0.1', String(stack.redisPort), 'redis', 'geoip', 'rules', 'signing'])
        assert.ok(!res.body.includes(inside), `the public answer names ${inside}: ${res.body}`);
}

describe('health: the status for everyone, the details from loopback only', () => {
    let stack;
    withStack({}, (s) => { stack = s; });

    it('from outside (public and private networks): 200 {"status": "ok"} and nothing else', async () => {
        for (const xff of OUTSIDE)
            assertStatusOnly(await health(stack, xff), 200, 'ok', stack);
    });

    it('from loopback: 200 with GeoIP, Redis (primary, topology), rules version and key ID', async () => {
        for (const xff of LOOPBACK) {
            const res = await health(stack, xff);
            assert.equal(res.status, 200, `${xff}: ${res.body}`);
            assert.equal(res.json.status, 'ok');
            assert.deepEqual(res.json.redis, {
                status: 'ok', topology: 'single', primary: `127.0.0.1:${stack.redisPort}`,
            });
            assert.equal(res.json.geoip.status, 'ok');
            assert.equal(typeof res.json.rules_version, 'string');
            assert.equal(typeof res.json.signing_key, 'string');
            assert.equal(res.headers['cache-control'], 'no-store');
        }
    });

    it('Redis down: from outside 503 {"status": "unavailable"} without Redis\'s error; from loopback 503 with the reason', async () => {
        await stack.stopRedis();
        try {
            for (const xff of OUTSIDE)
                assertStatusOnly(await health(stack, xff), 503, 'unavailable', stack);
            const local = await health(stack, undefined);
            assert.equal(local.status, 503, local.body);
            assert.equal(local.json.status, 'unavailable');
            assert.equal(local.json.redis.status, 'unavailable');
            assert.ok(typeof local.json.redis.reason === 'string' && local.json.redis.reason.length > 0,
                      local.body);
        } finally {
            await stack.startRedis();
        }
        await poll(async () => (await health(stack, '46.4.0.1')).status === 200,
                   { timeoutMs: 5000, intervalMs: 100, what: 'health 200 once Redis runs again' });
        assertStatusOnly(await health(stack, '46.4.0.1'), 200, 'ok', stack);
    });
});
