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
const { ask, startCluster } = require('./lib/cluster');
const V = require('./lib/visitor');
const load = require('./lib/load');

const { countBy, errorCode, sleep, startLoad } = load;

const UA = 'cluster-test/1.0 (integration; +https://example.invalid)';
const CONSENTCTL = process.env.CONSENTCTL
    ? path.resolve(process.cwd(), process.env.CONSENTCTL)
    : path.join(ROOT, 'build', 'asan', 'consentctl');
const HEALTH = '/consent/v1/health';

const TOKEN = crypto.randomBytes(24).toString('base64url');
const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');


const post = (stack, body, opts = {}) =>
    V.post(stack, body, { xff: V.address(), ua: UA, timeoutMs: 10000, ...opts });

async function chosen(stack) {
    const v = await V.newVisitor(stack, { xff: V.address(), ua: UA });
    await V.record(v, 'reject_all', undefined, { xff: V.address() });
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
            cfg.admin = { tokens: [{ name: 'root', roles: ['read', 'erase', 'audit', 'stats'],
                                     sha256: sha256(TOKEN) }] };
            cfg.stats = { flush_ms: 200 };
        },
    });
}

/* How many 201 answers the cluster holds exactly (history and index). */
async function findAcknowledged(cluster, acked) {
    const c = cluster.client();
    try {
        return await load.findAcknowledged(c, acked);
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
            visitors.push(await V.threeReceipts(stack, { xff: V.address() }));
        // Spread over every primary (24 random IDs: all three hold some).
        const owners = new Set();
        for (const v of visitors)
            owners.add((await cluster.primaryOf(`c:{${v.id}}`)).port);
        assert.equal(owners.size, 3, 'consent IDs on every primary');

        for (const v of visitors) {
            // The returning visitor's decision applies the stored state.
            const d = await V.bannerRequest(stack, { xff: V.address(), cookie: v.cookie, ua: UA });
            assert.equal(d.status, 200, d.body);
            assert.equal(d.json.consent_id, v.id);
            assert.ok(d.json.stored, 'the stored state is applied');
            assert.equal(d.json.stored.action, 'accept_all');
            // The visitor's own view.
            const me = await stack.request({ path: V.ME, xff: V.address(),
                                             headers: [['Cookie', v.cookie], ['User-Agent', UA]] });
            assert.equal(me.status, 200, me.body);
        }

        // Analytics: every count reaches the cluster, its day's shard keys
        // on their own slots (a:{SITE:DAY:SHARD}), and reads back whole.
        const counted = await poll(async () => {
            const r = await admin(stack, 'GET', 'stats?site=demo&by=region');
            return r.status === 200 && r.json.total.shown === 24 &&
                   r.json.total.answers.accept_all === 24 ? r.json : false;
        }, { timeoutMs: 15000, what: 'the analytics counted in the cluster' });
        assert.deepEqual(counted.total.answers, { accept_all: 24, reject_all: 24, custom: 24,
                                                  withdraw: 0, gpc: 0 });
        const day = new Date().toISOString().slice(0, 10);
        const shardOwners = new Set();
        for (let k = 0; k < 8; k++)
            shardOwners.add((await cluster.primaryOf(`a:{demo:${day}:${k}}`)).port);
        assert.ok(shardOwners.size >= 2, 'a day\'s analytics keys on more than one primary');

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
        const d = await V.bannerRequest(stack, { xff: V.address(), cookie: visitors[2].cookie, ua: UA });
        assert.equal(d.status, 200);
        assert.equal(d.json.stored, null);
    });
});

/* The node replicating primary (ROLE of every live node), or undefined. */
async function replicaOf(cluster, primary) {
    for (const n of cluster.nodes.filter((x) => x.up && x !== primary)) {
        const role = await ask(n.port, 'ROLE');
        if (Array.isArray(role) && role[0].toString() === 'slave' &&
            Number(role[2]) === primary.port)
            return n;
    }
    return undefined;
}

/*
 * Kills the primary that serves the most writers under a write load, waits
 * for its replica's promotion and for writes on its slots to succeed again;
 * with restartOldPrimary the killed node comes back (as the new primary's
 * replica) before the load ends. Returns the figures and the results.
 */
