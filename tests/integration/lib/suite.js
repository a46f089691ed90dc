'use strict';
/*
 * suite.js - the setup the integration test files share, so that no file
 * writes it again: a stack for a describe block, a folder and a port for
 * configurations consentd must refuse, and small readers of what a stack
 * or a test leaves behind.
 *
 *   let stack;
 *   withStack({ configure }, (s) => { stack = s; });   // before: start; after: stop
 *
 *   const refused = refusedConfigs();   // before: a temporary folder and a free port
 *   await refused.expect('name', cfg, 'CONFIG: $.x: missing');  // --check and -c refuse
 */
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const { before, after } = require('node:test');
const {
    buildConfig, checkConfig, freePorts, leakReport, makeTempDir, removeDir, sanitizerReports,
    startConsentdOnly, startStack, writeConfig,
} = require('./stack');

/*
 * Registers a before hook that starts a stack (startStack(options); options
 * may be a function called then, for values known only at that time) and
 * hands it to assign, and an after hook that stops it. In a describe block
 * the stack lives as long as the block; at the top of a file, as the file.
 */
function withStack(options, assign) {
    let stack = null;
    before(async () => {
        stack = await startStack(typeof options === 'function' ? options() : options);
        assign(stack);
    });
    after(async () => {
        if (stack)
            await stack.stop();
    });
}

/*
 * Configurations consentd must refuse: a temporary folder (dir) and a free
 * port (listenPort), made before the block's tests and removed after them.
 * good() is a configuration consentd accepts (no Redis needed to check it).
 * expect(name, cfg, ...expected) writes cfg as <name>.json and runs both
 * `consentd --check` and `consentd -c` on it: each must exit non-zero (not
 * by a signal, not still running), with every expected string in its stderr
 * (CONFIG in one stands for the file's path) and no sanitizer or leak
 * report. Resolves to the stderr of the second run.
 */
function refusedConfigs() {
    const r = {
        dir: null,
        listenPort: null,
        good: () => buildConfig({ fastcgiPort: r.listenPort, redisPort: 1, dir: r.dir }),
        async expect(name, cfg, ...expected) {
            const file = writeConfig(r.dir, cfg, `${name}.json`);
            let stderr = '';
            for (const run of [() => checkConfig(file), () => startConsentdOnly(file, {}, 10000)]) {
                const res = await run();
                assert.equal(res.timedOut, false, `consentd started with ${file}:\n${res.stderr}`);
                assert.notEqual(res.code, 0, `exit code of ${file}:\n${res.stderr}`);
                assert.equal(res.signal, null, res.stderr);
                for (const e of expected.map((x) => x.replace('CONFIG', file)))
                    assert.ok(res.stderr.includes(e), `stderr should contain ${JSON.stringify(e)}:\n${res.stderr}`);
                assert.deepEqual(sanitizerReports(res.stderr), [], res.stderr);
                assert.equal(leakReport(res.stderr), null, res.stderr);
                stderr = res.stderr;
            }
            return stderr;
        },
    };
    before(async () => {
        r.dir = makeTempDir();
        [r.listenPort] = await freePorts(1);
    });
    after(() => {
        if (r.dir)
            removeDir(r.dir);
    });
    return r;
}

/* consentd's JSON log lines (stderr) of a stack, parsed; other lines left out. */
function logLines(stack) {
    return stack.readLog('consentd').split('\n').filter((l) => l.startsWith('{'))
        .map((l) => { try { return JSON.parse(l); } catch (_) { return null; } })
        .filter((x) => x !== null);
}

/* Atomic file replacement (write a temporary copy, rename over), as an
 * operator or geoipupdate does. */
function replaceFile(file, data) {
    fs.writeFileSync(`${file}.new`, data);
    fs.renameSync(`${file}.new`, file);
}

/* Deterministic "random" bytes: a SHA-256 chain of blocks from seed. */
function pseudoRandom(seed, blocks) {
    const out = [];
    let h = Buffer.from(seed);
    for (let i = 0; i < blocks; i++) {
        h = crypto.createHash('sha256').update(h).digest();
        out.push(h);
    }
    return Buffer.concat(out);
}

module.exports = { logLines, pseudoRandom, refusedConfigs, replaceFile, withStack };
