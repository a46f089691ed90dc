'use strict';
/*
 * sentinel.test.js - consentd on a primary and a replica watched by three
 * real Redis Sentinels (redis-server --sentinel), all on loopback:
 *
 * - SIGKILL the primary under write load with redis.min_replicas_acked 1:
 *   the sentinels promote the replica, consentd follows it without a
 *   restart, and every receipt answered 201 is on the new primary (zero
 *   lost). Writes the new primary takes while it has no replica yet are
 *   answered 503 not_durable, until the old primary is back as its replica.
 * - The same with min_replicas_acked 0: reports how many 201s were lost
 *   (for the README) and checks writes resume on the new primary.
 * - A server demoted while consentd is connected (READONLY) makes it ask the
 *   sentinels again and write to the new primary, failing no request; a
 *   sentinel that names a replica is not believed (ROLE), and nothing is
 *   written there.
 * - min_replicas_acked with no replica: 503 not_durable, Retry-After, the
 *   consent cookie set; the retry continues the same consent ID.
 *
 * Each failover test prints one line for the README:
 *   # FAILOVER sentinel min_replicas_acked=1: acknowledged=N, found=N, lost=0, ...
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/sentinel.test.js
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const path = require('node:path');

const {
    ROOT, makeTempDir, poll, removeDir, runCommand, startStack, terminate,
} = require('./lib/stack');
const { Redis } = require('./lib/redis');
const {
    ask, replication, sentinelPrimary, startFakeSentinel, startGroup, startServer,
} = require('./lib/replicas');
const V = require('./lib/visitor');
const load = require('./lib/load');

const { countBy, errorCode } = load;

const UA = 'sentinel-test/1.0 (integration; +https://example.invalid)';
const CONSENTCTL = process.env.CONSENTCTL
    ? path.resolve(process.cwd(), process.env.CONSENTCTL)
    : path.join(ROOT, 'build', 'asan', 'consentctl');

/* consentctl with the stack's configuration: { code, stdout, stderr }.
 * Asynchronous: the fake sentinel answers from this very process. */
async function ctl(stack, ...args) {
    const r = await runCommand(CONSENTCTL, ['-c', stack.configPath, ...args], {
        timeoutMs: 20000, env: { PATH: process.env.PATH, HOME: process.env.HOME || '/' },
    });
    assert.equal(r.timedOut, false);
    assert.doesNotMatch(r.stderr, /ERROR: AddressSanitizer|runtime error:/);
    return r;
}
const HEALTH = '/consent/v1/health';


const post = (stack, body, opts = {}) =>
    V.post(stack, body, { xff: V.address(), ua: UA, timeoutMs: 10000, ...opts });

async function chosen(stack) {
    const v = await V.newVisitor(stack, { xff: V.address(), ua: UA });
    await V.record(v, 'reject_all');
    return v;
}

/* How many keys a server holds, the analytics counts (a:{...}) left out:
 * consentd's flusher adds those on its own schedule. */
const dataKeys = async (port) =>
    (await ask(port, 'KEYS', '*')).filter((k) => !String(k).startsWith('a:{')).length;

/* How many of the 201 answers are stored on the server at port, exactly. */
async function findAcknowledged(port, acked) {
    const r = await Redis.connect(port);
    try {
        return await load.findAcknowledged(r, acked);
    } finally {
        r.close();
    }
}

/* A stack whose consentd finds its primary through the group's sentinels. */
function sentinelStack(group, redis = {}) {
    return startStack({
        redis: false,
        configure: (cfg) => {
            cfg.workers = 48;
            cfg.receipts = { ...cfg.receipts, max_history: 10000 };   // nothing trimmed
            cfg.redis = {
                sentinels: group.sentinelAddresses, master_name: group.masterName,
                connect_timeout_ms: 250, command_timeout_ms: 500, ...redis,
            };
        },
    });
}

