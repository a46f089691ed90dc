'use strict';
/*
 * load.js - concurrent request loads for the failover and fault tests, and
 * the check that every acknowledged receipt is stored:
 *
 *   const load = startLoad({ workers: 8, deadlineMs: 60000, make: (w, n) => post(...) });
 *   ... kill something ...
 *   const results = await load.stop();        // [{ status, ms, start, end, json, worker, n }]
 *   const { found, missing } = await findAcknowledged(redis, results.filter((r) => r.status === 201));
 */
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

module.exports = { countBy, errorCode, findAcknowledged, sleep, startLoad, timed };
