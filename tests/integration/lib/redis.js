'use strict';
/*
 * redis.js - a tiny RESP (Redis protocol) client over node:net for the
 * tests that look at or tamper with what consentd stored. Bulk strings come
 * back as Buffers (receipts are binary: 64-byte signature + JSON payload);
 * error replies reject with RedisError. No npm dependency.
 */
const net = require('node:net');

class RedisError extends Error {}

/* One reply from buf at pos: { value, next }, or null when incomplete. Bulk
 * strings are Buffers (receipts are binary). */
function parseReply(buf, pos) {
    if (pos >= buf.length)
        return null;
    const eol = buf.indexOf('\r\n', pos);
    if (eol < 0)
        return null;
    const type = String.fromCharCode(buf[pos]);
    const line = buf.toString('latin1', pos + 1, eol);
    const next = eol + 2;
    switch (type) {
    case '+':
        return { value: line, next };
    case '-':
        return { value: new RedisError(line), next };
    case ':':
        return { value: Number(line), next };
    case '$': {
        const n = Number(line);
        if (n < 0)
            return { value: null, next };
        if (buf.length < next + n + 2)
            return null;
        return { value: Buffer.from(buf.subarray(next, next + n)), next: next + n + 2 };
    }
    case '*': {
        const n = Number(line);
        if (n < 0)
            return { value: null, next };
        const items = [];
        let p = next;
        for (let i = 0; i < n; i++) {
            const r = parseReply(buf, p);
            if (r === null)
                return null;
            items.push(r.value);
            p = r.next;
        }
        return { value: items, next: p };
    }
    default:
        throw new Error(`RESP: unexpected type byte ${JSON.stringify(type)}`);
    }
}

function encodeCommand(args) {
    const parts = [Buffer.from(`*${args.length}\r\n`)];
    for (const a of args) {
        const b = Buffer.isBuffer(a) ? a : Buffer.from(String(a));
        parts.push(Buffer.from(`$${b.length}\r\n`), b, Buffer.from('\r\n'));
    }
    return Buffer.concat(parts);
}

class Redis {
    static connect(port) {
        return new Promise((resolve, reject) => {
            const sock = net.connect({ host: '127.0.0.1', port });
            sock.setTimeout(5000, () => sock.destroy(new Error('redis: no answer within 5 s')));
            sock.once('error', reject);
            sock.once('connect', () => {
                sock.removeListener('error', reject);
                resolve(new Redis(sock));
            });
        });
    }

    constructor(sock) {
        this.sock = sock;
        this.buf = Buffer.alloc(0);
        this.pending = [];
        this.onPush = null;             // MONITOR: every reply without a caller
        sock.on('data', (d) => {
            this.buf = Buffer.concat([this.buf, d]);
            for (;;) {
                const r = parseReply(this.buf, 0);
                if (r === null)
                    break;
                this.buf = this.buf.subarray(r.next);
                const p = this.pending.shift();
                if (p === undefined) {
                    if (this.onPush)
                        this.onPush(r.value);
                } else if (r.value instanceof RedisError) {
                    p.reject(r.value);
                } else {
                    p.resolve(r.value);
                }
            }
        });
        const fail = (e) => {
            for (const p of this.pending.splice(0))
                p.reject(e || new Error('redis connection closed'));
        };
        sock.on('error', fail);
        sock.on('close', () => fail());
    }

    cmd(...args) {
        return new Promise((resolve, reject) => {
            this.pending.push({ resolve, reject });
            this.sock.write(encodeCommand(args));
        });
    }

    close() {
        this.sock.destroy();
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

module.exports = {
    Redis, RedisError, parseReply, encodeCommand, withRedis, redisOnce, allKeys, snapshot,
    isAnalyticsKey,
};
