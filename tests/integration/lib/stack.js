'use strict';
/*
 * stack.js - the integration test harness: a REAL redis-server, consentd
 * and nginx on free loopback ports in a fresh temporary directory, started
 * by the repository's one launcher (scripts/launch.js, which make run and
 * make bench use too), and what only tests need around it: a consentd
 * configuration with the fixtures, a fake clock, several consentd behind
 * one nginx, restarts, a sanitizer and log check at stop(), an HTTP client.
 * It stops exactly the processes it started (by the PIDs of its own child
 * processes, never by name).
 *
 *   const { startStack } = require('./lib/stack');
 *   const stack = await startStack({ layout: 'flat', now: 1795305600 });
 *   const res = await stack.request({ path: '/consent/v1/banner?site=demo', xff: '46.4.0.1',
 *                                     headers: [['Sec-GPC', '1'], ['Sec-GPC', '0']] });
 *   res.status, res.headers, res.body, res.json
 *   const { consentd } = await stack.stop();   // { code, signal, killed }
 *
 * consentd is the binary named by $CONSENTD (relative to the current
 * directory) or <repo>/build/asan/consentd. It is built with ASan+UBSan:
 * stop() throws when its stderr carries a sanitizer report, so whichever
 * test or hook calls stop() fails.
 *
 * KEEP_TEST_DIRS=1 keeps the temporary directories (configs and logs).
 *
 * Works on Node 18 and 20; no dependencies outside Node itself.
 */
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const {
    ROOT, consentdBinary, consentdConfig, exampleConfig, freePorts, nginxConfig, poll,
    readText, redisPing, runCommand, running, spawnLogged, startConsentd, startNginx,
    startRedis: launchRedis, tail, terminate,
} = require('../../../scripts/launch');

/* What makes stop() throw: AddressSanitizer and UBSan reports. */
const SANITIZER_PATTERNS = ['ERROR: AddressSanitizer', 'runtime error:'];
/* LeakSanitizer runs at exit and makes the exit code non-zero (1 in this
 * ASan build); stop() does not throw for it but returns the report (see
 * leakReport), and a test asserting exit code 0 shows it. */
const LEAK_PATTERN = 'ERROR: LeakSanitizer';

/* ---- small helpers ---- */

function makeTempDir() {
    return fs.mkdtempSync(path.join(os.tmpdir(), 'consent-it-'));
}

function keepDirs() {
    return process.env.KEEP_TEST_DIRS === '1';
}

function removeDir(dir) {
    if (!keepDirs())
        fs.rmSync(dir, { recursive: true, force: true });
}

/* The LeakSanitizer report in text (up to its SUMMARY line), or null. */
function leakReport(text) {
    const at = text.indexOf(LEAK_PATTERN);
    if (at < 0)
        return null;
    const end = text.indexOf('SUMMARY:', at);
    const stop = end < 0 ? text.length : text.indexOf('\n', end);
    return text.slice(at, stop < 0 ? text.length : stop);
}

/* Sanitizer report lines found in text (empty when clean). */
function sanitizerReports(text) {
    return text.split('\n').filter((line) =>
        SANITIZER_PATTERNS.some((p) => line.includes(p)));
}


/* ---- consentd on its own ---- */

/* consentd ARGS with the test binary. env is added to process.env. */
function runConsentd(args, { env, timeoutMs } = {}) {
    return runCommand(consentdBinary(), args, {
        env: { ...process.env, ...(env || {}) },
        timeoutMs,
    });
}

/* `consentd --check FILE`. */
function checkConfig(configPath, env) {
    return runConsentd(['--check', configPath], { env });
}

/* `consentd -c FILE`, expected to fail at start-up; killed after timeoutMs
 * if it does start (then timedOut is true). */
function startConsentdOnly(configPath, env, timeoutMs = 10000) {
    return runConsentd(['-c', configPath], { env, timeoutMs });
}

/* ---- configuration ---- */

/*
 * The consentd configuration the tests run with: the launcher's example
 * configuration with absolute paths and the given ports (consentdConfig:
 * ports not given are placeholders, for --check; with dir, fresh keys in
 * DIR, signingKey the signing key's 64 hex digits), the fixture database of
 * layout, and a second site "shop" (preview off).
 */
