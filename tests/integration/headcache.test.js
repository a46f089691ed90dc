'use strict';
/*
 * headcache.test.js - the banner decision's head cache (README "Head
 * cache") against real redis-server and consentd processes: a returning
 * visitor's decision is served from the cache, and still every change is
 * applied by the next decision that starts after the change was answered,
 * with no waiting: a withdrawal, an erasure through the support API, an
 * erasure by consentctl (another process), a change made through another
 * consentd on the same Redis (one server, or a Redis Cluster, where the
 * change is published on the consent ID's node and heard on another); and
 * after a Redis restart with other data the cache serves nothing it held
 * before.
 *
 * Requests go straight to one consentd over FastCGI (lib/fcgi.js), so a
 * test knows which instance answered. The cache's max age is an hour here,
 * so only the invalidation can make these tests pass.
 *
 *   CONSENTD=build/asan/consentd CONSENTCTL=build/asan/consentctl \
 *     node --test tests/integration/headcache.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const { ROOT, poll, startStack } = require('./lib/stack');
const { withStack } = require('./lib/suite');
const V = require('./lib/visitor');
const { fcgiRequest } = require('./lib/fcgi');
const { startCluster } = require('./lib/cluster');

const CONSENTCTL = process.env.CONSENTCTL
    ? path.resolve(process.cwd(), process.env.CONSENTCTL)
    : path.join(ROOT, 'build', 'asan', 'consentctl');
const TOKEN = `cst_${crypto.randomBytes(32).toString('base64url')}`;
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');
const UA = 'headcache-test/1.0';


function configure(cfg) {
    cfg.head_cache = { entries: 1000, max_age_ms: 3600000 };
    cfg.admin = { tokens: [{ name: 'support', roles: ['read', 'erase'], sha256: sha256(TOKEN) }] };
}

/* ---- one instance, over FastCGI ---- */

function decision(port, v) {
    return fcgiRequest(port, { path: '/consent/v1/banner', query: 'site=demo',
                               remoteAddr: v.xff, headers: { Cookie: v.cookie, 'User-Agent': UA } });
}

async function health(port) {
    const res = await fcgiRequest(port, { path: '/consent/v1/health' });
    assert.ok(res.json && res.json.head_cache, res.body);
    return res.json.head_cache;
}

const cacheOn = (port) => poll(async () => (await health(port)).status === 'on',
                               { timeoutMs: 15000, what: `the head cache of consentd on ${port} on` });

/* A visitor that recorded action through the consentd on port. */
async function visitor(port, action) {
    const v = { xff: V.address(), cookie: '' };
    const first = await decision(port, v);
    assert.equal(first.status, 200, first.body);
    const res = await fcgiRequest(port, {
        method: 'POST', path: '/consent/v1/consents', remoteAddr: v.xff,
        headers: { 'Content-Type': 'application/json', 'User-Agent': UA },
        body: JSON.stringify({ site: 'demo', banner_version: first.json.banner_version,
                               texts_sha256: first.json.texts_sha256, action }),
    });
    assert.equal(res.status, 201, res.body);
    assert.equal(res.headers['set-cookie'].length, 1);
    v.cookie = res.headers['set-cookie'][0].split(';')[0];
    v.id = res.json.consent_id;
    return v;
}

/* The visitor's decision on port until one comes from the cache (its hit
 * count grew by it; on a loaded machine the watcher may have been briefly
 * off, which only makes decisions read Redis): the state the cache holds. */
async function cachedDecision(port, v) {
    await decision(port, v);
    let json;
    await poll(async () => {
        const before = (await health(port)).hits;
        const res = await decision(port, v);
        assert.equal(res.status, 200, res.body);
        json = res.json;
        return (await health(port)).hits === before + 1;
    }, { timeoutMs: 10000, intervalMs: 20, what: 'a decision served from the head cache' });
    return json;
}

function withdraw(port, v) {
    return fcgiRequest(port, { method: 'DELETE', path: '/consent/v1/consents/me', query: 'site=demo',
                               remoteAddr: v.xff, headers: { Cookie: v.cookie, 'User-Agent': UA } });
}

