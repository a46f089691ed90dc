'use strict';
/*
 * memory.js - fills the store for the Redis-memory figure of `make bench`:
 * IDS visitors make a first choice (each write issues a consent ID), then
 * RECEIPTS - IDS more choices are spread over them with mixed history
 * lengths (1 to 10 receipts, 5 on average, the pattern repeating), as
 * returning visitors with their cookie. Prints the number of 201s.
 *
 *   node bench/memory.js URL RECEIPTS IDS   (BENCH_HASH, BENCH_VERSION set)
 */
const http = require('node:http');

const [url, receiptsArg, idsArg] = process.argv.slice(2);
const RECEIPTS = Number(receiptsArg || 100000);
const IDS = Number(idsArg || 20000);
const CONCURRENCY = 32;
const PATTERN = [1, 1, 2, 3, 4, 5, 6, 8, 10, 10];     // receipts per ID, mean 5
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const body = (action) => JSON.stringify({
    site: 'demo', banner_version: process.env.BENCH_VERSION,
    texts_sha256: process.env.BENCH_HASH, action,
});

function write(cookie, action) {
    return new Promise((resolve, reject) => {
        const data = body(action);
        const headers = { 'Content-Type': 'application/json', 'Content-Length': data.length,
                          'X-Forwarded-For': '46.4.0.1' };
        if (cookie)
            headers.Cookie = cookie;
        const req = http.request({ host: target.hostname, port: target.port, agent,
                                   method: 'POST', path: '/consent/v1/consents', headers }, (res) => {
            res.resume();
            res.on('end', () => {
                const set = res.headers['set-cookie'];
                resolve({ status: res.statusCode, cookie: set ? set[0].split(';')[0] : cookie });
            });
        });
        req.on('error', reject);
        req.end(data);
    });
}

/* Runs jobs (functions returning promises) CONCURRENCY at a time. */
async function pool(jobs) {
    let next = 0;
    const worker = async () => {
        while (next < jobs.length)
            await jobs[next++]();
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

(async () => {
    let ok = 0;
    const cookies = new Array(IDS);
    await pool(Array.from({ length: IDS }, (_, i) => async () => {
        const r = await write(null, 'reject_all');
        if (r.status === 201)
            ok++;
        cookies[i] = r.cookie;
    }));
    // How many more each visitor records: the pattern, then one more each
    // in turn until the total is reached.
    const more = Array.from({ length: IDS }, (_, i) => PATTERN[i % PATTERN.length] - 1);
    let total = IDS + more.reduce((a, b) => a + b, 0);
    for (let i = 0; total < RECEIPTS; i = (i + 1) % IDS, total++)
        more[i]++;
    await pool(Array.from({ length: IDS }, (_, i) => async () => {
        for (let k = 0; k < more[i]; k++) {
            const r = await write(cookies[i], k % 2 ? 'reject_all' : 'accept_all');
            if (r.status === 201)
                ok++;
        }
    }));
    agent.destroy();
    console.log(ok);
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