function buildConfig({ fastcgiPort = 1, redisPort = 1, layout = 'geoip2', dir,
                       signingKey } = {}) {
    if (layout !== 'geoip2' && layout !== 'flat')
        throw new Error(`layout must be "geoip2" or "flat", not ${layout}`);
    const cfg = consentdConfig({
        fastcgiPort, redisPort, dir, signingKey,
        geoip: {
            database: path.join(ROOT, 'build', 'fixtures',
                                layout === 'flat' ? 'flat-city.mmdb' : 'geoip2-city.mmdb'),
            layout,
        },
    });
    cfg.workers = 32;  // > nginx keepalive 16 + the concurrency of any one test
    const demo = cfg.sites.find((s) => s.id === 'demo');
    cfg.sites.push({
        ...structuredClone(demo),       // categories, languages, versions...
        id: 'shop',
        origins: ['https://shop.example'],
        preview: false,
    });
    return cfg;
}

function writeConfig(dir, cfg, name = 'consentd.json') {
    const file = path.join(dir, name);
    fs.writeFileSync(file, JSON.stringify(cfg, null, 2) + '\n');
    return file;
}

/* ---- HTTP ---- */

/*
 * One HTTP request. headers: an object, or an array of [name, value] pairs
 * sent as given (duplicates and empty values included). Host and, when
 * there is a body (or the method is POST/PUT/PATCH/DELETE), Content-Length
 * are added unless given; xff adds X-Forwarded-For. Each request uses its
 * own connection (Connection: close).
 */
function httpRequest(port, { method = 'GET', path: reqPath = '/', headers, body, xff,
                             timeoutMs = 10000 } = {}) {
    const pairs = Array.isArray(headers) ? headers.map(([k, v]) => [k, v])
        : Object.entries(headers || {});
    const has = (name) => pairs.some(([k]) => k.toLowerCase() === name);
    const raw = [];
    if (!has('host'))
        raw.push('Host', `127.0.0.1:${port}`);
    for (const [k, v] of pairs)
        raw.push(k, String(v));
    if (xff !== undefined)
        raw.push('X-Forwarded-For', xff);
    let payload = null;
    if (body !== undefined && body !== null)
        payload = Buffer.isBuffer(body) ? body : Buffer.from(String(body));
    if (!has('content-length') && !has('transfer-encoding') &&
        (payload !== null || ['POST', 'PUT', 'PATCH', 'DELETE'].includes(method)))
        raw.push('Content-Length', String(payload === null ? 0 : payload.length));
    if (!has('connection'))
        raw.push('Connection', 'close');

    return new Promise((resolve, reject) => {
        const req = http.request({
            host: '127.0.0.1', port, method, path: reqPath, headers: raw, agent: false,
        }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('error', reject);
            res.on('end', () => {
                const text = Buffer.concat(chunks).toString('utf8');
                let json;
                if (text !== '') {
                    try {
                        json = JSON.parse(text);
                    } catch (_) {
                        json = undefined;
                    }
                }
                resolve({ status: res.statusCode, headers: res.headers,
                          rawHeaders: res.rawHeaders, body: text, json });
            });
        });
        req.setTimeout(timeoutMs, () =>
            req.destroy(new Error(`${method} ${reqPath}: no answer within ${timeoutMs} ms`)));
        req.on('error', reject);
        req.end(payload === null ? undefined : payload);
    });
}

/* ---- what no log may hold ----
 *
 * Every stack remembers the full client addresses its requests sent
 * (X-Forwarded-For) and the consent IDs, receipt IDs and consent cookies
 * its answers carried; stop() fails when any log file of the stack holds
 * one of them (README, "Logs"). */

const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const ID_KEYS = new Set(['consent_id', 'receipt_id']);

function noteSecrets(seen, { headers, rawHeaders, xff, json } = {}) {
    const addresses = [];
    if (typeof xff === 'string')
        addresses.push(...xff.split(','));
    const pairs = Array.isArray(headers) ? headers
        : (typeof headers === 'object' && headers !== null && rawHeaders === undefined
            ? Object.entries(headers) : []);
    for (const [k, v] of pairs)
        if (String(k).toLowerCase() === 'x-forwarded-for')
            addresses.push(...String(v).split(','));
    for (const a of addresses.map((x) => x.trim().replace(/^::ffff:/i, ''))) {
        if (IPV4.test(a) || (net.isIPv6(a) && a.split(':').filter(Boolean).length >= 4))
            seen.add(a);
    }
    for (let i = 0; Array.isArray(rawHeaders) && i + 1 < rawHeaders.length; i += 2) {
        const m = rawHeaders[i].toLowerCase() === 'set-cookie' &&
            /^(?:__Host-)?consent=([A-Za-z0-9_-]{20,})/.exec(rawHeaders[i + 1]);
        if (m)
            seen.add(m[1]);
    }
    const walk = (x, depth) => {
        if (depth > 8 || x === null || typeof x !== 'object')
            return;
        for (const [k, v] of Object.entries(x)) {
            if (ID_KEYS.has(k) && typeof v === 'string' && v.length >= 16)
                seen.add(v);
            else
                walk(v, depth + 1);
        }
    };
    walk(json, 0);
}