async function failoverUnderLoad(t, { cluster, stack, writers, minAcked, restartOldPrimary }) {
    const visitors = [];
    const owner = new Map();
    while (visitors.length < writers) {
        const v = await chosen(stack);
        visitors.push(v);
        owner.set(v.id, (await cluster.primaryOf(`c:{${v.id}}`)).port);
    }
    const counts = countBy(visitors, (v) => owner.get(v.id));
    const victimPort = Number(Object.entries(counts).sort((a, b) => b[1] - a[1])[0][0]);
    const victim = cluster.nodes.find((n) => n.port === victimPort);
    const replica = await replicaOf(cluster, victim);
    assert.ok(replica, 'the victim has a replica');
    const onVictim = new Set();
    visitors.forEach((v, i) => { if (owner.get(v.id) === victimPort) onVictim.add(i); });

    const { figures, results, missing } = await load.failoverUnderLoad(t, {
        label: 'CLUSTER failover', minAcked, visitors,
        post: (body, opts) => post(stack, body, opts),
        // The first writes that count are those on the killed primary's
        // slots, now on the replica.
        watched: (w) => onVictim.has(w), suffix: '_on_its_slots', extra: { on_killed_primary: onVictim.size },
        kill: () => cluster.kill(victim),
        promoted: async () => (await cluster.role(replica)) === 'master',
        restart: restartOldPrimary ? () => cluster.restart(victim) : null,
        rejoined: async () => {
            const role = await ask(victim.port, 'ROLE');
            return Array.isArray(role) && role[0].toString() === 'slave' &&
                role[3].toString() === 'connected';
        },
        stored: (acked) => findAcknowledged(cluster, acked),
    });
    return { figures, results, missing, victim, replica };
}

describe('Redis Cluster failover: SIGKILL of a primary under writes', () => {
    it('min_replicas_acked 1: the replica is promoted, consentd follows, no 201 is lost', async (t) => {
        const cluster = await startCluster({ primaries: 3, replicasPer: 1 });
        let stack;
        try {
            stack = await clusterStack(cluster, { min_replicas_acked: 1, ack_timeout_ms: 200 });
            const pid = stack.consentdPid;
            const { figures, results, missing } = await failoverUnderLoad(t, {
                cluster, stack, writers: 9, minAcked: 1, restartOldPrimary: true,
            });
            assert.ok(figures.acknowledged > 0, 'some writes were acknowledged');
            assert.deepEqual(missing, [], 'every receipt answered 201 is in the cluster');
            assert.ok(figures.not_durable > 0,
                      'the promoted replica, alone, took writes that were answered not_durable');
            assertOnly201And503(results);
            assert.equal(stack.consentdPid, pid);
            assert.ok(stack.consentdRunning(), 'the same consentd process served throughout');
            const health = await stack.request({ path: HEALTH });
            assert.equal(health.status, 200, health.body);
        } finally {
            if (stack)
                await stack.stop();
            await cluster.stop();
        }
    });

    it('min_replicas_acked 0: writes resume on the promoted replica; lost 201s are reported', async (t) => {
        const cluster = await startCluster({ primaries: 3, replicasPer: 1 });
        let stack;
        try {
            stack = await clusterStack(cluster, { min_replicas_acked: 0 });
            const { figures, results } = await failoverUnderLoad(t, {
                cluster, stack, writers: 9, minAcked: 0, restartOldPrimary: false,
            });
            assert.ok(figures.acknowledged > 0);
            assert.equal(figures.not_durable, 0, 'without WAIT nothing is answered not_durable');
            assertOnly201And503(results);
            // Asynchronous replication: what the primary acknowledged in its
            // last moments may not have reached the replica; bounded by what
            // was in flight.
            assert.ok(figures.lost <= figures.on_killed_primary * 4, `lost ${figures.lost}`);
        } finally {
            if (stack)
                await stack.stop();
            await cluster.stop();
        }
    });
});

