'use strict';
/*
 * replicas.js - replicated Redis for the integration tests: real
 * redis-server primaries and replicas, real Redis Sentinels (redis-server
 * --sentinel), and a fake sentinel whose answer a test sets, all on free
 * loopback ports in one temporary folder, stopped by the PIDs of the
 * processes this file started (never by name).
 *
 *   const group = await startGroup({ replicas: 1, sentinels: 3 });
 *   group.primary.port, group.replicas[0].port, group.sentinelAddresses
 *   await group.kill(group.primary);          // SIGKILL
 *   await group.restart(group.primary);       // same port and folder (its AOF)
 *   await group.stop();
 *
 * Servers run the shipped redis/redis.conf (AOF, everysec, noeviction).
 */
const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');

const {
    ROOT, freePorts, makeTempDir, poll, redisPing, removeDir, running, spawnLogged, terminate,
} = require('./stack');
const RedisParser = require('redis-parser');
const { Redis } = require('./redis');

const MASTER_NAME = 'consent';
const START_TIMEOUT_MS = 15000;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/*
 * The server's own copy of the shipped redis/redis.conf (made once, kept
 * across restarts): Sentinel has the servers it reconfigures rewrite their
 * configuration file (CONFIG REWRITE), which must never be the repository's.
 */
function ownConfig(dir) {
    const conf = path.join(dir, 'redis.conf');
    if (!fs.existsSync(conf))
        fs.copyFileSync(path.join(ROOT, 'redis', 'redis.conf'), conf);
    return conf;
}

/* One command on a fresh connection; errors come back as Error values,
 * not rejections, and a server that is down gives null. */
async function ask(port, ...args) {
    let r;
    try {
        r = await Redis.connect(port);
    } catch (_) {
        return null;
    }
    try {
        return await r.cmd(...args);
    } catch (e) {
        return e;
    } finally {
        r.close();
    }
}

/* A command answered in INFO's form ("field:value" lines: INFO, CLUSTER
 * INFO) on a fresh connection, as { field: value }; null when the server
 * is down or answers otherwise. */
async function askFields(port, ...args) {
    const text = await ask(port, ...args);
    if (!Buffer.isBuffer(text))
        return null;
    const out = {};
    for (const line of text.toString().split('\r\n')) {
        const i = line.indexOf(':');
        if (i > 0)
            out[line.slice(0, i)] = line.slice(i + 1);
    }
    return out;
}

/* INFO replication of a server as { field: value }, or null when down. */
const replication = (port) => askFields(port, 'INFO', 'replication');

/* The primary's port the sentinel on port names, or null. */
async function sentinelPrimary(port) {
    const r = await ask(port, 'SENTINEL', 'get-master-addr-by-name', MASTER_NAME);
    return Array.isArray(r) && r.length === 2 ? Number(r[1].toString()) : null;
}

/*
 * Starts a primary, `replicas` replicas of it and `sentinels` sentinels
 * watching it (quorum 2, down after downAfterMs), and waits until every
 * replica's link is up and every sentinel knows the replicas and the other
 * sentinels (so that a failover can be voted at once).
 */
async function startGroup({ replicas = 1, sentinels = 3, downAfterMs = 1000,
                            failoverTimeoutMs = 5000 } = {}) {
    const dir = makeTempDir();
    const ports = await freePorts(1 + replicas + sentinels);
    const servers = [];
    const group = {
        dir, servers, primary: null, replicas: [], sentinels: [], sentinelAddresses: [],
        masterName: MASTER_NAME,
    };

    const spawnServer = (srv) => {
        const args = srv.sentinel
            ? [srv.conf, '--sentinel']
            : [ownConfig(srv.dir), '--port', String(srv.port),
               '--dir', srv.dir, '--daemonize', 'no', '--logfile', '',
               '--pidfile', path.join(srv.dir, 'redis.pid'),
               ...(srv.replicaOf ? ['--replicaof', '127.0.0.1', String(srv.replicaOf)] : [])];
        srv.proc = spawnLogged(srv.name, 'redis-server', args, { stdout: srv.log, stderr: srv.log });
    };
    const waitUp = (srv) => poll(() => redisPing(srv.port), {
        timeoutMs: START_TIMEOUT_MS,
        what: `${srv.name} on port ${srv.port}`,
        check: () => {
            if (!running(srv.proc))
                throw new Error(`${srv.name} exited: ${fs.readFileSync(srv.log, 'utf8').slice(-2000)}`);
        },
    });
    const server = (name, port, extra = {}) => {
        const srv = { name, port, dir: path.join(dir, name), log: path.join(dir, `${name}.log`),
                      ...extra };
        fs.mkdirSync(srv.dir);
        servers.push(srv);
        return srv;
    };

    group.kill = async (srv) => {
        process.kill(srv.proc.pid, 'SIGKILL');
        await srv.proc.exited;
    };
    group.restart = async (srv) => {
        if (running(srv.proc))
            throw new Error(`${srv.name} is running`);
        spawnServer(srv);
        await waitUp(srv);
    };
    group.stop = async () => {
        for (const srv of servers.slice().reverse())
            if (srv.proc)
                await terminate(srv.proc, 5000);
        removeDir(dir);
    };
    group.log = (srv) => fs.readFileSync(srv.log, 'utf8');

    try {
        group.primary = server('redis-a', ports[0]);
        spawnServer(group.primary);
        await waitUp(group.primary);
        for (let i = 0; i < replicas; i++) {
            const r = server(`redis-${String.fromCharCode(98 + i)}`, ports[1 + i],
                             { replicaOf: ports[0] });
            group.replicas.push(r);
            spawnServer(r);
            await waitUp(r);
        }
        for (const r of group.replicas)
            await poll(async () => {
                const info = await replication(r.port);
                return info !== null && info.master_link_status === 'up';
            }, { timeoutMs: START_TIMEOUT_MS, what: `${r.name} replicating` });
        for (let i = 0; i < sentinels; i++) {
            const s = server(`sentinel-${i + 1}`, ports[1 + replicas + i], { sentinel: true });
            s.conf = path.join(s.dir, 'sentinel.conf');
            fs.writeFileSync(s.conf, [
                `port ${s.port}`,
                'bind 127.0.0.1',
                'daemonize no',
                'logfile ""',
                `dir ${s.dir}`,
                `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${ports[0]} 2`,
                `sentinel down-after-milliseconds ${MASTER_NAME} ${downAfterMs}`,
                `sentinel failover-timeout ${MASTER_NAME} ${failoverTimeoutMs}`,
                `sentinel parallel-syncs ${MASTER_NAME} 1`,
                '',
            ].join('\n'));
            group.sentinels.push(s);
            group.sentinelAddresses.push(`127.0.0.1:${s.port}`);
            spawnServer(s);
            await waitUp(s);
        }
        for (const s of group.sentinels)
            await poll(async () => {
                const reps = await ask(s.port, 'SENTINEL', 'replicas', MASTER_NAME);
                const sens = await ask(s.port, 'SENTINEL', 'sentinels', MASTER_NAME);
                return Array.isArray(reps) && reps.length === replicas &&
                    Array.isArray(sens) && sens.length === sentinels - 1;
            }, { timeoutMs: 20000, intervalMs: 100,
                 what: `${s.name} knowing ${replicas} replica(s) and ${sentinels - 1} sentinel(s)` });
    } catch (e) {
        await group.stop().catch(() => {});
        throw e;
    }
    return group;
}