/*
 * Kills the group's primary under a write load of `writers` visitors and
 * waits for the sentinels to promote the replica and for consentd to write
 * there. With restartOldPrimary the killed server is started again (the
 * sentinels make it the new primary's replica) before the load ends.
 * Returns the figures and the results.
 */
async function failoverUnderLoad(t, { group, stack, writers, minAcked, restartOldPrimary }) {
    const visitors = [];
    for (let i = 0; i < writers; i++)
        visitors.push(await chosen(stack));
    const oldPrimary = group.primary;
    const replica = group.replicas[0];
    return load.failoverUnderLoad(t, {
        label: 'FAILOVER sentinel', minAcked, visitors, maxRequests: 20000,
        post: (body, opts) => post(stack, body, opts),
        kill: () => group.kill(oldPrimary),
        promoted: async () => (await sentinelPrimary(group.sentinels[0].port)) === replica.port,
        restart: restartOldPrimary ? () => group.restart(oldPrimary) : null,
        rejoined: async () => {
            const info = await replication(oldPrimary.port);
            return info !== null && info.role === 'slave' &&
                info.master_port === String(replica.port) && info.master_link_status === 'up';
        },
        stored: (acked) => findAcknowledged(replica.port, acked),
    });
}

describe('Redis Sentinel: primary + replica + 3 sentinels', () => {
    it('SIGKILL of the primary under writes, min_replicas_acked 1: consentd follows the promoted replica and no 201 is lost', async (t) => {
        const group = await startGroup({ replicas: 1, sentinels: 3 });
        let stack;
        try {
            stack = await sentinelStack(group, { min_replicas_acked: 1, ack_timeout_ms: 200 });
            const health = await stack.request({ path: HEALTH });
            assert.equal(health.status, 200, health.body);
            assert.deepEqual(health.json.redis, {
                status: 'ok', topology: 'sentinel', primary: `127.0.0.1:${group.primary.port}`,
                min_replicas_acked: 1,
            });
            const pid = stack.consentdPid;
            const { figures, results, missing } = await failoverUnderLoad(t, {
                group, stack, writers: 8, minAcked: 1, restartOldPrimary: true,
            });

            assert.ok(figures.acknowledged > 0, 'some writes were acknowledged');
            assert.deepEqual(missing, [], 'every receipt answered 201 is on the new primary');
            assert.ok(figures.not_durable > 0,
                      'the new primary, alone, took writes that were answered not_durable');
            assert.deepEqual(Object.keys(countBy(results.filter((r) => r.status !== 201),
                                                 (r) => `${r.status} ${errorCode(r)}`))
                                 .filter((k) => k !== '503 store_unavailable' &&
                                                k !== '503 not_durable'), [],
                             'only 201 and 503 (store_unavailable, not_durable)');
            for (const r of results.filter((x) => x.status === 503))
                assert.ok(Number(r.headers['retry-after']) >= 1, 'Retry-After on every 503');
            assert.equal(stack.consentdPid, pid);
            assert.ok(stack.consentdRunning(), 'the same consentd process served throughout');
            const after = await stack.request({ path: HEALTH });
            assert.equal(after.json.redis.primary, `127.0.0.1:${group.replicas[0].port}`,
                         'health names the new primary');
            // The old primary is a replica now: nothing consentd wrote since
            // went there directly (it only has what it replicated).
            const info = await replication(group.primary.port);
            assert.equal(info.role, 'slave');
        } finally {
            if (stack)
                await stack.stop();
            await group.stop();
        }
    });

    it('the same with min_replicas_acked 0: writes resume on the promoted replica; lost 201s are reported', async (t) => {
        const group = await startGroup({ replicas: 1, sentinels: 3 });
        let stack;
        try {
            stack = await sentinelStack(group, { min_replicas_acked: 0 });
            const { figures, results } = await failoverUnderLoad(t, {
                group, stack, writers: 8, minAcked: 0, restartOldPrimary: false,
            });
            assert.ok(figures.acknowledged > 0);
            assert.equal(figures.not_durable, 0, 'without WAIT nothing is answered not_durable');
            assert.deepEqual(Object.keys(countBy(results.filter((r) => r.status !== 201),
                                                 (r) => `${r.status} ${errorCode(r)}`))
                                 .filter((k) => k !== '503 store_unavailable'), [],
                             'only 201 and 503 store_unavailable');
            // Asynchronous replication: what the primary acknowledged in its
            // last moments may not have reached the replica. Not asserted to
            // be zero (that is what min_replicas_acked is for), only bounded
            // by what was in flight.
            assert.ok(figures.lost <= figures.writers * 4, `lost ${figures.lost}`);
        } finally {
            if (stack)
                await stack.stop();
            await group.stop();
        }
    });
});

