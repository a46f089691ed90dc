'use strict';
/*
 * redis-auth.test.js - consentd against a redis-server that wants a
 * password: an ACL user (redis.username + redis.password_file) and the
 * default user's requirepass (redis.password_file alone). A wrong password
 * leaves consentd running, saying why (a log line at start, health 503 with
 * the reason) and trying again, so fixing the password on the Redis side is
 * enough; the password never shows in a log or an answer.
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/redis-auth.test.js
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const { makeTempDir, poll, removeDir, startStack, terminate } = require('./lib/stack');
const { logLines } = require('./lib/suite');
const { Redis } = require('./lib/redis');
const { startServer } = require('./lib/replicas');
const V = require('./lib/visitor');

const HEALTH = '/consent/v1/health';


/* Writes a password file (mode 0600) in dir; returns its path. */
function passwordFile(dir, name, password) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, `${password}\n`, { mode: 0o600 });
    return file;
}

describe('Redis AUTH', () => {
    it('an ACL user: decisions and writes work; a wrong password is said and retried until Redis takes it', async () => {
        const dir = makeTempDir();
        const good = crypto.randomBytes(18).toString('base64url');
        const wrong = crypto.randomBytes(18).toString('base64url');
        let redis;
        let stack;
        try {
            redis = await startServer(dir, 'redis-acl', {
                args: ['--user', 'default', 'off', '--user', 'consentd', 'on', `>${good}`,
                       '~*', '&*', '+@all'],
            });
            const file = passwordFile(dir, 'redis.pass', wrong);
            stack = await startStack({
                redis: false,
                configure: (cfg) => {
                    cfg.redis = { address: `127.0.0.1:${redis.port}`, username: 'consentd',
                                  password_file: file };
                },
            });
            // The configured password is not the user's: unavailable, and why.
            const down = await stack.request({ path: HEALTH });
            assert.equal(down.status, 503, down.body);
            assert.match(down.json.redis.reason, /^AUTH as "consentd": WRONGPASS/);
            const warned = logLines(stack).find((l) => l.msg === 'redis unavailable at start');
            assert.ok(warned, 'a log line at start');
            assert.match(warned.detail, /AUTH as "consentd": WRONGPASS/);
            const v = await V.newVisitor(stack, { xff: V.address() });
            const refused = await V.post(stack, V.recordBody(v.banner, 'reject_all'), { xff: V.address() });
            V.assertError(refused, 503, 'store_unavailable');

            // The operator gives the user the configured password: no
            // restart of consentd.
            const r = await Redis.connect(redis.port);
            try {
                assert.equal(await r.cmd('AUTH', 'consentd', good), 'OK');
                assert.equal(await r.cmd('ACL', 'SETUSER', 'consentd', 'resetpass', `>${wrong}`), 'OK');
            } finally {
                r.close();
            }
            await poll(async () => (await stack.request({ path: HEALTH })).status === 200,
                       { timeoutMs: 5000, intervalMs: 100, what: 'health 200 once the password fits' });
            const ok = await V.record(v, 'reject_all');
            assert.equal(ok.status, 201);
            const back = await V.banner(v, { xff: V.address() });
            assert.equal(back.json.store, 'ok');
            assert.equal(back.json.stored.action, 'reject_all');

            for (const secret of [good, wrong]) {
                for (const name of ['consentd', 'consentdStdout', 'nginxError', 'consentAccess'])
                    assert.ok(!stack.readLog(name).includes(secret), `no password in the ${name} log`);
            }
        } finally {
            if (stack)
                await stack.stop();
            if (redis)
                await terminate(redis.proc, 5000);
            removeDir(dir);
        }
    });

    it('requirepass (the default user): password_file alone', async () => {
        const dir = makeTempDir();
        const password = crypto.randomBytes(18).toString('base64url');
        let redis;
        let stack;
        try {
            redis = await startServer(dir, 'redis-pass', { args: ['--requirepass', password] });
            const file = passwordFile(dir, 'redis.pass', password);
            stack = await startStack({
                redis: false,
                configure: (cfg) => {
                    cfg.redis = { address: `127.0.0.1:${redis.port}`, password_file: file };
                },
            });
            const health = await stack.request({ path: HEALTH });
            assert.equal(health.status, 200, health.body);
            const v = await V.newVisitor(stack, { xff: V.address() });
            await V.record(v, 'accept_all');
            const h = await V.history(v);
            assert.equal(h.receipts.length, 1);
        } finally {
            if (stack)
                await stack.stop();
            if (redis)
                await terminate(redis.proc, 5000);
            removeDir(dir);
        }
    });
});
