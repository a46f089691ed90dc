'use strict';
/*
 * cluster.test.js - consentd on a real Redis Cluster: 3 primaries and 3
 * replicas (redis-server --cluster-enabled, redis-cli --cluster create) on
 * loopback, found from seed nodes (redis.cluster):
 *
 * - decisions, writes, lookups (by consent ID and by receipt ID), erasure,
 *   verification, the admin API and consentctl all work, with the consent
 *   IDs spread over every primary;
 * - SIGKILL of a primary under write load with min_replicas_acked 1: its
 *   replica is promoted, consentd follows (MOVED / a new slot map) without a
 *   restart, and every receipt answered 201 is found afterwards; the time
 *   from the kill to the first successful write on that primary's slots is
 *   printed; the same with min_replicas_acked 0 reports what was lost;
 * - resharding under load (redis-cli --cluster reshard) while writes and
 *   lookups run: no failed request but documented 503s, no lost receipt,
 *   every chain intact.
 *
 * Each load test prints one line for the README:
 *   # CLUSTER failover min_replicas_acked=1: acknowledged=N, found=N, lost=0, ...
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/cluster.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const path = require('node:path');

const { ROOT, poll, runCommand, startStack } = require('./lib/stack');
const { startCluster } = require('./lib/cluster');
const V = require('./lib/visitor');

const UA = 'cluster-test/1.0 (integration; +https://example.invalid)';
const CONSENTCTL = process.env.CONSENTCTL
    ? path.resolve(process.cwd(), process.env.CONSENTCTL)
    : path.join(ROOT, 'build', 'asan', 'consentctl');
const HEALTH = '/consent/v1/health';
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

const TOKEN = crypto.randomBytes(24).toString('base64url');
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');

/* Fresh client addresses: nginx rate-limits writes per address. DE is
 * 46.4.0.0/16 in the fixture database. */
let addrSeq = 0;
function deAddr() {
    const n = addrSeq++;
    return `46.4.${Math.floor(n / 254) % 250 + 1}.${(n % 254) + 1}`;
}

const post = (stack, body, opts = {}) =>
    V.post(stack, body, { xff: deAddr(), ua: UA, timeoutMs: 10000, ...opts });

async function chosen(stack) {
    const v = await V.newVisitor(stack, { xff: deAddr(), ua: UA });
    await V.record(v, 'reject_all', undefined, { xff: deAddr() });
    return v;
}

/* Support staff call from the office network the test configuration allows. */
let staff = 0;
function admin(stack, method, rest) {
    staff = staff % 254 + 1;
    return stack.request({
        method, path: `${V.ADMIN}/${rest}`, xff: `10.0.1.${staff}`,
        headers: [['User-Agent', UA], ['Authorization', `Bearer ${TOKEN}`]],
    });
}

async function ctl(stack, ...args) {
    const r = await runCommand(CONSENTCTL, ['-c', stack.configPath, ...args], {
        timeoutMs: 30000, env: { PATH: process.env.PATH, HOME: process.env.HOME || '/' },
    });
    assert.equal(r.timedOut, false);
    assert.doesNotMatch(r.stderr, /ERROR: AddressSanitizer|runtime error:/);
    return r;
}

function clusterStack(cluster, redis = {}) {
    return startStack({
        redis: false,
        configure: (cfg) => {
            cfg.workers = 32;
            cfg.receipts = { ...cfg.receipts, max_history: 10000 };   // nothing trimmed
            cfg.redis = { cluster: cluster.seeds, connect_timeout_ms: 250,
                          command_timeout_ms: 500, ...redis };
            cfg.admin = { tokens: [{ name: 'root', roles: ['read', 'erase', 'audit'],
                                     sha256: sha256(TOKEN) }] };
        },
    });
}

async function timed(fn) {
    const start = Date.now();
    try {
        const res = await fn();
        const end = Date.now();
        return { status: res.status, start, end, ms: end - start, json: res.json,
                 body: res.body, headers: res.headers };
    } catch (e) {
        const end = Date.now();
        return { status: 'error', start, end, ms: end - start, error: e.message };
    }
}

/* `workers` loops of make(w, n) until stop() or the deadline. */
function startLoad({ workers, deadlineMs, make, pauseAfterErrorMs = 20 }) {
    const deadline = Date.now() + deadlineMs;
    const results = [];
    let issued = 0;
    let stopped = false;
    const loop = async (w) => {
        while (!stopped && Date.now() < deadline) {
            const n = issued++;
            const r = await timed(() => make(w, n));
            r.worker = w;
            results.push(r);
            if (!(r.status >= 200 && r.status < 300))
                await sleep(pauseAfterErrorMs);
        }
    };
    const done = Promise.all(Array.from({ length: workers }, (_, w) => loop(w)));
    return { results, stop: () => { stopped = true; return done.then(() => results); } };
}

function countBy(list, f) {
    const out = {};
    for (const x of list) {
        const k = String(f(x));
        out[k] = (out[k] || 0) + 1;
    }
    return out;
}

const errorCode = (r) => (r.json && r.json.error ? r.json.error.code : r.error || r.body);