/*
 * A fake sentinel: a RESP server on a free loopback port that answers
 * SENTINEL get-master-addr-by-name with whatever setPrimary(port) said last
 * (PING with PONG, anything else with an error), and counts the questions.
 */
async function startFakeSentinel() {
    const [port] = await freePorts(1);
    let primary = null;
    let asked = 0;
    const sockets = new Set();
    const srv = net.createServer((sock) => {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => {});
        // consentd (hiredis) asks in RESP, an array of bulk strings per
        // command: the same grammar as a reply, so a reply parser reads it.
        const parser = new RedisParser({
            returnError: () => sock.destroy(),
            returnFatalError: () => sock.destroy(),
            returnReply: (value) => {
                const args = (Array.isArray(value) ? value : []).map(String);
                const cmd = args.map((a) => a.toLowerCase());
                if (cmd[0] === 'ping') {
                    sock.write('+PONG\r\n');
                } else if (cmd[0] === 'sentinel' && cmd[1] === 'get-master-addr-by-name' &&
                           args[2] === MASTER_NAME) {
                    asked++;
                    const p = String(primary);
                    sock.write(primary === null ? '*-1\r\n'
                        : `*2\r\n$9\r\n127.0.0.1\r\n$${p.length}\r\n${p}\r\n`);
                } else {
                    sock.write('-ERR the fake sentinel knows no such command\r\n');
                }
            },
        });
        sock.on('data', (d) => parser.execute(d));
    });
    await new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, '127.0.0.1', resolve);
    });
    return {
        port,
        address: `127.0.0.1:${port}`,
        setPrimary: (p) => { primary = p; },
        asked: () => asked,
        close: () => new Promise((resolve) => {
            for (const s of sockets)
                s.destroy();
            srv.close(() => resolve());
        }),
    };
}

/* Starts one plain redis-server (the shipped config) in dir; a replica of
 * replicaOf when given; args are more configuration on the command line.
 * Resolves to { name, port, proc, log }. */
async function startServer(dir, name, { replicaOf, args = [] } = {}) {
    const [port] = await freePorts(1);
    const srv = { name, port, dir: path.join(dir, name), log: path.join(dir, `${name}.log`) };
    fs.mkdirSync(srv.dir);
    srv.proc = spawnLogged(name, 'redis-server', [
        ownConfig(srv.dir), '--port', String(port), '--dir', srv.dir,
        '--daemonize', 'no', '--logfile', '', '--pidfile', path.join(srv.dir, 'redis.pid'),
        ...(replicaOf ? ['--replicaof', '127.0.0.1', String(replicaOf)] : []),
        ...args,
    ], { stdout: srv.log, stderr: srv.log });
    // A server that wants a password answers PING with -NOAUTH: up all the same.
    try {
        await poll(async () => await redisPing(port) || Boolean(await ask(port, 'PING')),
                   { timeoutMs: START_TIMEOUT_MS, what: `${name} on ${port}` });
    } catch (e) {
        await terminate(srv.proc, 5000);    // no caller knows of it yet: stop it here
        throw e;
    }
    return srv;
}

module.exports = {
    MASTER_NAME, ask, askFields, replication, sentinelPrimary, sleep, startFakeSentinel, startGroup,
    startServer,
};
