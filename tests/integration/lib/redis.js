'use strict';
/*
 * redis.js - connections to Redis for the tests that look at or tamper with
 * what consentd stored, through node-redis's core client (@redis/client,
 * pinned in tests/integration/package.json; `make integration` installs
 * it). Replies keep the shapes the tests compare: bulk strings as Buffers
 * (receipts are binary: 64-byte signature + JSON payload), simple strings
 * as strings, integers as numbers, arrays as arrays, a missing value as
 * null; an error reply (WRONGTYPE, MOVED, NOAUTH...) rejects with an Error
 * whose message is the server's.
 *
 *   const r = await Redis.connect(port);  await r.cmd('HGET', key, 2);  r.close();
 *   await withRedis(stack, (r) => r.cmd('XLEN', 'consent:audit'));
 */
const { createClient, RESP_TYPES } = require('@redis/client');

const BUFFERS = { [RESP_TYPES.BLOB_STRING]: Buffer };
const TIMEOUT_MS = 5000;

class Redis {
    /* A connection to 127.0.0.1:port; rejects when nothing answers there.
     * No reconnection, no queue while down: a test sees Redis as it is. */
    static async connect(port) {
        const client = createClient({
            socket: { host: '127.0.0.1', port, connectTimeout: TIMEOUT_MS, reconnectStrategy: false },
            disableOfflineQueue: true,
            // Nothing sent before the test's first command (no HELLO: no RESP
            // version given; no CLIENT SETINFO), so that a server wanting a
            // password lets the connection be made and a test send AUTH.
            disableClientInfo: true,
        });
        // Failures reach the caller through the command or connect() that
        // met them; the event would otherwise end the process.
        client.on('error', () => {});
        await client.connect();
        return new Redis(client);
    }

    constructor(client) {
        this.client = client;
    }

    /* One command; arguments are strings, numbers or Buffers. */
    cmd(...args) {
        return this.client.sendCommand(args.map((a) => (Buffer.isBuffer(a) ? a : String(a))),
                                       { typeMapping: BUFFERS, timeout: TIMEOUT_MS });
    }

    /* MONITOR: every command the server runs from now on, as its text line,
     * to onLine. Resolves once the server has said OK. */
    monitor(onLine) {
        return this.client.monitor((line) => onLine(String(line)));
    }

    close() {
        this.client.destroy();
    }
}

async function withRedis(stack, fn) {
    const r = await Redis.connect(stack.redisPort);
    try {
        return await fn(r);
    } finally {
        r.close();
    }
}

/* Runs one command on a fresh connection. */
async function redisOnce(port, ...args) {
    const r = await Redis.connect(port);
    try {
        return await r.cmd(...args);
    } finally {
        r.close();
    }
}

/* Every key in the database (SCAN), sorted. */
async function allKeys(r) {
    const keys = [];
    let cursor = '0';
    do {
        const [next, batch] = await r.cmd('SCAN', cursor, 'COUNT', 1000);
        cursor = next.toString();
        keys.push(...batch.map((k) => k.toString('latin1')));
    } while (cursor !== '0');
    return [...new Set(keys)].sort();
}

/*
 * Every key's type and value (bulk strings as base64, hashes sorted) and
 * DBSIZE: two snapshots are equal exactly when Redis did not change. Keys in
 * exclude (e.g. the audit stream) are left out of the values. The analytics
 * counts (a:{...}) are left out of both unless analytics is true: consentd
 * flushes them every few seconds, whatever the request under test did
 * (analytics.test.js checks that bad input counts nothing).
 */
const isAnalyticsKey = (key) => key.startsWith('a:{');

async function snapshot(stack, { exclude = [], analytics = false } = {}) {
    return withRedis(stack, async (r) => {
        const out = {};
        let counted = 0;
        for (const key of await allKeys(r)) {
            if (!analytics && isAnalyticsKey(key))
                continue;
            counted++;
            if (exclude.includes(key))
                continue;
            const type = await r.cmd('TYPE', key);
            let value;
            if (type === 'hash') {
                const flat = await r.cmd('HGETALL', key);
                const pairs = [];
                for (let i = 0; i < flat.length; i += 2)
                    pairs.push([flat[i].toString('latin1'), flat[i + 1].toString('base64')]);
                value = Object.fromEntries(pairs.sort(([a], [b]) => (a < b ? -1 : 1)));
            } else if (type === 'list') {
                value = (await r.cmd('LRANGE', key, 0, -1)).map((b) => b.toString('base64'));
            } else if (type === 'string') {
                value = (await r.cmd('GET', key)).toString('base64');
            } else if (type === 'stream') {
                value = (await r.cmd('XRANGE', key, '-', '+')).map(([id, fields]) =>
                    [id.toString('latin1'), fields.map((b) => b.toString('base64'))]);
            } else if (type === 'set') {
                value = (await r.cmd('SMEMBERS', key)).map((b) => b.toString('base64')).sort();
            } else if (type === 'zset') {
                value = (await r.cmd('ZRANGE', key, 0, -1, 'WITHSCORES'))
                    .map((b) => b.toString('base64'));
            } else {
                value = `(${type})`;
            }
            out[key] = { type, value };
        }
        // DBSIZE, unless analytics keys are left out: a flush may add one
        // between SCAN and DBSIZE, so then the keys SCAN saw are counted.
        out['(dbsize)'] = analytics ? await r.cmd('DBSIZE') : counted;
        return out;
    });
}

module.exports = { Redis, withRedis, redisOnce, allKeys, snapshot, isAnalyticsKey };