/* Lines "<log>: <line>" of logs that hold a remembered secret. An address
 * counts only where it is not part of a longer number or address. */
function loggedSecrets(logs, seen) {
    const found = [];
    for (const [name, file] of Object.entries(logs)) {
        const text = readText(file);
        if (text === '')
            continue;
        for (const secret of seen) {
            let at = text.indexOf(secret);
            while (at >= 0) {
                const before = text[at - 1] || ' ';
                const after = text[at + secret.length] || ' ';
                if (!/[0-9A-Za-z.:_-]/.test(before) && !/[0-9A-Za-z_-]/.test(after) &&
                    !(after === '.' && /\d/.test(text[at + secret.length + 1] || ''))) {
                    const start = text.lastIndexOf('\n', at) + 1;
                    const end = text.indexOf('\n', at);
                    found.push(`${name}: ${text.slice(start, end < 0 ? undefined : end).slice(0, 300)}`);
                    break;
                }
                at = text.indexOf(secret, at + 1);
            }
        }
    }
    return found;
}

/* ---- the stack ---- */

/*
 * options:
 *   layout     "geoip2" (default) or "flat": which fixture database
 *   configure  function(cfg) that may change the consentd config in place
 *              (after ports, paths and the "shop" site are set)
 *   now        epoch seconds consentd takes for the current time (see
 *              setClock); default: the real clock
 *   env        extra environment for consentd
 *   signingKey 64 hex digits for DIR/signing.key (default: a random key),
 *              when the configuration has a signing_key
 *   redis      false: do not start redis-server (consentd starts without
 *              it; call startRedis() later)
 *   logScan    false: stop() does not check the logs for addresses and
 *              IDs the stack's requests and answers carried
 *   nginxHttp  extra directives for nginx's http {} level (e.g. a short
 *              fastcgi_read_timeout)
 *   upstreamServer  parameters added to each upstream server line
 *              (e.g. "fail_timeout=60s"; not to the backup lines)
 *   upstreamBackups  false: several consentd are listed without the backup
 *              lines nginx/consent-http.conf recommends (to show what they
 *              prevent)
 *   consentds  how many consentd processes (default 1), each on its own
 *              FastCGI port with its own copy of the configuration
 *              (consentd-N.json, log consentd-N.log), all listed in nginx's
 *              `upstream consentd` as consent-http.conf recommends;
 *              consentdPids lists them, and signalConsentd /
 *              consentdRunning / startConsentd take an index (default 0)
 *
 * nginx starts once every consentd accepts connections: a connection refused
 * during start-up would make nginx leave that server out for fail_timeout,
 * and a test that then stops the other would find both left out.
 *
 * consentd runs with "workers": 8 while nginx keeps up to 16 idle FastCGI
 * connections (keepalive 16), and every kept-alive connection pins a worker
 * (README, THREAD SAFETY): more than 8 requests in flight at once can leave
 * some waiting for fastcgi_read_timeout. Tests that send concurrent bursts
 * should raise it: configure: (cfg) => { cfg.workers = 64; }.
 *
 * Resolves to { url, nginxPort, redisPort, fastcgiPort, fastcgiPorts, dir, configPath,
 * config, logs, consentdPid, nginxPid, redisPid, signingKeyPath,
 * consentdRunning(), signalConsentd(sig), readLog(name), request(opts),
 * setClock(secs), stopRedis(), startRedis(), stop() }.
 *
 * consentd always runs with CONSENTD_TEST_CLOCK=DIR/clock, a file it re-reads
 * on every use: setClock(secs) writes it (atomically), setClock(null)
 * removes it and consentd is back on the real clock. stop() resolves to { nginx, consentd, redis } (each { code,
 * signal, killed }) plus sanitizer (report lines) and leaks (LeakSanitizer
 * report or null); it throws when consentd's stderr has an AddressSanitizer
 * or UBSan report, or when a log file holds a full client address sent in
 * X-Forwarded-For or a consent ID, receipt ID or consent cookie that an
 * answer carried.
 */
