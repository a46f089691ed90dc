'use strict';
/*
 * backup.test.js - README "Back up and restore Redis", done as written:
 * receipts written through the stack; a backup of the running Redis (its
 * AOF folder after BGREWRITEAOF, and an RDB from BGSAVE); each restored into
 * a fresh redis-server of its own; every history verifies there with
 * consentctl lookup, with exactly the receipts written before the backup.
 *
 *   CONSENTD=build/asan/consentd CONSENTCTL=build/asan/consentctl \
 *       node --test tests/integration/backup.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawn, spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { ROOT, freePorts, makeTempDir, poll, redisPing, removeDir, startStack, writeConfig } =
    require('./lib/stack');
const { redisOnce } = require('./lib/redis');
const V = require('./lib/visitor');

const CONSENTCTL = process.env.CONSENTCTL
    ? path.resolve(process.cwd(), process.env.CONSENTCTL)
    : path.join(ROOT, 'build', 'asan', 'consentctl');

/* INFO persistence as { field: value }. */
async function persistence(port) {
    const text = (await redisOnce(port, 'INFO', 'persistence')).toString('latin1');
    return Object.fromEntries(text.split('\r\n').filter((l) => l.includes(':'))
        .map((l) => l.split(':')));
}

describe('Redis backup and restore', () => {
    let stack;
    let work;
    const started = [];       // redis-servers this file started
    const visitors = [];
    before(async () => {
        work = makeTempDir();
        stack = await startStack();
        for (let i = 0; i < 4; i++) {
            const v = await V.newVisitor(stack, { xff: `46.4.77.${i + 1}` });
            for (let k = 0; k <= i; k++)
                await V.record(v, k % 2 ? 'accept_all' : 'reject_all', undefined, { xff: `46.4.78.${i * 8 + k + 1}` });
            visitors.push(v);
        }
    });
    after(async () => {
        for (const child of started) {
            if (child.exitCode === null && child.signalCode === null) {
                const gone = new Promise((resolve) => child.once('exit', resolve));
                child.kill('SIGTERM');
                await gone;
            }
        }
        if (stack)
            await stack.stop();
        if (work)
            removeDir(work);
    });

    /* A fresh redis-server with the shipped redis.conf on dir; resolves to
     * its port once it answers PING. */
    async function startRedisOn(dir, extra = []) {
        const [port] = await freePorts(1);
        const log = path.join(work, `redis-${port}.log`);
        const out = fs.openSync(log, 'a');
        const child = spawn('redis-server', [path.join(ROOT, 'redis', 'redis.conf'), '--port', String(port),
                                             '--dir', dir, '--daemonize', 'no', ...extra],
                            { stdio: ['ignore', out, out] });
        fs.closeSync(out);
        started.push(child);
        await poll(() => redisPing(port), {
            timeoutMs: 15000, what: `restored redis-server on ${port}`,
            check: () => {
                if (child.exitCode !== null)
                    throw new Error(`redis-server exited: ${fs.readFileSync(log, 'utf8')}`);
            },
        });
        return port;
    }

    /* consentctl --json lookup of every visitor against Redis on port. */
    function lookups(port) {
        const cfg = JSON.parse(fs.readFileSync(stack.configPath, 'utf8'));
        cfg.redis.address = `127.0.0.1:${port}`;
        const file = writeConfig(work, cfg, `consentd-${port}.json`);
        return visitors.map((v) => {
            const r = spawnSync(CONSENTCTL, ['-c', file, '--json', 'lookup', v.id],
                                { encoding: 'utf8', timeout: 20000, cwd: ROOT });
            assert.equal(r.status, 0, `lookup: ${r.stdout}\n${r.stderr}`);
            return JSON.parse(r.stdout);
        });
    }

    function assertSameHistories(histories) {
        for (const [i, h] of histories.entries()) {
            const v = visitors[i];
            assert.equal(h.consent_id, v.id);
            assert.equal(h.verdict, 'verified', JSON.stringify(h.findings));
            assert.deepEqual(h.receipts.map((x) => x.receipt.receipt_id), v.posted.map((a) => a.receipt.receipt_id).reverse(), 'newest first');
            assert.ok(h.receipts.every((x) => x.verdict === 'ok'));
        }
    }

    it('the AOF folder copied after BGREWRITEAOF, while Redis runs, restores every history', async () => {
        const live = path.join(stack.dir, 'redis');
        assert.ok(fs.existsSync(path.join(live, 'appendonlydir')), 'the shipped config keeps an AOF folder');
        await redisOnce(stack.redisPort, 'BGREWRITEAOF');
        await poll(async () => {
            const p = await persistence(stack.redisPort);
            return p.aof_rewrite_in_progress === '0' && p.aof_rewrite_scheduled === '0';
        }, { timeoutMs: 20000, what: 'the AOF rewrite' });
        assert.equal((await persistence(stack.redisPort)).aof_last_bgrewrite_status, 'ok');
        const backup = path.join(work, 'aof-backup');
        fs.mkdirSync(backup);
        fs.cpSync(path.join(live, 'appendonlydir'), path.join(backup, 'appendonlydir'), { recursive: true });

        // Written after the backup: not in the restored copy.
        const late = await V.newVisitor(stack, { xff: '46.4.79.1' });
        await V.record(late, 'reject_all');

        const port = await startRedisOn(backup);
        assertSameHistories(lookups(port));
        const absent = spawnSync(CONSENTCTL, ['-c', path.join(work, `consentd-${port}.json`), 'lookup', late.id],
                                 { encoding: 'utf8', timeout: 20000, cwd: ROOT });
        assert.equal(absent.status, 1, `a consent after the backup is not found: ${absent.stdout}${absent.stderr}`);
    });

    it('an RDB from BGSAVE restores every history (loaded with appendonly off, then AOF switched on)', async () => {
        const before = Number((await persistence(stack.redisPort)).rdb_last_save_time);
        await redisOnce(stack.redisPort, 'BGSAVE');
        await poll(async () => {
            const p = await persistence(stack.redisPort);
            return p.rdb_bgsave_in_progress === '0' && Number(p.rdb_last_save_time) >= before &&
                p.rdb_last_bgsave_status === 'ok';
        }, { timeoutMs: 20000, what: 'BGSAVE' });
        const backup = path.join(work, 'rdb-backup');
        fs.mkdirSync(backup);
        fs.copyFileSync(path.join(stack.dir, 'redis', 'dump.rdb'), path.join(backup, 'dump.rdb'));

        const port = await startRedisOn(backup, ['--appendonly', 'no']);
        await redisOnce(port, 'CONFIG', 'SET', 'appendonly', 'yes');
        await poll(async () => {
            const p = await persistence(port);
            return p.aof_enabled === '1' && p.aof_rewrite_in_progress === '0';
        }, { timeoutMs: 20000, what: 'the AOF written from the loaded RDB' });
        assertSameHistories(lookups(port));
        assert.ok(fs.existsSync(path.join(backup, 'appendonlydir')), 'the restored copy has its AOF again');
    });
});