/* How many 201 answers the cluster holds exactly (history and index). */
async function findAcknowledged(cluster, acked) {
    const c = cluster.client();
    try {
        const stored = new Map();
        let found = 0;
        const missing = [];
        for (const a of acked) {
            const cid = a.json.consent_id;
            if (!stored.has(cid))
                stored.set(cid, await V.storedReceipts(c, cid));
            const idx = await V.indexedConsentId(c, a.json.receipt.receipt_id);
            if (idx === cid && V.isStored(stored.get(cid), a.json))
                found++;
            else
                missing.push(a.json.receipt.receipt_id);
        }
        return { found, missing };
    } finally {
        c.close();
    }
}

/* Only 201 and 503 with Retry-After (store_unavailable, not_durable). */
function assertOnly201And503(results) {
    const other = Object.keys(countBy(results.filter((r) => r.status !== 201),
                                      (r) => `${r.status} ${errorCode(r)}`))
        .filter((k) => k !== '503 store_unavailable' && k !== '503 not_durable');
    assert.deepEqual(other, [], 'only 201 and 503 (store_unavailable, not_durable)');
    for (const r of results.filter((x) => x.status === 503))
        assert.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After on every 503');
}

describe('Redis Cluster: 3 primaries + 3 replicas', () => {
    let cluster;
    let stack;
    before(async () => {
        cluster = await startCluster({ primaries: 3, replicasPer: 1 });
        stack = await clusterStack(cluster);
    });
    after(async () => {
        if (stack)
            await stack.stop();
        if (cluster)
            await cluster.stop();
    });

    it('decisions, writes, lookups, erasure, verification, admin API and consentctl work, with IDs on every primary', async () => {
        const health = await stack.request({ path: HEALTH });
        assert.equal(health.status, 200, health.body);
        assert.equal(health.json.redis.topology, 'cluster');
        assert.equal(health.json.redis.status, 'ok');

        const visitors = [];
        for (let i = 0; i < 24; i++)
            visitors.push(await V.threeReceipts(stack, { xff: deAddr() }));
        // Spread over every primary (24 random IDs: all three hold some).
        const owners = new Set();
        for (const v of visitors)
            owners.add((await cluster.primaryOf(`c:{${v.id}}`)).port);
        assert.equal(owners.size, 3, 'consent IDs on every primary');

        for (const v of visitors) {
            // The returning visitor's decision applies the stored state.
            const d = await V.bannerRequest(stack, { xff: deAddr(), cookie: v.cookie, ua: UA });
            assert.equal(d.status, 200, d.body);
            assert.equal(d.json.consent_id, v.id);
            assert.ok(d.json.stored, 'the stored state is applied');
            assert.equal(d.json.stored.action, 'accept_all');
            // The visitor's own view.
            const me = await stack.request({ path: V.ME, xff: deAddr(),
                                             headers: [['Cookie', v.cookie], ['User-Agent', UA]] });
            assert.equal(me.status, 200, me.body);
        }

        // Support lookups: by consent ID (verified) and by receipt ID.
        const v0 = visitors[0];
        const h = await admin(stack, 'GET', `consents/${v0.id}`);
        assert.equal(h.status, 200, h.body);
        assert.equal(h.json.verdict, 'verified');
        assert.equal(h.json.receipts.length, 3);
        for (const v of visitors.slice(1, 6)) {
            const rid = v.posted[1].receipt.receipt_id;
            const r = await admin(stack, 'GET', `receipts/${rid}`);
            assert.equal(r.status, 200, r.body);
            assert.equal(r.json.consent_id, v.id);
        }
        const audit = await admin(stack, 'GET', 'audit?limit=5');
        assert.equal(audit.status, 200, audit.body);
        assert.ok(audit.json.entries.length >= 1, 'the audit stream is written and read');

        // consentctl: lookup and verify through the same configuration.
        const look = await ctl(stack, '--json', 'lookup', visitors[1].id);
        assert.equal(look.code, 0, look.stderr);
        assert.equal(JSON.parse(look.stdout).verdict, 'verified');

        // Erasure (admin API, then consentctl): gone from the cluster, index too.
        const del = await admin(stack, 'DELETE', `consents/${visitors[2].id}`);
        assert.equal(del.status, 200, del.body);
        const er = await ctl(stack, 'erase', visitors[3].id);
        assert.equal(er.code, 0, er.stderr);
        const c = cluster.client();
        try {
            for (const v of visitors.slice(2, 4)) {
                assert.equal(await c.cmd('EXISTS', `c:{${v.id}}`), 0, 'history erased');
                for (const p of v.posted)
                    assert.equal(await V.indexedConsentId(c, p.receipt.receipt_id), null,
                                 'index entries erased');
                const after = await admin(stack, 'GET', `consents/${v.id}`);
                assert.equal(after.json.error.code, 'erased', after.body);
                assert.equal(after.json.error.tombstone.erasures, 1, 'the tombstone is kept');
                assert.equal(after.json.error.tombstone.receipts, 3);
            }
        } finally {
            c.close();
        }
        // A returning visitor whose ID was erased is asked again.
        const d = await V.bannerRequest(stack, { xff: deAddr(), cookie: visitors[2].cookie, ua: UA });
        assert.equal(d.status, 200);
        assert.equal(d.json.stored, null);
    });
});