async function startStack(options = {}) {
    const layout = options.layout || 'geoip2';
    const dir = makeTempDir();
    const nConsentd = options.consentds || 1;
    const [nginxPort, redisPort, fastcgiPort, ...extraPorts] = await freePorts(2 + nConsentd);
    const logs = {
        redis: path.join(dir, 'redis.log'),
        consentdStdout: path.join(dir, 'consentd.stdout.log'),
        consentd: path.join(dir, 'consentd.log'),           // stderr: JSON lines
        nginxError: path.join(dir, 'nginx-error.log'),
        nginxAccess: path.join(dir, 'nginx-access.log'),
        // the snippet's own logs (relative paths: under nginx's -p prefix)
        consentAccess: path.join(dir, 'consent-access.log'),
        consentError: path.join(dir, 'consent-error.log'),
    };

    const procs = { redis: null, consentd: null, nginx: null };
    const extra = [];       // consentd 2..N: { port, config, log, proc }
    for (const [i, port] of extraPorts.entries()) {
        const n = i + 2;
        extra.push({ port, config: path.join(dir, `consentd-${n}.json`), proc: null });
        logs[`consentd${n}`] = path.join(dir, `consentd-${n}.log`);
        extra[i].log = logs[`consentd${n}`];
    }
    let stopped = null;

    const startRedis = async () => {
        if (running(procs.redis))
            throw new Error('redis-server is already running');
        procs.redis = await launchRedis({ dir, port: redisPort, log: logs.redis });
    };

    const stopRedis = () => terminate(procs.redis);

    const cfg = buildConfig({ fastcgiPort, redisPort, layout, dir,
                              signingKey: options.signingKey });
    // Pages served by this stack's nginx (the demo, browser tests) are an
    // origin of every site, as a site's own pages are in production.
    for (const site of cfg.sites)
        site.origins.push(`http://127.0.0.1:${nginxPort}`);
    if (options.configure)
        options.configure(cfg);
    const configPath = writeConfig(dir, cfg);
    for (const e of extra)
        writeConfig(dir, { ...cfg, listen: `127.0.0.1:${e.port}` }, path.basename(e.config));
    const nginxConfPath = path.join(dir, 'nginx.conf');
    fs.writeFileSync(nginxConfPath, nginxConfig({
        dir, port: nginxPort, fastcgiPorts: [fastcgiPort, ...extraPorts],
        serverParams: options.upstreamServer ? ` ${options.upstreamServer}` : '',
        backups: options.upstreamBackups !== false,
        httpExtra: options.nginxHttp || '',
    }));

    const seen = new Set();
    const request = async (opts) => {
        noteSecrets(seen, opts);
        const res = await httpRequest(nginxPort, opts);
        noteSecrets(seen, res);
        return res;
    };

    const clockPath = path.join(dir, 'clock');
    const setClock = (secs) => {
        if (secs === null || secs === undefined) {
            fs.rmSync(clockPath, { force: true });
            return;
        }
        const n = Math.floor(Number(secs));
        if (!Number.isFinite(n) || n <= 0)
            throw new Error(`setClock: expected epoch seconds, got ${secs}`);
        fs.writeFileSync(`${clockPath}.tmp`, `${n}\n`);
        fs.renameSync(`${clockPath}.tmp`, clockPath);
    };
    if (options.now !== undefined)
        setClock(options.now);

    const stop = async () => {
        if (stopped !== null)
            return stopped;
        // nginx first (it holds the kept-alive FastCGI connections), then
        // consentd, then redis.
        const nginx = await terminate(procs.nginx);
        const consentd = await terminate(procs.consentd);
        for (const e of extra)
            await terminate(e.proc);
        const redis = await terminate(procs.redis);
        const stderr = readText(logs.consentd);
        const reports = [stderr, ...extra.map((e) => readText(e.log))]
            .flatMap((t) => sanitizerReports(t));
        stopped = { nginx, consentd, redis, sanitizer: reports, leaks: leakReport(stderr) };
        const leaked = options.logScan === false ? [] : loggedSecrets(logs, seen);
        if (reports.length > 0) {
            const text = [logs.consentd, ...extra.map((e) => e.log)].map(readText)
                .find((t) => t.includes(reports[0]));
            const at = Math.max(0, text.indexOf(reports[0]) - 200);
            throw new Error(`consentd's stderr has sanitizer reports (${dir} kept):\n` +
                            text.slice(at, at + 6000));
        }
        if (leaked.length > 0)
            throw new Error(`the logs hold what they must not (${dir} kept):\n` + leaked.join('\n'));
        removeDir(dir);
        return stopped;
    };

    /* consentd i (0: the first) with its configuration and log, on the
     * test clock; resolves once it accepts connections. */
    const consentdSlot = (i) => (i === 0
        ? { config: configPath, log: logs.consentd, port: fastcgiPort }
        : extra[i - 1]);
    const launchConsentd = async (i) => {
        const slot = consentdSlot(i);
        const proc = await startConsentd({
            config: slot.config, port: slot.port, log: slot.log, stdout: logs.consentdStdout,
            env: { CONSENTD_TEST_CLOCK: clockPath, ...(options.env || {}) },
        });
        if (i === 0)
            procs.consentd = proc;
        else
            extra[i - 1].proc = proc;
        return proc;
    };
    const consentdProc = (i) => (i === 0 ? procs.consentd : extra[i - 1].proc);

    const describeFailure = (e) => {
        const parts = [e.message];
        for (const [name, file] of Object.entries(logs)) {
            const t = readText(file).trim();
            if (t !== '' && name !== 'nginxAccess' && name !== 'consentAccess')
                parts.push(`--- ${name} (${file}):\n${tail(t)}`);
        }
        return new Error(parts.join('\n'));
    };

    try {
        if (options.redis !== false)
            await startRedis();

        // All at once; nginx only once every one listens (see above).
        const started = await Promise.allSettled(
            [0, ...extra.map((_, j) => j + 1)].map(launchConsentd));
        const failed = started.find((r) => r.status === 'rejected');
        if (failed)
            throw failed.reason;

        procs.nginx = await startNginx({
            dir, conf: nginxConfPath, port: nginxPort,
            others: [procs.redis, procs.consentd, ...extra.map((e) => e.proc)]
                .filter((p) => p !== null),
        });
    } catch (e) {
        await terminate(procs.nginx);
        await terminate(procs.consentd);
        for (const x of extra)
            await terminate(x.proc);
        await terminate(procs.redis);
        const err = describeFailure(e);
        removeDir(dir);
        throw err;
    }

    return {
        url: `http://127.0.0.1:${nginxPort}`,
        nginxPort,
        redisPort,
        fastcgiPort,
        fastcgiPorts: [fastcgiPort, ...extraPorts],     // consentd 1..N, to address one
        dir,
        configPath,
        config: cfg,
        logs,
        consentdPid: procs.consentd.pid,
        consentdPids: [procs.consentd.pid, ...extra.map((e) => e.proc.pid)],
        nginxPid: procs.nginx.pid,
        signingKeyPath: typeof cfg.signing_key === 'string' ? cfg.signing_key : null,
        get redisPid() {
            return procs.redis === null ? null : procs.redis.pid;
        },
        /* Is consentd i (a process started by this stack) still running? */
        consentdRunning: (i = 0) => running(consentdProc(i)),
        /* Starts consentd i again (after it was killed or stopped), with
         * its configuration and log; resolves once it accepts connections. */
        startConsentd: async (i = 0) => {
            if (running(consentdProc(i)))
                throw new Error('consentd is still running');
            return (await launchConsentd(i)).pid;
        },
        /* Sends sig to consentd i this stack started (if still running). */
        signalConsentd: (sig, i = 0) => {
            const p = consentdProc(i);
            if (!running(p))
                throw new Error('consentd is not running');
            p.child.kill(sig);
        },
        readLog: (name) => readText(logs[name]),
        request,
        setClock,
        stopRedis,
        startRedis,
        stop,
    };
}

module.exports = {
    ROOT,
    buildConfig,
    checkConfig,
    consentdBinary,
    exampleConfig,
    freePorts,
    httpRequest,
    leakReport,
    makeTempDir,
    poll,
    redisPing,
    removeDir,
    runCommand,
    runConsentd,
    running,
    sanitizerReports,
    spawnLogged,
    startConsentdOnly,
    startStack,
    terminate,
    writeConfig,
};