function adminErase(port, id) {
    return fcgiRequest(port, { method: 'DELETE', path: `/consent/v1/admin/consents/${id}`,
                               remoteAddr: '127.0.0.1',
                               headers: { Authorization: `Bearer ${TOKEN}` } });
}

function assertWithdrawn(d) {
    assert.equal(d.store, 'ok');
    assert.ok(d.stored, JSON.stringify(d));
    assert.equal(d.stored.action, 'withdraw');
    assert.deepEqual(d.choices, { necessary: true, functional: false, analytics: false,
                                  advertising: false });
}

function assertNothingStored(d) {
    assert.equal(d.store, 'ok');
    assert.equal(d.stored, null, JSON.stringify(d.stored));
    assert.equal(d.prompt, true);
}

describe('head cache, one consentd', () => {
    let stack, port;

    withStack({ configure }, (s) => { stack = s; });
    before(async () => {
        [port] = stack.fastcgiPorts;
        await cacheOn(port);
    });

    it('serves a returning visitor from the cache and applies a withdrawal at once', async () => {
        const v = await visitor(port, 'accept_all');
        const d = await cachedDecision(port, v);
        assert.equal(d.stored.action, 'accept_all');
        assert.equal(d.choices.advertising, true);
        const w = await withdraw(port, v);
        assert.equal(w.status, 201, w.body);
        assertWithdrawn((await decision(port, v)).json);
    });

    it('applies an erasure through the support API at once', async () => {
        const v = await visitor(port, 'accept_all');
        assert.equal((await cachedDecision(port, v)).stored.action, 'accept_all');
        const e = await adminErase(port, v.id);
        assert.ok(e.status === 200 || e.status === 202, e.body);
        assertNothingStored((await decision(port, v)).json);
    });

    it('applies an erasure by consentctl, another process, at once', async () => {
        const v = await visitor(port, 'accept_all');
        assert.equal((await cachedDecision(port, v)).stored.action, 'accept_all');
        const r = spawnSync(CONSENTCTL, ['-c', stack.configPath, 'erase', v.id], {
            cwd: ROOT, encoding: 'utf8', timeout: 70000,
            env: { PATH: process.env.PATH, HOME: process.env.HOME || '/' },
        });
        assert.equal(r.status, 0, `consentctl erase: ${r.stdout}\n${r.stderr}`);
        assertNothingStored((await decision(port, v)).json);
    });

    it('applies a change written straight into Redis by another client at once', async () => {
        // What record.lua does for any writer: the state changes, then the
        // consent ID is published on consent:heads in the same script.
        const a = await visitor(port, 'accept_all');
        const b = await visitor(port, 'reject_all');
        assert.equal((await cachedDecision(port, a)).stored.action, 'accept_all');
        const { withRedis } = require('./lib/redis');
        await withRedis(stack, async (r) => {
            const head = await r.cmd('HGET', `c:{${b.id}}`, 'm');
            const one = await r.cmd('HGET', `c:{${b.id}}`, '1');
            await r.cmd('EVAL', "redis.call('HSET', KEYS[1], 'm', ARGV[1], '1', ARGV[2]) " +
                        "redis.call('PUBLISH', 'consent:heads', ARGV[3]) return 1",
                        '1', `c:{${a.id}}`, head, one, a.id);
        });
        // a's head is now b's, sealed for b's ID: it does not verify for a
        const d = (await decision(port, a)).json;
        assert.equal(d.stored, null, 'the replaced head is read again (and refused)');
    });

    it('serves nothing it held before Redis restarted with other data', async () => {
        const v = await visitor(port, 'accept_all');
        assert.equal((await cachedDecision(port, v)).stored.action, 'accept_all');
        await stack.stopRedis();
        fs.rmSync(path.join(stack.dir, 'redis'), { recursive: true, force: true });
        fs.mkdirSync(path.join(stack.dir, 'redis'));
        await stack.startRedis();           // empty: as after restoring an older backup
        // Every answer from now on, while consentd reconnects and after,
        // says nothing is stored (or that the store is unavailable).
        await poll(async () => {
            const d = (await decision(port, v)).json;
            assert.notEqual(d.stored && d.stored.action, 'accept_all', 'a stale state was served');
            return d.store === 'ok' && (await health(port)).status === 'on';
        }, { timeoutMs: 15000, what: 'Redis and the head cache back' });
        assertNothingStored((await decision(port, v)).json);
        assertNothingStored((await decision(port, v)).json);
    });
});

