'use strict';
/*
 * load.js - concurrent request loads for the failover and fault tests, and
 * the check that every acknowledged receipt is stored:
 *
 *   const load = startLoad({ workers: 8, deadlineMs: 60000, make: (w, n) => post(...) });
 *   ... kill something ...
 *   const results = await load.stop();        // [{ status, ms, start, end, json, worker, n }]
 *   const { found, missing } = await findAcknowledged(redis, results.filter((r) => r.status === 201));
 *   await failoverUnderLoad(t, { label, visitors, post, kill, promoted, stored, ... });
 */
const { poll } = require('./stack');
const V = require('./visitor');

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/* A request timed: { status, start, end, ms, json, body, headers } or
 * status 'error' with the error's message. */
async function timed(fn) {
    const start = Date.now();
    try {
        const res = await fn();
        const end = Date.now();
        return { status: res.status, start, end, ms: end - start, json: res.json,
                 body: res.body, headers: res.headers };
    } catch (e) {
        const end = Date.now();
        return { status: 'error', start, end, ms: end - start, error: e.message };
    }
}

/*
 * A bounded concurrent load: `workers` loops, each calling make(worker, n)
 * until stop() is called, the deadline passes or maxRequests were issued in
 * all; after an answer that is not 2xx a loop pauses pauseAfterErrorMs.
 * results fills as answers come; stop() and done resolve to it.
 */
function startLoad({ workers, maxRequests = Infinity, deadlineMs, make, pauseAfterErrorMs = 20 }) {
    const deadline = Date.now() + deadlineMs;
    const results = [];
    let issued = 0;
    let stopped = false;
    const loop = async (w) => {
        while (!stopped && Date.now() < deadline && issued < maxRequests) {
            const n = issued++;
            const r = await timed(() => make(w, n));
            r.worker = w;
            r.n = n;
            results.push(r);
            if (pauseAfterErrorMs > 0 && !(r.status >= 200 && r.status < 300))
                await sleep(pauseAfterErrorMs);
        }
    };
    const done = Promise.all(Array.from({ length: workers }, (_, w) => loop(w)))
        .then(() => results);
    return { results, stop: () => { stopped = true; return done; }, done };
}

function countBy(list, f) {
    const out = {};
    for (const x of list) {
        const k = String(f(x));
        out[k] = (out[k] || 0) + 1;
    }
    return out;
}

/* The error code of a timed result (or what it got instead). */
const errorCode = (r) => (r.json && r.json.error ? r.json.error.code : r.error || r.body);

/*
 * How many 201 answers (timed results) the store holds exactly, history and
 * receipt index, through client (anything with cmd(): a Redis connection,
 * or a cluster client that follows redirections): { found, missing: [receipt IDs] }.
 */
async function findAcknowledged(client, acked) {
    const stored = new Map();
    let found = 0;
    const missing = [];
    for (const a of acked) {
        const cid = a.json.consent_id;
        if (!stored.has(cid))
            stored.set(cid, await V.storedReceipts(client, cid));
        const idx = await V.indexedConsentId(client, a.json.receipt.receipt_id);
        if (idx === cid && V.isStored(stored.get(cid), a.json))
            found++;
        else
            missing.push(a.json.receipt.receipt_id);
    }
    return { found, missing };
}

/*
 * A primary killed under a write load, for the Sentinel and Cluster
 * failover tests. One worker per visitor (each holds a cookie) writes
 * accept_all and reject_all in turn through post(body, { cookie }); after
 * 1.5 s kill() runs; promoted() is polled until true; then the first write
 * after the kill by a worker of watched(w) is awaited (a 201, or with no
 * replica to confirm it a not_durable 503, both answered after the new
 * primary took it); with restart, the killed server is started again
 * (restart()) and rejoined() polled until true; then the first 201 after
 * that; the load stops a second later. stored(acked) tells which 201s the
 * store holds ({ found, missing }). The figures are printed as a
 * diagnostic "<label> min_replicas_acked=<minAcked>: ...", the write times
 * with suffix in their names (the Cluster test: "_on_its_slots"), extra
 * after writers. Returns { figures, results, missing }.
 */
async function failoverUnderLoad(t, {
    label, minAcked, visitors, post, kill, promoted, restart = null, rejoined = null, stored,
    watched = () => true, maxRequests = Infinity, suffix = '', extra = {},
}) {
    const load = startLoad({
        workers: visitors.length, maxRequests, deadlineMs: 60000,
        make: (w, n) => post(V.recordBody(visitors[w].banner, n % 2 ? 'accept_all' : 'reject_all'),
                             { cookie: visitors[w].cookie }),
    });
    /* The end of the first answer of a watched worker started at or after
     * since that ok() accepts, once there is one. */
    const firstAnswer = async (since, ok, what) => {
        let end = null;
        await poll(() => {
            const w = load.results.find((r) => r.start >= since && watched(r.worker) && ok(r));
            if (w)
                end = w.end;
            return w !== undefined;
        }, { timeoutMs: 15000, intervalMs: 20, what });
        return end;
    };
    let killedAt;
    let promotedAt = null;
    let firstWriteAt = null;
    let first201At = null;
    try {
        await sleep(1500);
        killedAt = Date.now();
        await kill();
        await poll(promoted, { timeoutMs: 20000, intervalMs: 20, what: 'the replica promoted' });
        promotedAt = Date.now();
        firstWriteAt = await firstAnswer(killedAt, (r) => r.status === 201 || errorCode(r) === 'not_durable',
                                         'a write on the new primary');
        let restartedAt = null;
        if (restart) {
            await restart();
            restartedAt = Date.now();
            await poll(rejoined, { timeoutMs: 35000, intervalMs: 50,
                                   what: 'the old primary back as the new primary\'s replica' });
        }
        first201At = await firstAnswer(restartedAt || promotedAt, (r) => r.status === 201,
                                       'a 201 after the failover');
        await sleep(1000);
    } finally {
        await load.stop();
    }
    const results = load.results;
    const acked = results.filter((r) => r.status === 201);
    const { found, missing } = await stored(acked);
    const figures = {
        acknowledged: acked.length, found, lost: missing.length,
        not_durable: results.filter((r) => errorCode(r) === 'not_durable').length,
        unavailable: results.filter((r) => errorCode(r) === 'store_unavailable').length,
        requests: results.length, writers: visitors.length, ...extra,
        kill_to_promoted_ms: promotedAt - killedAt,
        [`kill_to_first_write${suffix}_ms`]: firstWriteAt - killedAt,
        [`kill_to_first_201${suffix}_ms`]: first201At - killedAt,
        max_request_ms: Math.max(...results.map((r) => r.ms)),
    };
    t.diagnostic(`${label} min_replicas_acked=${minAcked}: ` +
                 Object.entries(figures).map(([k, v]) => `${k}=${v}`).join(', '));
    return { figures, results, missing };
}

module.exports = { countBy, errorCode, failoverUnderLoad, findAcknowledged, sleep, startLoad, timed };
