'use strict';
/*
 * fill.js - fills the store for `make bench` (the Redis memory figure and
 * the support lookups): IDS new visitors each make a first choice (the
 * write issues a consent ID), then more choices as returning visitors with
 * their cookie, with mixed history lengths (1 to 10 receipts, 5 on
 * average, the pattern repeating every 10 visitors, so any 10,000 of them
 * have the same mix). Every write is a real POST through nginx and
 * consentd. Appends each new consent ID to IDFILE (one a line) and prints
 * the number of 201s.
 *
 *   node bench/fill.js URL IDS IDFILE   (BENCH_HASH, BENCH_VERSION set)
 */
const fs = require('node:fs');
const http = require('node:http');

const [url, idsArg, idFile] = process.argv.slice(2);
const IDS = Number(idsArg);
const CONCURRENCY = 32;
const PATTERN = [1, 1, 2, 3, 4, 5, 6, 8, 10, 10];     // receipts per ID, mean 5
const target = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
const body = (action) => JSON.stringify({
    site: 'demo', banner_version: process.env.BENCH_VERSION,
    texts_sha256: process.env.BENCH_HASH, action,
});

if (!(IDS > 0) || !idFile) {
    console.error('usage: node bench/fill.js URL IDS IDFILE');
    process.exit(2);
}

/* One write; resolves to { status, cookie, id } (id: the answer's consent_id). */
function write(cookie, action) {
    return new Promise((resolve, reject) => {
        const data = body(action);
        const headers = { 'Content-Type': 'application/json', 'Content-Length': data.length,
                          'X-Forwarded-For': '46.4.0.1' };
        if (cookie)
            headers.Cookie = cookie;
        const req = http.request({ host: target.hostname, port: target.port, agent,
                                   method: 'POST', path: '/consent/v1/consents', headers }, (res) => {
            const chunks = [];
            res.on('data', (c) => chunks.push(c));
            res.on('end', () => {
                const set = res.headers['set-cookie'];
                let id = null;
                if (res.statusCode === 201 && cookie === null)
                    id = JSON.parse(Buffer.concat(chunks).toString('utf8')).consent_id;
                resolve({ status: res.statusCode, cookie: set ? set[0].split(';')[0] : cookie, id });
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
    const ids = [];
    await pool(Array.from({ length: IDS }, (_, i) => async () => {
        const first = await write(null, 'reject_all');
        if (first.status !== 201)
            return;
        ok++;
        ids.push(first.id);
        for (let k = 1; k < PATTERN[i % PATTERN.length]; k++) {
            const r = await write(first.cookie, k % 2 ? 'accept_all' : 'reject_all');
            if (r.status === 201)
                ok++;
        }
    }));
    agent.destroy();
    fs.appendFileSync(idFile, ids.map((id) => id + '\n').join(''));
    console.log(ok);
})().catch((e) => {
    console.error(e);
    process.exit(1);
});
