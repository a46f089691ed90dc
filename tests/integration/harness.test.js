'use strict';
/*
 * harness.test.js - the harness itself: a sanitizer report in consentd's
 * stderr fails the test that stops the stack, and a test process that dies
 * without stopping its stack leaves no server behind.
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const { poll, startStack } = require('./lib/stack');

/* Is pid a live (not zombie) process? */
function alive(pid) {
    try {
        const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
        return !/^\d+ \(.*\) Z /.test(stat);
    } catch (_) {
        return false;
    }
}

/* PIDs of pid's children (Linux /proc). */
function childrenOf(pid) {
    try {
        return fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
            .trim().split(/\s+/).filter(Boolean).map(Number);
    } catch (_) {
        return [];
    }
}

describe('harness', () => {
    it('stop() throws when consentd wrote a sanitizer report', async () => {
        const stack = await startStack();
        const pids = [stack.consentdPid, stack.nginxPid, stack.redisPid];
        // consentd's stderr file is opened O_APPEND: this line cannot
        // interleave with consentd's own lines.
        fs.appendFileSync(stack.logs.consentd,
                          'cgi/x.c:1:1: runtime error: harness self-test\n');
        await assert.rejects(stack.stop(), /sanitizer reports[\s\S]*runtime error: harness self-test/);
        for (const pid of pids)
            assert.equal(alive(pid), false, `process ${pid} stopped`);
        fs.rmSync(stack.dir, { recursive: true, force: true });   // kept for the report
    });

    it('a test process that exits without stop() leaves no server running', async () => {
        const script = `
            const { startStack } = require(${JSON.stringify(path.join(__dirname, 'lib', 'stack.js'))});
            const fs = require('node:fs');
            startStack().then((s) => {
                const kids = (pid) => { try { return fs.readFileSync('/proc/' + pid + '/task/' + pid + '/children', 'utf8').trim().split(/\\s+/).filter(Boolean).map(Number); } catch (_) { return []; } };
                console.log(JSON.stringify({ dir: s.dir, pids: [s.consentdPid, s.nginxPid, s.redisPid, ...kids(s.nginxPid)] }));
                process.exit(3);
            }, (e) => { console.error(e); process.exit(2); });`;
        const r = spawnSync(process.execPath, ['-e', script], { encoding: 'utf8', timeout: 30000 });
        assert.equal(r.status, 3, r.stderr);
        const { dir, pids } = JSON.parse(r.stdout.trim().split('\n').pop());
        assert.ok(pids.length >= 4, `consentd, nginx master and worker, redis: ${pids}`);
        try {
            await poll(() => pids.every((pid) => !alive(pid)),
                       { timeoutMs: 5000, what: `processes ${pids} to end` });
        } finally {
            fs.rmSync(dir, { recursive: true, force: true });
        }
    });

    it('stop() ends the nginx worker with its master', async () => {
        const stack = await startStack();
        const workers = childrenOf(stack.nginxPid);
        assert.ok(workers.length >= 1, 'nginx has a worker');
        await stack.stop();
        for (const pid of workers)
            assert.equal(alive(pid), false, `nginx worker ${pid} stopped`);
    });
});
