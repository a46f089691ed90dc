'use strict';
/*
 * upstream.test.js - two consentd behind one nginx upstream, listed as
 * nginx/consent-http.conf recommends (each server, and each again as a
 * `backup` with max_fails=0), with the shipped snippet's
 * fastcgi_next_upstream:
 * - one of them is killed (SIGKILL) under a load of decisions and writes.
 *   Every decision still answers 200 (nginx passes a GET on to the other);
 *   every write answered 201 is stored exactly as answered, and no write is
 *   recorded twice (nginx never passes a POST on once it was sent): per
 *   consent ID, the stored receipts are at most the 201s plus the writes
 *   that got a 502 from the killed one;
 * - a rolling restart: one killed, started again, then the other killed
 *   while nginx still leaves the first out (fail_timeout): the backup lines
 *   keep every decision and write answering; without them nginx answers 502
 *   without trying either (what made this test flaky before);
 * - one stopped (SIGSTOP) past fastcgi_read_timeout.
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/upstream.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');

const { poll } = require('./lib/stack');
const { withStack } = require('./lib/suite');
const { withRedis } = require('./lib/redis');
const V = require('./lib/visitor');

const READERS = 8;
const WRITERS = 8;

describe('two consentd behind one upstream, one killed under load', () => {
    let stack;
    withStack({ consentds: 2, configure: (cfg) => { cfg.workers = 32; } }, (s) => { stack = s; });

    it('both serve; after SIGKILL of one every decision answers 200, no write is lost or doubled', async (t) => {
        assert.equal(stack.consentdPids.length, 2);
        let n = 0;
        const addr = () => {
            n++;
            return `46.4.${(n >> 8) % 250 + 1}.${n % 250 + 1}`;
        };

        // Writers: each a visitor with a consent ID (first choice before the
        // kill), then a loop of choices with its cookie; a new address per
        // request keeps them under the per-address rate limit.
        const writers = [];
        for (let w = 0; w < WRITERS; w++) {
            const v = await V.newVisitor(stack, { xff: addr() });
            await V.record(v, 'reject_all');
            writers.push({ v, sent: 1, ok: [v.posted[0]], failed: 0, statuses: {} });
        }

        let stop = false;
        let decisions = 0;
        const decisionStatuses = {};
        const bad = [];
        const reader = async () => {
            while (!stop) {
                const r = await V.bannerRequest(stack, { xff: addr() });
                decisions++;
                decisionStatuses[r.status] = (decisionStatuses[r.status] || 0) + 1;
                if (r.status !== 200)
                    bad.push(`${r.status} ${r.body.slice(0, 200)}`);
            }
        };
        const actions = ['accept_all', 'reject_all'];
        const writer = async (w) => {
            while (!stop) {
                const body = V.recordBody(w.v.banner, actions[w.sent % 2]);
                w.sent++;
                const r = await V.post(stack, body, { cookie: w.v.cookie, xff: addr() });
                w.statuses[r.status] = (w.statuses[r.status] || 0) + 1;
                if (r.status === 201) {
                    assert.equal(r.json.consent_id, w.v.id);
                    w.ok.push(r.json);
                } else {
                    w.failed++;
                }
            }
        };
        const loops = [...Array.from({ length: READERS }, reader), ...writers.map(writer)];
        const writes = () => writers.reduce((s, w) => s + w.sent, 0);

        // Load first, then the kill, then as much load again.
        await poll(() => decisions >= 200 && writes() >= 80, { timeoutMs: 30000, what: 'load before the kill' });
        stack.signalConsentd('SIGKILL', 1);
        await poll(() => !stack.consentdRunning(1), { timeoutMs: 10000, what: 'consentd 2 gone' });
        const [d0, w0] = [decisions, writes()];
        await poll(() => decisions >= d0 + 400 && writes() >= w0 + 80, {
            timeoutMs: 40000, what: 'load after the kill',
        });
        stop = true;
        await Promise.all(loops);
        assert.ok(stack.consentdRunning(0), 'the other consentd still runs');

        const writeStatuses = {};
        for (const w of writers)
            for (const [s, c] of Object.entries(w.statuses))
                writeStatuses[s] = (writeStatuses[s] || 0) + c;
        t.diagnostic(`decisions ${JSON.stringify(decisionStatuses)}, writes ${JSON.stringify(writeStatuses)}`);
        assert.deepEqual(bad, [], 'every decision answered 200');
        // A write in flight on the killed one gets nginx's 502 (a POST is
        // never passed on once sent); nothing else fails.
        assert.deepEqual(Object.keys(writeStatuses).filter((s) => s !== '201' && s !== '502'), [],
                         JSON.stringify(writeStatuses));
        assert.ok(writers.every((w) => w.ok.length >= 2), 'every writer recorded after its first choice');

        await withRedis(stack, async (r) => {
            for (const w of writers) {
                const stored = await V.storedReceipts(r, w.v.id);
                // Every 201 is stored as answered, under its own seq.
                const seqs = w.ok.map((a) => a.receipt.seq);
                assert.equal(new Set(seqs).size, seqs.length, `distinct seqs for ${w.v.id.slice(0, 4)}…`);
                for (const a of w.ok)
                    assert.ok(V.isStored(stored, a), `receipt seq ${a.receipt.seq} stored as answered`);
                // Never twice: what is stored beyond the 201s can only be
                // writes whose answer was lost with the killed process.
                assert.ok(stored.size >= w.ok.length && stored.size <= w.ok.length + w.failed,
                          `stored ${stored.size}, answered 201 ${w.ok.length}, failed ${w.failed}, ` +
                          `sent ${w.sent}`);
                assert.deepEqual([...stored.keys()].sort((a, b) => a - b),
                                 Array.from({ length: stored.size }, (_, i) => i + 1), 'seqs 1..n, no gap');
            }
        });
        // The history each visitor sees verifies.
        for (const w of writers.slice(0, 3)) {
            const h = await V.history(w.v);
            assert.equal(h.verdict, 'verified', JSON.stringify(h.findings));
        }
    });
});

/*
 * A rolling restart: consentd 2 killed (nginx leaves it out after the first
 * refused connection), started again, then consentd 1 killed before nginx
 * tries consentd 2 again. fail_timeout=60s keeps consentd 2 left out for the
 * whole test, however slow the machine: what matters is only that it is.
 */
