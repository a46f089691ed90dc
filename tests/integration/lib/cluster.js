'use strict';
/*
 * cluster.js - a real Redis Cluster for the integration tests: `primaries`
 * primaries with `replicasPer` replicas each (redis-server
 * --cluster-enabled yes, then redis-cli --cluster create), on free loopback
 * ports in one temporary folder, stopped by the PIDs of the processes this
 * file started (never by name).
 *
 *   const cluster = await startCluster({ primaries: 3, replicasPer: 1 });
 *   cluster.seeds                      // ["127.0.0.1:P", ...] for redis.cluster
 *   await cluster.primaryOf(key)       // the node serving key's slot now
 *   await cluster.kill(node); await cluster.restart(node);
 *   const c = cluster.client(); await c.cmd('HGETALL', key); c.close();
 *   await cluster.stop();
 *
 * Servers run the shipped redis/redis.conf (AOF, everysec, noeviction) with
 * the cluster settings the README's "Running at scale" recommends.
 */
const fs = require('node:fs');
const path = require('node:path');

const {
    ROOT, freePorts, makeTempDir, poll, redisPing, removeDir, runCommand, spawnLogged, terminate,
} = require('./stack');
const { Redis } = require('./redis');
const { ask, askFields } = require('./replicas');

const START_TIMEOUT_MS = 20000;

/* CLUSTER INFO of the node on port as { field: value }, or null. */
const clusterInfo = (port) => askFields(port, 'CLUSTER', 'INFO');

/*
 * A client that follows MOVED and ASK (for checks made by the tests, not
 * for speed): each command goes to the node that last served its key's
 * slot, else to any live node.
 */
class ClusterClient {
    constructor(cluster) {
        this.cluster = cluster;
        this.conns = new Map();     // port -> Redis
    }

    async conn(port) {
        if (!this.conns.has(port))
            this.conns.set(port, await Redis.connect(port));
        return this.conns.get(port);
    }

    async cmd(...args) {
        const live = this.cluster.nodes.filter((n) => n.up).map((n) => n.port);
        let port = live[0];
        let asking = false;
        for (let hop = 0; hop < 8; hop++) {
            const c = await this.conn(port);
            try {
                if (asking)
                    await c.cmd('ASKING');
                return await c.cmd(...args);
            } catch (e) {
                const m = /^(MOVED|ASK) \d+ [^:]+:(\d+)/.exec(e.message);
                if (!m)
                    throw e;
                port = Number(m[2]);
                asking = m[1] === 'ASK';
            }
        }
        throw new Error(`${args[0]}: more than 8 redirections`);
    }

    close() {
        for (const c of this.conns.values())
            c.close();
        this.conns.clear();
    }
}

async function startCluster({ primaries = 3, replicasPer = 1, nodeTimeoutMs = 1000 } = {}) {
    const dir = makeTempDir();
    const total = primaries * (1 + replicasPer);
    const ports = await freePorts(total);
    const nodes = ports.map((port, i) => ({
        name: `node-${i + 1}`, port, dir: path.join(dir, `node-${i + 1}`),
        log: path.join(dir, `node-${i + 1}.log`), proc: null, up: false,
    }));
    const conf = path.join(dir, 'redis.conf');
    fs.copyFileSync(path.join(ROOT, 'redis', 'redis.conf'), conf);

    const spawnNode = async (n) => {
        fs.mkdirSync(n.dir, { recursive: true });
        n.proc = spawnLogged(n.name, 'redis-server', [
            conf, '--port', String(n.port), '--dir', n.dir, '--daemonize', 'no',
            '--logfile', '', '--pidfile', path.join(n.dir, 'redis.pid'),
            '--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf',
            '--cluster-node-timeout', String(nodeTimeoutMs),
            // The slots of the other primaries keep answering while one
            // primary is down (README, "Running at scale").
            '--cluster-require-full-coverage', 'no',
        ], { stdout: n.log, stderr: n.log });
        await poll(() => redisPing(n.port), { timeoutMs: START_TIMEOUT_MS, what: `${n.name} on ${n.port}` });
        n.up = true;
    };

    const cluster = {
        dir, nodes,
        seeds: nodes.slice(0, primaries).map((n) => `127.0.0.1:${n.port}`),
        client() {
            return new ClusterClient(cluster);
        },
        /* The node that serves slot `slot` now, per a live node's CLUSTER SLOTS. */
        async primaryOfSlot(slot) {
            for (const n of nodes.filter((x) => x.up)) {
                const slots = await ask(n.port, 'CLUSTER', 'SLOTS');
                if (!Array.isArray(slots))
                    continue;
                for (const [first, last, [, port]] of slots)
                    if (slot >= first && slot <= last)
                        return nodes.find((x) => x.port === Number(port));
            }
            return null;
        },
        async slotOf(key) {
            const live = nodes.find((x) => x.up);
            return Number(await ask(live.port, 'CLUSTER', 'KEYSLOT', key));
        },
        async primaryOf(key) {
            return cluster.primaryOfSlot(await cluster.slotOf(key));
        },
        async role(n) {
            const r = await ask(n.port, 'ROLE');
            return Array.isArray(r) ? r[0].toString() : null;
        },
        async nodeId(n) {
            return (await ask(n.port, 'CLUSTER', 'MYID')).toString();
        },
        /* Every node answers cluster_state:ok and knows all 16384 slots. */
        async healthy() {
            for (const n of nodes.filter((x) => x.up)) {
                const info = await clusterInfo(n.port);
                if (!info || info.cluster_state !== 'ok' || info.cluster_slots_ok !== '16384')
                    return false;
            }
            return true;
        },
        async kill(n) {
            n.up = false;
            process.kill(n.proc.pid, 'SIGKILL');
            await n.proc.exited;
        },
        async restart(n) {
            await spawnNode(n);
        },
        async stop() {
            for (const n of nodes)
                await terminate(n.proc);
            removeDir(dir);
        },
    };

    try {
        for (const n of nodes)
            await spawnNode(n);
        const r = await runCommand('redis-cli', [
            '--cluster', 'create', ...nodes.map((n) => `127.0.0.1:${n.port}`),
            '--cluster-replicas', String(replicasPer), '--cluster-yes',
        ], { timeoutMs: 30000 });
        if (r.code !== 0)
            throw new Error(`redis-cli --cluster create: ${r.stdout}\n${r.stderr}`);
        await poll(() => cluster.healthy(), { timeoutMs: START_TIMEOUT_MS, intervalMs: 100,
                                               what: 'the cluster to be ok on every node' });
        // Every replica linked to its primary, so that WAIT and failover work.
        await poll(async () => {
            let linked = 0;
            for (const n of nodes) {
                const r2 = await ask(n.port, 'ROLE');
                if (Array.isArray(r2) && r2[0].toString() === 'slave' &&
                    r2[3].toString() === 'connected')
                    linked++;
            }
            return linked === primaries * replicasPer;
        }, { timeoutMs: START_TIMEOUT_MS, intervalMs: 100, what: 'every replica linked' });
    } catch (e) {
        await cluster.stop();
        throw e;
    }
    return cluster;
}

module.exports = { ClusterClient, ask, clusterInfo, startCluster };