describe('head cache, two consentd on one Redis', () => {
    let stack, one, two;

    withStack({ configure, consentds: 2 }, (s) => { stack = s; });
    before(async () => {
        [one, two] = stack.fastcgiPorts;
        await cacheOn(one);
        await cacheOn(two);
    });

    it('a withdrawal through one instance is applied by the other at once', async () => {
        const v = await visitor(one, 'accept_all');
        assert.equal((await cachedDecision(two, v)).stored.action, 'accept_all');
        const w = await withdraw(one, v);
        assert.equal(w.status, 201, w.body);
        assertWithdrawn((await decision(two, v)).json);
    });

    it('an erasure through one instance is applied by the other at once', async () => {
        const v = await visitor(two, 'accept_all');
        assert.equal((await cachedDecision(two, v)).stored.action, 'accept_all');
        const e = await adminErase(one, v.id);
        assert.ok(e.status === 200 || e.status === 202, e.body);
        assertNothingStored((await decision(two, v)).json);
    });

    it('a new choice through one instance is applied by the other at once', async () => {
        const v = await visitor(one, 'reject_all');
        assert.equal((await cachedDecision(two, v)).stored.action, 'reject_all');
        const first = await decision(one, v);
        const res = await fcgiRequest(one, {
            method: 'POST', path: '/consent/v1/consents', remoteAddr: v.xff,
            headers: { 'Content-Type': 'application/json', 'User-Agent': UA, Cookie: v.cookie },
            body: JSON.stringify({ site: 'demo', banner_version: first.json.banner_version,
                                   texts_sha256: first.json.texts_sha256, action: 'accept_all' }),
        });
        assert.equal(res.status, 201, res.body);
        const d = (await decision(two, v)).json;
        assert.equal(d.stored.action, 'accept_all');
        assert.equal(d.stored.seq, 2);
    });
});

describe('head cache, two consentd on a 3-primary Redis Cluster', () => {
    let cluster, stack, one, two;

    before(async () => {
        cluster = await startCluster({ primaries: 3, replicasPer: 0 });
        stack = await startStack({
            redis: false, consentds: 2,
            configure: (cfg) => {
                configure(cfg);
                cfg.redis = { cluster: cluster.seeds, connect_timeout_ms: 250,
                              command_timeout_ms: 500 };
            },
        });
        [one, two] = stack.fastcgiPorts;
        await cacheOn(one);
        await cacheOn(two);
    });
    after(async () => {
        if (stack)
            await stack.stop();
        if (cluster)
            await cluster.stop();
    });

    it('a withdrawal through one instance is applied by the other, for IDs on every primary', async () => {
        const nodes = new Set();
        // consent IDs until their keys live on every primary: two of them
        // are published on a node the other instance's watcher is not on
        for (let i = 0; i < 40 && nodes.size < 3; i++) {
            const v = await visitor(one, 'accept_all');
            const node = await cluster.primaryOf(`c:{${v.id}}`);
            if (nodes.has(node.port))
                continue;
            nodes.add(node.port);
            assert.equal((await cachedDecision(two, v)).stored.action, 'accept_all');
            const w = await withdraw(one, v);
            assert.equal(w.status, 201, w.body);
            // Published on the ID's node, the message reaches the other
            // instance's watcher over the cluster bus: soon (milliseconds),
            // not necessarily before the next view (README, "Head cache").
            await poll(async () => {
                const d = (await decision(two, v)).json;
                assert.ok(['accept_all', 'withdraw'].includes(d.stored.action), JSON.stringify(d.stored));
                return d.stored.action === 'withdraw';
            }, { timeoutMs: 5000, intervalMs: 5, what: 'the withdrawal applied by the other instance' });
            assertWithdrawn((await decision(two, v)).json);
        }
        assert.equal(nodes.size, 3, 'consent IDs on each of the three primaries');
    });
});