async function rollingRestart(stack) {
    const decisions = async (n, tag) => {
        const statuses = [];
        for (let i = 0; i < n; i++) {
            const r = await V.bannerRequest(stack, { xff: `46.4.${tag}.${i + 1}` });
            statuses.push(r.status === 200 ? 200 : `${r.status} ${r.body.slice(0, 120)}`);
        }
        return statuses;
    };
    stack.signalConsentd('SIGKILL', 1);
    await poll(() => !stack.consentdRunning(1), { timeoutMs: 10000, what: 'consentd 2 gone' });
    // Round robin: of two decisions one goes to consentd 2, is refused and
    // passed on; nginx now leaves consentd 2 out.
    assert.deepEqual(await decisions(4, 210), [200, 200, 200, 200]);
    assert.match(stack.readLog('consentAccess'), /upstream=502, 200\//,
                 'a decision was refused by consentd 2 and passed on');
    await stack.startConsentd(1);
    stack.signalConsentd('SIGKILL', 0);
    await poll(() => !stack.consentdRunning(0), { timeoutMs: 10000, what: 'consentd 1 gone' });
    return decisions(4, 211);
}

describe('rolling restart: the server nginx left out a moment ago is tried when the other dies', () => {
    let stack;
    withStack({ consentds: 2, upstreamServer: 'fail_timeout=60s' }, (s) => { stack = s; });

    it('with the backup lines every decision answers 200 and a write is recorded', async () => {
        assert.deepEqual(await rollingRestart(stack), [200, 200, 200, 200]);
        const v = await V.newVisitor(stack, { xff: '46.4.212.1' });
        const a = (await V.record(v, 'accept_all')).json;
        await withRedis(stack, async (r) => {
            const stored = await V.storedReceipts(r, v.id);
            assert.equal(stored.size, 1);
            assert.ok(V.isStored(stored, a), 'the write is stored as answered');
        });
    });
});

describe('rolling restart without the backup lines (what they prevent)', () => {
    let stack;
    withStack({ consentds: 2, upstreamServer: 'fail_timeout=60s',
                               upstreamBackups: false }, (s) => { stack = s; });

    it('nginx has left out both and answers 502 upstream_unavailable though consentd 2 runs', async () => {
        const statuses = await rollingRestart(stack);
        assert.equal(statuses.length, 4);
        for (const s of statuses)
            assert.match(String(s), /^502 .*"upstream_unavailable"/);
        assert.ok(stack.consentdRunning(1), 'consentd 2 runs all along');
    });
});

describe('two consentd behind one upstream, one stopped (SIGSTOP) past fastcgi_read_timeout', () => {
    let stack;
    withStack({ consentds: 2, nginxHttp: 'fastcgi_read_timeout 3s;' }, (s) => { stack = s; });

    it('decisions keep answering 200; a write nginx gave up on is not passed on (504), and is stored once', async () => {
        const v = await V.newVisitor(stack, { xff: '46.4.200.1' });
        await V.record(v, 'reject_all');
        stack.signalConsentd('SIGSTOP', 1);
        const answers = [];
        try {
            // Round robin: within two writes one goes to the stopped one.
            for (let i = 0; i < 2; i++) {
                const r = await V.post(stack, V.recordBody(v.banner, i % 2 ? 'reject_all' : 'accept_all'),
                                       { cookie: v.cookie, xff: `46.4.200.${i + 2}`, timeoutMs: 30000 });
                answers.push(r);
            }
            // Decisions meanwhile: every one 200, whichever server nginx
            // tried first.
            for (let i = 0; i < 4; i++) {
                const d = await V.bannerRequest(stack, { xff: `46.4.201.${i + 1}`, timeoutMs: 30000 });
                assert.equal(d.status, 200, d.body);
            }
        } finally {
            stack.signalConsentd('SIGCONT', 1);
        }
        const statuses = answers.map((r) => r.status).sort();
        assert.deepEqual(statuses, [201, 504], 'one write timed out and was not passed on');
        const timedOut = answers.find((r) => r.status === 504);
        assert.equal(JSON.parse(timedOut.body).error.code, 'upstream_timeout');
        const ok = [v.posted[0], ...answers.filter((r) => r.status === 201).map((r) => r.json)];
        // The resumed consentd may still record the write it had been sent:
        // then it is stored once, after the others; never a second time.
        await withRedis(stack, async (r) => {
            const stored = await V.storedReceipts(r, v.id);
            for (const a of ok)
                assert.ok(V.isStored(stored, a), `seq ${a.receipt.seq} stored as answered`);
            assert.ok(stored.size === ok.length || stored.size === ok.length + 1,
                      `stored ${stored.size}, answered 201 ${ok.length}`);
        });
    });
});