describe('Redis Cluster resharding under load', () => {
    it('all slots of one primary move to another while writes and lookups run: no failure but 503s, nothing lost, chains intact', async (t) => {
        const cluster = await startCluster({ primaries: 3, replicasPer: 1 });
        let stack;
        try {
            stack = await clusterStack(cluster);
            const writers = 9;
            const visitors = [];
            const owner = new Map();
            for (let i = 0; i < writers; i++) {
                const v = await chosen(stack);
                visitors.push(v);
                owner.set(v.id, (await cluster.primaryOf(`c:{${v.id}}`)).port);
            }
            const counts = Object.entries(countBy(visitors, (v) => owner.get(v.id)))
                .sort((a, b) => b[1] - a[1]);
            const from = cluster.nodes.find((n) => n.port === Number(counts[0][0]));
            const primaries = [];
            for (const n of cluster.nodes)
                if (await cluster.role(n) === 'master')
                    primaries.push(n);
            const to = primaries.find((n) => n !== from);
            const fromSlots = (await ask(from.port, 'CLUSTER', 'SLOTS'))
                .filter((r) => Number(r[2][1]) === from.port)
                .reduce((s, r) => s + Number(r[1]) - Number(r[0]) + 1, 0);

            const writes = startLoad({
                workers: writers, deadlineMs: 120000,
                make: (w, n) => post(stack, V.recordBody(visitors[w].banner,
                                                         n % 2 ? 'accept_all' : 'reject_all'),
                                     { cookie: visitors[w].cookie }),
            });
            const lookups = startLoad({
                workers: 3, deadlineMs: 120000,
                make: (w, n) => admin(stack, 'GET', `consents/${visitors[n % writers].id}`),
            });
            let reshard;
            const started = Date.now();
            try {
                await sleep(1000);
                reshard = await runCommand('redis-cli', [
                    '--cluster', 'reshard', `127.0.0.1:${to.port}`,
                    '--cluster-from', await cluster.nodeId(from),
                    '--cluster-to', await cluster.nodeId(to),
                    '--cluster-slots', String(fromSlots), '--cluster-yes',
                ], { timeoutMs: 240000 });
                await sleep(1000);
            } finally {
                await writes.stop();
                await lookups.stop();
            }
            assert.equal(reshard.code, 0, `${reshard.stdout.slice(-2000)}\n${reshard.stderr}`);
            const moved = [];
            for (const v of visitors)
                if ((await cluster.primaryOf(`c:{${v.id}}`)).port !== owner.get(v.id))
                    moved.push(v.id);
            assert.equal(moved.length, Number(counts[0][1]), 'every history of that primary moved');

            const acked = writes.results.filter((r) => r.status === 201);
            const { found, missing } = await findAcknowledged(cluster, acked);
            const lookupStatuses = countBy(lookups.results, (r) => r.status);
            t.diagnostic(`CLUSTER reshard of ${fromSlots} slots under load: ` +
                         `seconds=${((Date.now() - started) / 1000).toFixed(1)}, ` +
                         `writes=${writes.results.length}, acknowledged=${acked.length}, ` +
                         `found=${found}, lost=${missing.length}, ` +
                         `writes_503=${writes.results.filter((r) => r.status === 503).length}, ` +
                         `lookups=${JSON.stringify(lookupStatuses)}, moved_histories=${moved.length}`);
            assert.deepEqual(missing, [], 'every 201 is stored');
            assertOnly201And503(writes.results);
            assert.deepEqual(Object.keys(lookupStatuses).filter((s) => s !== '200' && s !== '503'), [],
                             'lookups answer 200 (or 503 with Retry-After)');
            for (const r of lookups.results.filter((x) => x.status === 503))
                assert.ok(Number(r.headers['retry-after']) >= 1);
            // Every chain intact, on its new primary.
            for (const v of visitors) {
                const h = await admin(stack, 'GET', `consents/${v.id}`);
                assert.equal(h.status, 200, h.body);
                assert.equal(h.json.verdict, 'verified', `chain of ${v.id}`);
                const mine = acked.filter((r) => r.json.consent_id === v.id).length;
                assert.ok(h.json.receipts_written >= 1 + mine, 'every acknowledged receipt counted');
            }
        } finally {
            if (stack)
                await stack.stop();
            await cluster.stop();
        }
    });
});
