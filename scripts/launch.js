'use strict';
/*
 * launch.js - the one way this repository starts its stack: redis-server,
 * consentd and nginx (nginx/local.conf.in around the shipped
 * nginx/consent.conf, consent-http.conf and consent-limits.conf) on
 * 127.0.0.1, each process stopped by its PID, never by name.
 *
 * Used by `make run` / `make stop` (scripts/stack.sh), `make bench`
 * (bench/run.sh) through the command line below, and by the test harness
 * (tests/integration/lib/stack.js) as a module. Why one launcher: three
 * copies had drifted (one waited for a PING, one for a port, one for
 * nothing; one left the rate limits out); now each server starts and is
 * waited for one way.
 *
 * Two lifetimes:
 * - in-process (the tests): a server is a child of this node process, in a
 *   process group of its own; terminate() stops it, and whatever is still
 *   running when the process ends is killed with its group (nginx's
 *   worker, a redis-server AOF rewrite), so a test that dies leaves nothing.
 * - kept (the command line, `keep: true`): the server outlives this process;
 *   its PID is recorded in DIR/NAME.pid and `stop` reads it back, checks that
 *   the process still runs the program it started (a PID can be reused) and
 *   stops it.
 *
 * Command line (all servers on 127.0.0.1; NAME is redis*, consentd* or nginx):
 *   node scripts/launch.js ports N
 *       prints N free loopback ports
 *   node scripts/launch.js start --dir DIR --config FILE [--port N]
 *       [--consentd BIN] [--limits FILE] [--keepalive N]
 *       [--http-extra TEXT] [--server-extra TEXT] [--demo-visits]
 *       redis-server on the port of the config's redis.address (data in
 *       DIR/redis), consentd -c FILE (its listen address), nginx on --port
 *       (default: a free one; printed) with DIR as its prefix; waits until
 *       consentd answers /consent/v1/health through nginx. --demo-visits adds
 *       nginx/demo-visits.conf.in (make run only: fixed ports 8081-8090).
 *   node scripts/launch.js redis --dir DIR --port N [--name NAME] [-- ARGS]
 *   node scripts/launch.js consentd --dir DIR --config FILE [--name NAME]
 *       [--consentd BIN]
 *       one more server (waits for PING / for the listen port)
 *   node scripts/launch.js stop --dir DIR [NAME...]
 *       stops the named servers (default: every DIR/*.pid this launcher
 *       wrote), nginx first, redis last; SIGKILL after 10 s
 *
 * No dependencies outside Node itself (Node 18 and 20).
 */
const { spawn } = require('node:child_process');
const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const STOP_TIMEOUT_MS = 10000;
const START_TIMEOUT_MS = 15000;
/* What each NAME of a kept server must be running (argv[0]'s basename, or
 * the title it gives itself: "redis-server 127.0.0.1:6391", "nginx: master
 * process ..."). */
const PROGRAMS = [['redis', 'redis-server'], ['consentd', 'consentd'], ['nginx', 'nginx']];

/* ---- the safety net: children still running when this process ends ---- */

const liveChildren = new Set();
let netInstalled = false;

/* SIGKILL child's process group (every server leads one: spawned detached),
 * or child alone when it leads none. */
function killGroup(child, leader = true) {
    try {
        if (!leader || !(child.pid > 0))
            throw new Error('not a group leader');
        process.kill(-child.pid, 'SIGKILL');
    } catch (_) {
        try {
            child.kill('SIGKILL');
        } catch (_e) {
            /* already gone */
        }
    }
}

/* Kills child (and its group when leader) if this process ends first;
 * returns the function that takes it off the list. */
function watchChild(child, leader = false) {
    if (!netInstalled) {
        netInstalled = true;
        process.on('exit', () => {
            for (const [c, isLeader] of liveChildren)
                killGroup(c, isLeader);
            liveChildren.clear();
        });
        for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
            process.once(sig, () => {
                for (const [c, isLeader] of liveChildren)
                    killGroup(c, isLeader);
                liveChildren.clear();
                process.kill(process.pid, sig);     // default action, now unhandled
            });
        }
    }
    const entry = [child, leader];
    liveChildren.add(entry);
    return () => liveChildren.delete(entry);
}