describe('following the primary without Sentinel\'s help (a fake sentinel)', () => {
    it('READONLY from a demoted primary: consentd asks again and writes to the new one, failing no request', async () => {
        const dir = makeTempDir();
        const fake = await startFakeSentinel();
        let a;
        let b;
        let stack;
        try {
            a = await startServer(dir, 'redis-a');
            b = await startServer(dir, 'redis-b', { replicaOf: a.port });
            await poll(async () => (await replication(b.port)).master_link_status === 'up',
                       { timeoutMs: 10000, what: 'redis-b replicating' });
            fake.setPrimary(a.port);
            stack = await startStack({
                redis: false,
                configure: (cfg) => {
                    cfg.workers = 32;
                    cfg.redis = { sentinels: [fake.address], master_name: 'consent' };
                },
            });
            // Writes and decisions over nginx's kept-alive connections, so
            // that many consentd workers hold a connection to redis-a.
            const visitors = [];
            for (let i = 0; i < 12; i++)
                visitors.push(await chosen(stack));
            const before = fake.asked();

            // Swap the roles by hand, as a failover does, without closing
            // anyone's connection: redis-a is now a replica of redis-b.
            assert.equal(await ask(b.port, 'REPLICAOF', 'NO', 'ONE'), 'OK');
            assert.equal(await ask(a.port, 'REPLICAOF', '127.0.0.1', String(b.port)), 'OK');
            fake.setPrimary(b.port);
            await poll(async () => (await replication(a.port)).master_link_status === 'up',
                       { timeoutMs: 10000, what: 'redis-a replicating from redis-b' });

            const answers = await Promise.all(visitors.map(async (v) => {
                const res = await post(stack, V.recordBody(v.banner, 'accept_all'), { cookie: v.cookie });
                return { status: res.status, json: res.json, body: res.body };
            }));
            assert.deepEqual(answers.filter((r) => r.status !== 201).map((r) => r.body), [],
                             'every write after the demotion answered 201');
            assert.ok(fake.asked() > before, 'consentd asked the sentinel again');
            const { missing } = await findAcknowledged(b.port, answers);
            assert.deepEqual(missing, [], 'every one of them is on the new primary');
            for (const v of visitors) {
                const res = await V.banner(v, { xff: V.address() });
                assert.equal(res.status, 200);
                assert.equal(res.json.store, 'ok', 'the decision read the store');
                assert.equal(res.json.stored.action, 'accept_all', 'and found the newest choice');
            }
            const health = await stack.request({ path: HEALTH });
            assert.equal(health.json.redis.primary, `127.0.0.1:${b.port}`);
            // consentctl finds the primary the same way.
            const looked = await ctl(stack, '--json', 'lookup', visitors[0].id);
            assert.equal(looked.code, 0, looked.stderr);
            assert.ok(looked.stdout.includes(visitors[0].id), looked.stdout.slice(0, 300));

            // A sentinel that names a replica is not believed: consentd checks
            // ROLE and answers 503 rather than use it.
            fake.setPrimary(a.port);
            assert.ok(await ask(b.port, 'CLIENT', 'KILL', 'TYPE', 'normal') >= 1,
                      'consentd\'s connections to redis-b dropped');
            const keysBefore = await dataKeys(a.port);
            const refused = await post(stack, V.recordBody(visitors[0].banner, 'reject_all'),
                                       { cookie: visitors[0].cookie });
            V.assertError(refused, 503, 'store_unavailable');
            const down = await stack.request({ path: HEALTH });
            assert.equal(down.status, 503);
            assert.match(down.json.redis.reason, new RegExp(`127\\.0\\.0\\.1:${a.port} is not the primary \\(ROLE: slave\\)`));
            assert.equal(await dataKeys(a.port), keysBefore);
            const refusedCtl = await ctl(stack, 'lookup', visitors[0].id);
            assert.equal(refusedCtl.code, 4, 'consentctl: store unavailable');
            assert.match(refusedCtl.stderr, /consentctl: Redis \(sentinel consent\): .*is not the primary \(ROLE: slave\)/);

            // Back to the truth: writes flow again without a restart.
            fake.setPrimary(b.port);
            await poll(async () => (await post(stack, V.recordBody(visitors[0].banner, 'reject_all'),
                                               { cookie: visitors[0].cookie })).status === 201,
                       { timeoutMs: 5000, intervalMs: 100, what: 'writes after the sentinel is right again' });
        } finally {
            if (stack)
                await stack.stop();
            await fake.close();
            if (b)
                await terminate(b.proc, 5000);
            if (a)
                await terminate(a.proc, 5000);
            removeDir(dir);
        }
    });

    it('min_replicas_acked with no replica: 503 not_durable, cookie set, the retry continues the same consent ID', async () => {
        const dir = makeTempDir();
        const fake = await startFakeSentinel();
        let a;
        let stack;
        try {
            a = await startServer(dir, 'redis-a');
            fake.setPrimary(a.port);
            stack = await startStack({
                redis: false,
                configure: (cfg) => {
                    cfg.redis = { sentinels: [fake.address], master_name: 'consent',
                                  min_replicas_acked: 1, ack_timeout_ms: 150 };
                },
            });
            const v = await V.newVisitor(stack, { xff: V.address(), ua: UA });
            const res = await post(stack, V.recordBody(v.banner, 'reject_all'));
            V.assertError(res, 503, 'not_durable');
            assert.equal(res.headers['retry-after'], '1');
            const cookie = V.assertConsentCookie(res, v.banner.consent_days);
            // It is on the primary all the same (not acknowledged, not lost).
            const keys = await ask(a.port, 'KEYS', 'c:{*}');
            assert.equal(keys.length, 1, 'one history on the primary');
            const id = keys[0].toString().slice(3, -1);

            // A replica arrives: the retry is acknowledged, under the same ID.
            const b = await startServer(dir, 'redis-b', { replicaOf: a.port });
            try {
                await poll(async () => (await replication(b.port)).master_link_status === 'up',
                           { timeoutMs: 10000, what: 'redis-b replicating' });
                const retry = await post(stack, V.recordBody(v.banner, 'reject_all'), { cookie });
                assert.equal(retry.status, 201, retry.body);
                assert.equal(retry.json.consent_id, id, 'the retry continues the consent ID');
                assert.equal(retry.json.receipt.seq, 2, 'after the unacknowledged receipt');
                const { missing } = await findAcknowledged(b.port, [retry]);
                assert.deepEqual(missing, [], 'the replica has it');
            } finally {
                await terminate(b.proc, 5000);
            }
            const metrics = await stack.request({ path: '/consent/v1/metrics' });
            assert.match(metrics.body, /^consent_not_durable_total 1$/m);
        } finally {
            if (stack)
                await stack.stop();
            await fake.close();
            if (a)
                await terminate(a.proc, 5000);
            removeDir(dir);
        }
    });
});