/* ---- small helpers ---- */

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function readText(file) {
    try {
        return fs.readFileSync(file, 'utf8');
    } catch (_) {
        return '';
    }
}

function tail(text, lines = 30) {
    return text.split('\n').slice(-lines).join('\n');
}

const usedPorts = new Set();

/* n distinct free TCP ports on 127.0.0.1 (bound to port 0, read, closed),
 * never one this process handed out before. */
async function freePorts(n) {
    const ports = [];
    const servers = [];
    try {
        while (ports.length < n) {
            const srv = net.createServer();
            await new Promise((resolve, reject) => {
                srv.once('error', reject);
                srv.listen(0, '127.0.0.1', resolve);
            });
            servers.push(srv);
            const { port } = srv.address();
            if (!usedPorts.has(port)) {
                usedPorts.add(port);
                ports.push(port);
            }
        }
    } finally {
        await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    }
    return ports;
}

/* Polls fn() until it returns a truthy value, or throws after timeoutMs.
 * check() runs first on each round and may throw to give up early. */
async function poll(fn, { timeoutMs = 5000, intervalMs = 50, what = 'condition', check } = {}) {
    const deadline = Date.now() + timeoutMs;
    let last;
    for (;;) {
        if (check)
            check();
        try {
            last = await fn();
            if (last)
                return last;
        } catch (e) {
            last = e;
        }
        if (Date.now() >= deadline)
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}` +
                            (last instanceof Error ? `: ${last.message}` : ''));
        await sleep(intervalMs);
    }
}

/* Resolves true when something accepts a TCP connection on 127.0.0.1:port. */
function tcpOpen(port, timeoutMs = 1000) {
    return new Promise((resolve) => {
        const sock = net.connect({ host: '127.0.0.1', port });
        const finish = (ok) => {
            sock.destroy();
            resolve(ok);
        };
        sock.setTimeout(timeoutMs, () => finish(false));
        sock.once('error', () => finish(false));
        sock.once('connect', () => finish(true));
    });
}

/* Resolves true when redis answers PING with +PONG. */
function redisPing(port, timeoutMs = 1000) {
    return new Promise((resolve) => {
        const sock = net.connect({ host: '127.0.0.1', port });
        let buf = '';
        const finish = (ok) => {
            sock.destroy();
            resolve(ok);
        };
        sock.setTimeout(timeoutMs, () => finish(false));
        sock.once('error', () => finish(false));
        sock.once('connect', () => sock.write('PING\r\n'));
        sock.on('data', (d) => {
            buf += d.toString('latin1');
            if (buf.includes('\r\n'))
                finish(buf.startsWith('+PONG'));
        });
        sock.once('end', () => finish(false));
    });
}

/* Resolves true when GET /consent/v1/health on nginx's port is answered by
 * consentd itself (JSON, 200 or 503), not nginx's 502 while consentd is
 * still starting. */
function healthAnswered(port, timeoutMs = 2000) {
    return new Promise((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/consent/v1/health', agent: false,
                               headers: { Connection: 'close' } }, (res) => {
            let text = '';
            res.setEncoding('utf8');
            res.on('data', (d) => { text += d; });
            res.on('error', () => resolve(false));
            res.on('end', () => {
                try {
                    JSON.parse(text);
                    resolve(res.statusCode === 200 || res.statusCode === 503);
                } catch (_) {
                    resolve(false);
                }
            });
        });
        req.setTimeout(timeoutMs, () => req.destroy());
        req.on('error', () => resolve(false));
    });
}

/* The port of "HOST:PORT" (an address in consentd's configuration). */
function portOf(address, what) {
    const m = /:(\d+)$/.exec(String(address));
    if (!m)
        throw new Error(`${what}: expected HOST:PORT, got ${JSON.stringify(address)}`);
    return Number(m[1]);
}

/* ---- child processes ---- */

/*
 * Spawns cmd as the leader of its own process group with stdout/stderr
 * appended to files (stderr defaults to stdout's file). Returns a handle
 * { name, child, pid, result, exited } whose `exited` resolves to
 * { code, signal } (result is null while it runs). keep: the child may
 * outlive this process (not killed at exit, not holding the event loop).
 */
function spawnLogged(name, cmd, args, { stdout, stderr = stdout, env, cwd, keep = false } = {}) {
    const out = fs.openSync(stdout, 'a');
    const err = stderr === stdout ? out : fs.openSync(stderr, 'a');
    let child;
    try {
        child = spawn(cmd, args, {
            cwd: cwd || ROOT,
            env: env || process.env,
            stdio: ['ignore', out, err],
            detached: true,
        });
    } finally {
        fs.closeSync(out);
        if (err !== out)
            fs.closeSync(err);
    }
    const proc = { name, child, pid: child.pid, result: null };
    const unwatch = keep ? () => {} : watchChild(child, true);
    if (keep)
        child.unref();
    proc.exited = new Promise((resolve) => {
        const done = (code, signal) => {
            unwatch();
            if (proc.result === null)
                proc.result = { code, signal };
            resolve(proc.result);
        };
        child.once('exit', done);
        child.once('error', (e) => {
            proc.result = { code: null, signal: null, error: e };
            done(null, null);
        });
    });
    return proc;
}

function running(proc) {
    return proc !== null && proc.result === null;
}

/* SIGTERM, wait up to timeoutMs, then SIGKILL its process group. Resolves
 * to { code, signal, killed } (killed: the SIGKILL was needed), or null for
 * no process. */
async function terminate(proc, timeoutMs = STOP_TIMEOUT_MS) {
    if (proc === null)
        return null;
    if (!running(proc))
        return { ...proc.result, killed: false };
    proc.child.kill('SIGTERM');
    let timer;
    const timeout = new Promise((resolve) => {
        timer = setTimeout(() => resolve(null), timeoutMs);
    });
    let r = await Promise.race([proc.exited, timeout]);
    clearTimeout(timer);
    if (r !== null)
        return { ...r, killed: false };
    killGroup(proc.child);
    r = await proc.exited;
    return { ...r, killed: true };
}

/* Runs a command to completion (consentd --check, consentctl, start-up
 * failures). Resolves to { code, signal, stdout, stderr, timedOut }. */
function runCommand(cmd, args, { env, timeoutMs = 10000, cwd } = {}) {
    return new Promise((resolve) => {
        const child = spawn(cmd, args, {
            cwd: cwd || ROOT,
            env: env || process.env,
            stdio: ['ignore', 'pipe', 'pipe'],
        });
        const unwatch = watchChild(child);
        let stdout = '';
        let stderr = '';
        let timedOut = false;
        child.stdout.setEncoding('utf8');
        child.stderr.setEncoding('utf8');
        child.stdout.on('data', (d) => { stdout += d; });
        child.stderr.on('data', (d) => { stderr += d; });
        const timer = setTimeout(() => {
            timedOut = true;
            child.kill('SIGTERM');
            setTimeout(() => child.kill('SIGKILL'), 5000).unref();
        }, timeoutMs);
        child.once('error', (e) => {
            clearTimeout(timer);
            unwatch();
            resolve({ code: null, signal: null, stdout, stderr: stderr + String(e), timedOut });
        });
        child.once('close', (code, signal) => {
            clearTimeout(timer);
            unwatch();
            resolve({ code, signal, stdout, stderr, timedOut });
        });
    });
}

/* Throws when proc has exited (a start-up failure), with its log's tail. */
function assertRunning(proc, log) {
    if (!running(proc))
        throw new Error(`${proc.name} exited during start-up (${JSON.stringify(proc.result)})` +
                        (log ? `:\n${tail(readText(log))}` : ''));
}

/* ---- the three servers ---- */

/*
 * redis-server on 127.0.0.1:port with redis/redis.conf, data in DIR/NAME,
 * log (stdout) DIR/NAME.log unless log is given, extra arguments after the
 * port. Resolves to its handle once it answers PING.
 */
async function startRedis({ dir, port, name = 'redis', args = [], log, keep = false }) {
    const data = path.join(dir, name);
    fs.mkdirSync(data, { recursive: true });
    const logFile = log || path.join(dir, `${name}.log`);
    const proc = spawnLogged(name, 'redis-server', [
        path.join(ROOT, 'redis', 'redis.conf'),
        '--port', String(port),
        '--dir', data,
        '--pidfile', path.join(dir, `${name}.pid`),
        '--daemonize', 'no',
        '--logfile', '',
        ...args,
    ], { stdout: logFile, keep });
    try {
        await poll(() => redisPing(port), {
            timeoutMs: START_TIMEOUT_MS,
            what: `${name} (redis-server) on port ${port}`,
            check: () => assertRunning(proc, logFile),
        });
    } catch (e) {
        await terminate(proc);
        throw e;
    }
    return proc;
}

/* The consentd binary: $CONSENTD (relative to the current directory) or
 * build/asan/consentd, the tests' build. */
function consentdBinary() {
    return process.env.CONSENTD
        ? path.resolve(process.cwd(), process.env.CONSENTD)
        : path.join(ROOT, 'build', 'asan', 'consentd');
}

/*
 * `consentd -c config`, stderr to log (stdout to the same file unless
 * stdout is given), env added to process.env. Resolves to its handle once
 * its FastCGI port (the config's listen, unless port is given) accepts
 * connections; nginx starts after that, because a connection refused while
 * consentd starts would make nginx leave that server out for fail_timeout.
 */
async function startConsentd({ config, log, stdout = log, env, port, name = 'consentd',
                               binary = consentdBinary(), keep = false }) {
    const listen = port || portOf(JSON.parse(fs.readFileSync(config, 'utf8')).listen,
                                  `${config}: listen`);
    const proc = spawnLogged(name, binary, ['-c', config], {
        stdout, stderr: log, keep, env: { ...process.env, ...(env || {}) },
    });
    try {
        await poll(() => tcpOpen(listen), {
            timeoutMs: START_TIMEOUT_MS,
            what: `${name} on FastCGI port ${listen}`,
            check: () => assertRunning(proc, keep ? log : null),
        });
    } catch (e) {
        await terminate(proc);
        throw e;
    }
    return proc;
}

/* The `server` lines of `upstream consentd` for these FastCGI ports, as
 * nginx/consent-http.conf recommends: one per consentd and, when there are
 * several, each again as a `backup` with max_fails=0, which nginx tries when
 * it has marked every server above failed (instead of answering 502).
 * serverExtra: parameters for the first lines; backups: false leaves the
 * backup lines out. The template's `server ` is the first line's start. */
function upstreamServers(ports, { serverExtra = '', backups = true } = {}) {
    const lines = ports.map((p) => `127.0.0.1:${p}${serverExtra}`);
    if (ports.length > 1 && backups)
        lines.push(...ports.map((p) => `127.0.0.1:${p} backup max_fails=0`));
    return lines.join(';\n        server ');
}

/*
 * nginx/local.conf.in for a stack under dir listening on 127.0.0.1:port:
 * the shipped snippet, consent-http.conf, the rate limits (limits: another
 * file with the same zones, as bench/limits.conf), `upstream consentd` with
 * fastcgiPorts (see upstreamServers) and `keepalive`, and extra directives
 * at the http level (httpExtra) and in the server (serverExtra).
 */
function nginxConfig({ dir, port, fastcgiPorts, serverParams = '', backups = true,
                       keepalive = 16, limits = path.join(ROOT, 'nginx', 'consent-limits.conf'),
                       httpExtra = '', serverExtra = '' }) {
    const userLine = typeof process.getuid === 'function' && process.getuid() === 0
        ? 'user root;' : '';
    const values = {
        RUN: dir,
        ROOT,
        PORT: String(port),
        FASTCGI: upstreamServers(fastcgiPorts, { serverExtra: serverParams, backups }),
        KEEPALIVE: String(keepalive),
        LIMITS: path.resolve(limits),
        USER_LINE: userLine,
        HTTP_EXTRA: httpExtra,
        SERVER_EXTRA: serverExtra,
    };
    return readText(path.join(ROOT, 'nginx', 'local.conf.in'))
        .replace(/@([A-Z_]+)@/g, (m, key) => (key in values ? values[key] : m));
}

/* nginx/demo-visits.conf.in for make run's server on port (what
 * --demo-visits includes at the http level). */
function demoVisitsConfig(port) {
    return readText(path.join(ROOT, 'nginx', 'demo-visits.conf.in')).split('@PORT@').join(String(port));
}

/*
 * nginx with DIR as its prefix and the configuration conf (daemon off: the
 * handle is the master), stderr to DIR/nginx-error.log. Resolves to its
 * handle once consentd answers health through it on port. others: handles
 * whose exit during the wait is a start-up failure (the consentd behind it).
 */
async function startNginx({ dir, conf, port, others = [], keep = false }) {
    fs.mkdirSync(path.join(dir, 'nginx-tmp'), { recursive: true });
    const errorLog = path.join(dir, 'nginx-error.log');
    const proc = spawnLogged('nginx', 'nginx',
                             ['-p', dir, '-c', conf, '-e', errorLog, '-g', 'daemon off;'],
                             { stdout: path.join(dir, 'nginx.stdout.log'), stderr: errorLog, keep });
    try {
        await poll(() => healthAnswered(port), {
            timeoutMs: START_TIMEOUT_MS,
            what: `consentd health through nginx on port ${port}`,
            check: () => {
                for (const p of [proc, ...others])
                    assertRunning(p, p === proc ? errorLog : null);
            },
        });
    } catch (e) {
        await terminate(proc);
        throw e;
    }
    return proc;
}

/* Writes a 32-byte key as 64 hex digits, mode 0600 (what `consentd
 * --new-key` writes: a signing key's seed, the cookie secret) to file
 * unless it exists; returns the hex. */
function writeKey(file, hex = crypto.randomBytes(32).toString('hex')) {
    if (fs.existsSync(file))
        return fs.readFileSync(file, 'utf8').trim();
    fs.writeFileSync(file, hex + '\n', { mode: 0o600, flag: 'wx' });
    return hex;
}

function exampleConfig() {
    return JSON.parse(readText(path.join(ROOT, 'cgi', 'consentd.example.json')));
}

/*
 * cgi/consentd.example.json made to run outside the tree: consentd on
 * 127.0.0.1:fastcgiPort, Redis at 127.0.0.1:redisPort, geoip as given
 * ({ database, layout }), absolute paths for the rules and texts, and, when
 * dir is given, fresh keys in DIR/signing.key (signingKey: its 64 hex
 * digits) and DIR/cookie.key; without dir, the example's key paths made
 * absolute. Ports not given are placeholders (for --check). The tests and
 * make bench change what they need on top.
 */
function consentdConfig({ fastcgiPort = 1, redisPort = 1, geoip, dir, signingKey } = {}) {
    const cfg = exampleConfig();
    cfg.listen = `127.0.0.1:${fastcgiPort}`;
    if (geoip)
        cfg.geoip = geoip;
    cfg.rules = path.join(ROOT, 'geo', 'rules.json');
    if (typeof cfg.texts === 'string')
        cfg.texts = path.resolve(ROOT, 'cgi', cfg.texts);
    cfg.redis = { ...cfg.redis, address: `127.0.0.1:${redisPort}` };
    if (typeof cfg.signing_key === 'string') {
        if (dir !== undefined) {
            cfg.signing_key = path.join(dir, 'signing.key');
            writeKey(cfg.signing_key, signingKey);
            cfg.cookie.secret = path.join(dir, 'cookie.key');
            writeKey(cfg.cookie.secret);
        } else {
            cfg.signing_key = path.resolve(ROOT, 'cgi', cfg.signing_key);
            cfg.cookie.secret = path.resolve(ROOT, 'cgi', cfg.cookie.secret);
        }
    }
    return cfg;
}

/* ---- kept servers: PID files ---- */

function programOf(name) {
    const hit = PROGRAMS.find(([prefix]) => name.startsWith(prefix));
    if (!hit)
        throw new Error(`unknown server name ${name} (redis*, consentd* or nginx)`);
    return hit[1];
}

/* The PID in DIR/NAME.pid when that process is alive (not a zombie) and
 * runs NAME's program; else null. */
function recordedPid(dir, name) {
    const pid = Number(readText(path.join(dir, `${name}.pid`)).trim());
    if (!(pid > 0))
        return null;
    const stat = readText(`/proc/${pid}/stat`);
    const argv0 = readText(`/proc/${pid}/cmdline`).split('\0')[0];
    if (stat === '' || / Z /.test(stat.slice(stat.lastIndexOf(')'))))
        return null;
    return path.basename(argv0).startsWith(programOf(name)) ? pid : null;
}

function recordPid(dir, proc) {
    fs.writeFileSync(path.join(dir, `${proc.name}.pid`), `${proc.pid}\n`);
}

/* SIGTERM the recorded server, up to 10 s, then SIGKILL its group; removes
 * the PID file. Resolves to the PID stopped, or null when none ran. */
async function stopRecorded(dir, name) {
    const pid = recordedPid(dir, name);
    if (pid !== null) {
        try {
            process.kill(pid, 'SIGTERM');
        } catch (_) {
            /* ended since */
        }
        const deadline = Date.now() + STOP_TIMEOUT_MS;
        while (recordedPid(dir, name) === pid && Date.now() < deadline)
            await sleep(50);
        if (recordedPid(dir, name) === pid) {
            process.stderr.write(`${name} (${pid}) did not stop; sending SIGKILL\n`);
            try {
                process.kill(-pid, 'SIGKILL');
            } catch (_) {
                process.kill(pid, 'SIGKILL');
            }
        }
    }
    fs.rmSync(path.join(dir, `${name}.pid`), { force: true });
    return pid;
}

/* ---- command line ---- */

function parseArgs(argv) {
    const opts = { _: [], rest: [] };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--') {
            opts.rest = argv.slice(i + 1);
            break;
        }
        if (!a.startsWith('--')) {
            opts._.push(a);
        } else if (a === '--demo-visits') {
            opts.demoVisits = true;
        } else {
            if (i + 1 >= argv.length)
                throw new Error(`${a} needs a value`);
            opts[a.slice(2).replace(/-([a-z])/g, (m, c) => c.toUpperCase())] = argv[++i];
        }
    }
    return opts;
}

function need(opts, key) {
    if (opts[key] === undefined)
        throw new Error(`--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)} is required`);
    return opts[key];
}

async function cliStart(opts) {
    const dir = path.resolve(need(opts, 'dir'));
    const config = path.resolve(need(opts, 'config'));
    const cfg = JSON.parse(readText(config));
    const binary = opts.consentd ? path.resolve(opts.consentd) : consentdBinary();
    const port = opts.port ? Number(opts.port) : (await freePorts(1))[0];
    for (const name of ['nginx', 'consentd', 'redis'])
        if (recordedPid(dir, name) !== null)
            throw new Error(`${name} from ${dir} is already running; stop it first`);
    fs.mkdirSync(dir, { recursive: true });
    let httpExtra = opts.httpExtra || '';
    if (opts.demoVisits) {
        fs.writeFileSync(path.join(dir, 'demo-visits.conf'), demoVisitsConfig(port));
        httpExtra += `\n    include ${path.join(dir, 'demo-visits.conf')};`;
    }
    const conf = path.join(dir, 'nginx.conf');
    fs.writeFileSync(conf, nginxConfig({
        dir, port, fastcgiPorts: [portOf(cfg.listen, `${config}: listen`)],
        keepalive: opts.keepalive ? Number(opts.keepalive) : undefined,
        limits: opts.limits, httpExtra, serverExtra: opts.serverExtra || '',
    }));
    const started = [];
    try {
        started.push(await startRedis({
            dir, port: portOf(cfg.redis && cfg.redis.address, `${config}: redis.address`), keep: true,
        }));
        recordPid(dir, started[0]);
        started.push(await startConsentd({ config, log: path.join(dir, 'consentd.log'), binary,
                                           keep: true }));
        recordPid(dir, started[1]);
        started.push(await startNginx({ dir, conf, port, others: [started[1]], keep: true }));
        recordPid(dir, started[2]);
    } catch (e) {
        for (const proc of started.reverse()) {
            await terminate(proc);
            fs.rmSync(path.join(dir, `${proc.name}.pid`), { force: true });
        }
        throw e;
    }
    process.stdout.write(`${port}\n`);
}

async function cliMain(argv) {
    const [command, ...rest] = argv;
    const opts = parseArgs(rest);
    switch (command) {
    case 'ports':
        process.stdout.write(`${(await freePorts(Number(opts._[0]) || 1)).join(' ')}\n`);
        return;
    case 'start':
        await cliStart(opts);
        return;
    case 'redis': {
        const dir = path.resolve(need(opts, 'dir'));
        const proc = await startRedis({ dir, port: Number(need(opts, 'port')), name: opts.name,
                                        args: opts.rest, keep: true });
        recordPid(dir, proc);
        return;
    }
    case 'consentd': {
        const dir = path.resolve(need(opts, 'dir'));
        const name = opts.name || 'consentd';
        const proc = await startConsentd({
            config: path.resolve(need(opts, 'config')), log: path.join(dir, `${name}.log`), name,
            binary: opts.consentd ? path.resolve(opts.consentd) : consentdBinary(), keep: true,
        });
        recordPid(dir, proc);
        return;
    }
    case 'stop': {
        const dir = path.resolve(need(opts, 'dir'));
        const rank = (n) => PROGRAMS.findIndex(([prefix]) => n.startsWith(prefix));
        const names = opts._.length > 0 ? opts._
            : (fs.existsSync(dir) ? fs.readdirSync(dir) : [])
                .filter((f) => f.endsWith('.pid')).map((f) => f.slice(0, -4))
                .filter((n) => rank(n) >= 0)
                .sort((a, b) => rank(b) - rank(a));     // nginx, consentd, redis
        for (const name of names) {
            const pid = await stopRecorded(dir, name);
            if (pid !== null)
                process.stdout.write(`stopped ${name} (${pid})\n`);
        }
        return;
    }
    default:
        throw new Error('usage: node scripts/launch.js ports|start|redis|consentd|stop ' +
                        '(see the comment at the top of scripts/launch.js)');
    }
}

if (require.main === module) {
    cliMain(process.argv.slice(2)).then(() => process.exit(0), (e) => {
        process.stderr.write(`launch.js: ${e.message}\n`);
        process.exit(1);
    });
}

module.exports = {
    ROOT,
    consentdBinary,
    consentdConfig,
    demoVisitsConfig,
    exampleConfig,
    freePorts,
    nginxConfig,
    poll,
    readText,
    redisPing,
    runCommand,
    running,
    sleep,
    spawnLogged,
    startConsentd,
    startNginx,
    startRedis,
    tail,
    tcpOpen,
    terminate,
    writeKey,
};
