'use strict';
/*
 * admin.test.js - the support page (static/admin/, served by nginx at
 * /consent/admin/) in Debian's headless Chromium driven by playwright-core,
 * against a real stack: a history written through the public endpoint is
 * looked up with a support token and shown verified, with each receipt's
 * sequence number and verdict; a receipt tampered with in Redis shows
 * TAMPERED (and the one after it BROKEN CHAIN), a removed one BROKEN CHAIN
 * and the finding "gap"; a missing newest receipt and an edited head seal
 * are reported in plain words; a receipt ID lookup; native and Kantara
 * exports download as files; erasure asks for the consent ID to be typed and
 * shows the tombstone, the erasure's number and whether Redis's files were
 * purged. The page keeps its strict CSP (no
 * violation, no console error), never stores the token, and axe-core finds
 * no serious or critical issue. Screenshot: tests/artifacts/admin.png.
 *
 *   CONSENTD=build/asan/consentd node --test tests/browser/admin.test.js
 */
const { describe, it, before } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const { redisOnce } = require('../integration/lib/redis');
const V = require('../integration/lib/visitor');
const { ARTIFACTS } = require('./lib/browser');
const { axeDocument, browserSuite, supportPage } = require('./lib/suite');

const PAGE = '/consent/admin/index.html';

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');
const newToken = () => `cst_${crypto.randomBytes(32).toString('base64url')}`;
const SUPPORT = newToken();         // read + erase
const READER = newToken();          // read only

let visitors = 0;
/* Each visitor from its own German address (nginx rate-limits writes per address). */
const visitorAddress = () => { visitors++; return `46.4.${100 + (visitors >> 8)}.${(visitors & 255) || 1}`; };

/* ---- writing histories through the public endpoint ---- */

/* The stored form of a receipt (receipt.h, format v2) in c:{ID}, field seq. */
const receiptKey = (id) => `c:{${id}}`;
const CHOICES_LOW = 113;    /* low byte of the choices bitmask (cgi/receipt.h) */

/* A visitor with [reject_all, custom, accept_all] written through the
 * public endpoint (lib/visitor.js: the first 201 issues the cookie and the
 * consent ID, every later one renews the same cookie), seq 1, 2, 3. */
async function threeReceipts(stack) {
    const v = await V.threeReceipts(stack, { xff: visitorAddress() });
    assert.deepEqual(v.posted.map((p) => p.receipt.seq), [1, 2, 3]);
    return v;
}

/* ---- the page ---- */

async function rows(page) {
    return page.$$eval('#rows tr', (trs) => trs.map((tr) => ({
        time: tr.querySelector('th').textContent,
        datetime: (tr.querySelector('time') || {}).dateTime,
        cells: [...tr.querySelectorAll('td')].map((td) => td.textContent.replace(/\s+/g, ' ').trim()),
        mark: tr.querySelector('.mark').textContent,
        seq: tr.querySelector('.seq').textContent,
        verdict: tr.querySelector('.vname').textContent,
        rid: (tr.querySelector('.rid') || {}).textContent,
    })));
}

async function lookup(page, id) {
    await page.fill('#consent-id', id);
    await page.press('#consent-id', 'Enter');
    await page.waitForFunction(() => {
        const s = document.getElementById('status');
        return s.textContent !== '' && !s.classList.contains('busy');
    });
}

async function status(page) {
    return page.textContent('#status');
}

describe('support page', () => {
    const suite = browserSuite({
        configure: (cfg) => {
            cfg.admin = {
                tokens: [
                    { name: 'support', roles: ['read', 'erase'], sha256: sha256(SUPPORT) },
                    { name: 'reader', roles: ['read'], sha256: sha256(READER) },
                ],
                audit_retention_days: 30,
            };
        },
    });
    let stack;
    let context;
    let page;
    let problems;                   // console errors, page errors
    const adminRequests = [];

    before(async () => {
        stack = suite.stack;
        ({ context, page, problems } = await supportPage(suite, '10.20.30.40', {
            timezoneId: 'Europe/Berlin',
            acceptDownloads: true,
        }));
        page.on('request', (r) => {
            if (r.url().includes('/consent/v1/admin/'))
                adminRequests.push({ url: r.url(), method: r.method(), auth: r.headers().authorization });
        });
        const res = await page.goto(PAGE);
        assert.equal(res.status(), 200);
    });

    it('opens at /consent/admin/', async () => {
        const p = await context.newPage();
        try {
            const res = await p.goto('/consent/admin/');
            assert.equal(res.status(), 200, 'GET /consent/admin/');
            assert.equal(await p.title(), 'Consent support');
        } finally {
            await p.close();
        }
    });

    it('is served with its strict CSP and no inline script or style', async () => {
        const res = await stack.request({ path: PAGE, xff: '10.20.30.40' });
        assert.equal(res.status, 200);
        const html = res.body;
        assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'">/);
        assert.doesNotMatch(html, /<script(?![^>]*\bsrc=)[^>]*>/, 'no inline <script>');
        assert.doesNotMatch(html, /<style|\sstyle=|\son[a-z]+=/i, 'no inline style or handler');
        const js = await stack.request({ path: '/consent/admin/admin.js', xff: '10.20.30.40' });
        assert.equal(js.status, 200);
        const code = js.body.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
        assert.doesNotMatch(code, /innerHTML|outerHTML|insertAdjacentHTML|document\.write|localStorage|sessionStorage|document\.cookie|eval\(/,
                            'text goes in with textContent; nothing is stored');
        // labelled fields
        for (const id of ['token', 'consent-id', 'receipt-id', 'erase-confirm'])
            assert.equal(await page.locator(`label[for="${id}"]`).count(), 1, `a label for #${id}`);
        assert.equal(await page.getAttribute('#status', 'aria-live'), 'polite');
    });

    it('asks for a token and a well-formed ID before calling the API', async () => {
        await page.fill('#token', '');
        await page.fill('#consent-id', 'AAAAAAAAAAAAAAAAAAAAAA');
        await page.click('#consent-go');
        assert.match(await status(page), /support token first/);
        assert.equal(await page.evaluate(() => document.activeElement.id), 'token');
        await page.fill('#token', SUPPORT);
        await page.fill('#consent-id', 'not an id');
        await page.click('#consent-go');
        assert.equal(await page.isVisible('#consent-err'), true);
        assert.equal(await page.getAttribute('#consent-id', 'aria-invalid'), 'true');
        assert.equal(adminRequests.length, 0, 'nothing sent');
        // a wrong token
        await page.fill('#token', 'cst_wrong');
        await lookup(page, 'AAAAAAAAAAAAAAAAAAAAAA');
        assert.match(await status(page), /token was not accepted/);
        assert.equal(await page.isVisible('#consent-err'), false);
        // nothing stored
        await page.fill('#token', SUPPORT);
        await lookup(page, 'AAAAAAAAAAAAAAAAAAAAAA');
        assert.match(await status(page), /Nothing is stored for AAAAAAAAAAAAAAAAAAAAAA/);
        assert.equal(await page.isVisible('#result'), false);
    });

    let v;

    it('shows a history written through the public endpoint, newest first, verified', async () => {
        v = await threeReceipts(stack);
        await page.fill('#token', SUPPORT);
        await lookup(page, v.id);
        assert.match(await status(page), new RegExp(`Found 3 receipts for ${v.id}, all verified`));
        assert.equal(await page.evaluate(() => document.activeElement.id), 'result-h',
                     'focus moves to the result');
        assert.match(await page.textContent('#result-h'), new RegExp(v.id));
        assert.match(await page.textContent('#summary'), /All 3 receipts are verified/);
        const r = await rows(page);
        assert.equal(r.length, 3);
        assert.deepEqual(r.map((x) => x.mark), ['verified', 'verified', 'verified']);
        assert.deepEqual(r.map((x) => [x.seq, x.verdict]), [['#3', 'ok'], ['#2', 'ok'], ['#1', 'ok']]);
        assert.equal(await page.textContent('#verdict'), 'Overall verdict: verified');
        assert.equal(await page.isVisible('#findings'), false, 'no findings');
        assert.match((await page.textContent('#facts')).replace(/\s+/g, ' '),
                     /receipts #1 to #3, seal verified/);
        assert.match((await page.textContent('#facts')).replace(/\s+/g, ' '),
                     /Now on demo ?Accepted all on .*\(receipt #3\)/);
        const posted = [...v.posted].reverse();
        r.forEach((x, i) => {
            const rec = posted[i].receipt;
            assert.equal(x.rid, rec.receipt_id);
            assert.equal(x.datetime, new Date(rec.time_ms).toISOString());
            assert.ok(x.time.includes(new Date(rec.time_ms).toISOString().slice(0, 19).replace('T', ' ') + ' UTC'),
                      `UTC time in ${x.time}`);
            assert.match(x.time, /CET|CEST|GMT\+1|GMT\+2/, 'the local time (Europe/Berlin)');
            assert.match(x.cells[0], /DE-BY.*gdpr · opt-in/, 'jurisdiction: region, regime, model');
            assert.match(x.cells[4], /2026-11-01.*site demo/, 'banner version');
            assert.match(x.cells[3], /sent: no.*honoured: no/, 'GPC');
        });
        assert.match(r[0].cells[1], /Accepted all/);
        assert.match(r[1].cells[1], /Custom choice/);
        assert.match(r[2].cells[1], /Rejected all/);
        assert.match(r[1].cells[2], /necessary ?on.*functional ?on.*analytics ?off.*advertising ?off/);
        assert.match(r[0].cells[2], /advertising ?on/);
        // table semantics
        assert.equal(await page.locator('#history thead th[scope="col"]').count(), 7);
        assert.equal(await page.locator('#history tbody th[scope="row"]').count(), 3);
        assert.ok((await page.textContent('#history caption')).includes(v.id));
        // every API call carried the token as a Bearer header, never in the URL
        assert.ok(adminRequests.length > 0);
        for (const q of adminRequests) {
            assert.ok(!q.url.includes(SUPPORT), 'no token in a URL');
            assert.match(q.auth, /^Bearer cst_/);
        }
    });

    it('exports native and Kantara JSON as downloaded files', async () => {
        const [native] = await Promise.all([page.waitForEvent('download'), page.click('#export-native')]);
        assert.equal(native.suggestedFilename(), `consent-${v.id}.json`);
        const n = JSON.parse(fs.readFileSync(await native.path(), 'utf8'));
        assert.equal(n.consent_id, v.id);
        assert.equal(n.receipts.length, 3);
        assert.deepEqual(n.receipts.map((x) => x.jws), v.posted.map((p) => p.jws).reverse());
        assert.match(await status(page), /Downloaded consent-.*\.json/);

        const [kantara] = await Promise.all([page.waitForEvent('download'), page.click('#export-kantara')]);
        assert.equal(kantara.suggestedFilename(), `consent-${v.id}-kantara.json`);
        const k = JSON.parse(fs.readFileSync(await kantara.path(), 'utf8'));
        assert.equal(k.receipts.length, 3);
        for (const [i, x] of k.receipts.entries()) {
            assert.equal(x.version, 'KI-CR-v1.1.0');
            assert.equal(x.piiPrincipalId, v.id);
            assert.equal(x.consentReceiptID, v.posted[2 - i].receipt.receipt_id);
            assert.equal(x['x-jws'], v.posted[2 - i].jws);
        }
    });

    it('looks up one receipt by its ID and can open the whole history from it', async () => {
        const rid = v.posted[1].receipt.receipt_id;
        await page.fill('#receipt-id', rid.toUpperCase());      // pasted in capitals: normalised
        await page.press('#receipt-id', 'Enter');
        await page.waitForFunction(() => /receipt/.test(document.getElementById('status').textContent) &&
                                         !document.getElementById('status').classList.contains('busy'));
        assert.match(await status(page), /verified/);
        const r = await rows(page);
        assert.equal(r.length, 1);
        assert.equal(r[0].rid, rid);
        assert.equal(r[0].mark, 'verified');
        assert.deepEqual([r[0].seq, r[0].verdict], ['#2', 'ok']);
        assert.equal(await page.textContent('#verdict'), 'Its history: verified');
        assert.match(await page.textContent('#facts'), new RegExp(v.id));
        assert.equal(await page.isVisible('#erase'), false, 'erasure is done from the history');
        const [one] = await Promise.all([page.waitForEvent('download'), page.click('#export-kantara')]);
        assert.equal(one.suggestedFilename(), `receipt-${rid}-kantara.json`);
        await page.click('#show-history');
        await page.waitForFunction(() => document.querySelectorAll('#rows tr').length === 3);
        assert.match(await status(page), /Found 3 receipts/);
    });

    it('marks a receipt changed in Redis TAMPERED and one after a removed receipt BROKEN CHAIN', async () => {
        const t = await threeReceipts(stack);
        const key = receiptKey(t.id);
        // The custom receipt (#2): analytics switched on in its stored choices.
        const stored = await redisOnce(stack.redisPort, 'HGET', key, 2);
        assert.equal(stored[0], 2, 'stored format version');
        assert.equal(stored[CHOICES_LOW], 0b0011, 'necessary and functional on');
        const changed = Buffer.from(stored);
        changed[CHOICES_LOW] |= 0b0100;
        assert.equal(await redisOnce(stack.redisPort, 'HSET', key, 2, changed), 0);
        await lookup(page, t.id);
        let r = await rows(page);
        // #3 was signed over #2's real hash: its link no longer checks out.
        assert.deepEqual(r.map((x) => x.mark), ['BROKEN CHAIN', 'TAMPERED', 'verified']);
        assert.deepEqual(r.map((x) => [x.seq, x.verdict]),
                         [['#3', 'chain_broken'], ['#2', 'bad_signature'], ['#1', 'ok']]);
        assert.match(await page.textContent('#summary'), /2 of 3 receipts failed verification/);
        assert.match(await status(page), /failed verification/);
        assert.match(r[1].cells[2], /necessary ?on.*functional ?on.*analytics ?on.*advertising ?off/,
                     'the changed data is shown as it is stored');
        const cls = await page.getAttribute('#rows tr:nth-child(2)', 'class');
        assert.equal(cls, 'proof-bad');
        assert.equal(await page.getAttribute('#rows tr:nth-child(1)', 'class'), 'proof-warn');
        assert.match(await page.textContent('#verdict'), /^Overall verdict: FAILED/);
        // #3 keeps its own prev_sha256 (of the real #2), so it is rebuilt
        // unchanged and still is the newest the head seal names: only the
        // receipts fail, not the head.
        assert.deepEqual(await page.$$eval('#findings li', (l) => l.map((x) => x.textContent)), [
            'At least one receipt failed verification (see the Proof column). (receipt_failed)',
        ]);

        fs.mkdirSync(ARTIFACTS, { recursive: true });
        await page.screenshot({ path: path.join(ARTIFACTS, 'admin.png'), fullPage: true });

        const b = await threeReceipts(stack);
        assert.equal(await redisOnce(stack.redisPort, 'HDEL', receiptKey(b.id), 2), 1);
        await lookup(page, b.id);
        r = await rows(page);
        assert.deepEqual(r.map((x) => x.mark), ['BROKEN CHAIN', 'verified']);
        assert.deepEqual(r.map((x) => [x.seq, x.verdict]), [['#3', 'chain_broken'], ['#1', 'ok']]);
        assert.match(await page.textContent('#summary'), /1 of 2 receipts failed verification/);
        assert.deepEqual(await page.$$eval('#findings li', (l) => l.map((x) => x.textContent)), [
            'At least one receipt failed verification (see the Proof column). (receipt_failed)',
            'A receipt between the oldest and the newest is missing. (gap)',
        ]);
    });

    it('reports a missing newest receipt and an edited head seal in plain words', async () => {
        // The newest receipt removed: both left verify, the history does not.
        const n = await threeReceipts(stack);
        assert.equal(await redisOnce(stack.redisPort, 'HDEL', receiptKey(n.id), 3), 1);
        await lookup(page, n.id);
        let r = await rows(page);
        assert.deepEqual(r.map((x) => [x.mark, x.seq, x.verdict]),
                         [['verified', '#2', 'ok'], ['verified', '#1', 'ok']]);
        assert.match(await page.textContent('#summary'),
                     /All 2 receipts verify, but the history failed verification/);
        assert.match(await page.textContent('#verdict'), /^Overall verdict: FAILED/);
        assert.match(await status(page), /Found 2 receipts for .* the history failed verification/);
        assert.deepEqual(await page.$$eval('#findings li', (l) => l.map((x) => x.textContent)), [
            'The newest receipt is missing. (missing_newest)',
            'The choices the banner applies do not match the newest receipt. (state_mismatch)',
        ]);

        // The stored choices in the head edited: the seal breaks.
        const s = await threeReceipts(stack);
        const head = await redisOnce(stack.redisPort, 'HGET', receiptKey(s.id), 'm');
        const edited = Buffer.from(head);
        edited[edited.length - 1] ^= 0b0100;       // the site state's choices
        assert.equal(await redisOnce(stack.redisPort, 'HSET', receiptKey(s.id), 'm', edited), 0);
        await lookup(page, s.id);
        r = await rows(page);
        assert.deepEqual(r.map((x) => x.mark), ['verified', 'verified', 'verified']);
        assert.match(await page.textContent('#verdict'), /^Overall verdict: FAILED/);
        assert.match((await page.textContent('#facts')).replace(/\s+/g, ' '), /seal INVALID/);
        assert.deepEqual(await page.$$eval('#findings li', (l) => l.map((x) => x.textContent)), [
            'The head seal does not verify: the head or the stored choices were changed. (seal_invalid)',
        ]);
    });

    it('has no serious or critical accessibility issue (axe-core), light and dark', async () => {
        assert.deepEqual(await axeDocument(page), [], 'history with marks, light');
        await page.emulateMedia({ colorScheme: 'dark' });
        assert.deepEqual(await axeDocument(page), [], 'history with marks, dark');
        await page.screenshot({ path: path.join(ARTIFACTS, 'admin-dark.png'), fullPage: true });
        await page.emulateMedia({ colorScheme: 'light' });
    });

    it('erase: a read-only token is refused; the typed consent ID confirms; the tombstone is shown', async () => {
        const e = await threeReceipts(stack);
        // a read-only token can look but not erase
        await page.fill('#token', READER);
        await lookup(page, e.id);
        await page.click('#erase');
        await page.fill('#erase-confirm', e.id);
        await page.click('#erase-go');
        await page.waitForFunction(() => /role/.test(document.getElementById('status').textContent));
        assert.match(await status(page), /does not have the role/);
        assert.equal(await redisOnce(stack.redisPort, 'HLEN', receiptKey(e.id)), 4, 'nothing erased (head + 3)');

        await page.fill('#token', SUPPORT);
        await page.click('#erase');
        const dialog = page.locator('#erase-dialog');
        assert.equal(await dialog.isVisible(), true);
        assert.equal(await page.textContent('#erase-id'), e.id);
        assert.equal(await page.evaluate(() => document.activeElement.id), 'erase-confirm');
        assert.equal(await page.isDisabled('#erase-go'), true);
        await page.fill('#erase-confirm', e.id.slice(0, 21));
        assert.equal(await page.isDisabled('#erase-go'), true, 'not until the whole ID is typed');
        // cancel keeps everything
        await page.click('#erase-cancel');
        assert.equal(await dialog.isVisible(), false);
        assert.equal(await page.evaluate(() => document.activeElement.id), 'erase', 'focus back on Erase');
        assert.equal(await redisOnce(stack.redisPort, 'HLEN', receiptKey(e.id)), 4);

        await page.click('#erase');
        assert.equal(await page.inputValue('#erase-confirm'), '', 'the confirmation starts empty');
        await page.type('#erase-confirm', e.id);
        assert.equal(await page.isDisabled('#erase-go'), false);
        await page.click('#erase-go');
        await page.waitForSelector('#tombstone:not([hidden])');
        assert.equal(await dialog.isVisible(), false);
        assert.match(await status(page), new RegExp(`Erased ${e.id}: 3 receipts removed, tombstone kept ` +
                                                    `\\(erasure #1, purged from Redis's files\\)\\.`));
        const tomb = (await page.textContent('#tombstone')).replace(/\s+/g, ' ');
        assert.match(tomb, /Erased at/);
        assert.match(tomb, /UTC/);
        assert.match(tomb, /Erased by ?support/);
        assert.match(tomb, /Receipts erased ?3/);
        assert.match(tomb, /This erasure ?erasure #1/);
        assert.match(tomb, /Purged from Redis's files ?yes/);
        assert.equal(await page.isVisible('#history'), false);
        assert.equal(await page.isVisible('#export-native'), false);
        assert.equal(await page.isVisible('#erase'), false);
        assert.equal(await redisOnce(stack.redisPort, 'EXISTS', receiptKey(e.id)), 0);
        assert.equal(await redisOnce(stack.redisPort, 'EXISTS', `${receiptKey(e.id)}:t`), 1);
        await page.screenshot({ path: path.join(ARTIFACTS, 'admin-erased.png'), fullPage: true });

        // a later lookup shows the tombstone too
        await lookup(page, e.id);
        assert.match(await status(page), /was erased/);
        assert.match(await page.textContent('#tombstone'), /support/);
        assert.match((await page.textContent('#tombstone')).replace(/\s+/g, ' '), /Erasures of this ID ?1/);
    });

    it('kept the token in memory only and broke no CSP rule', async () => {
        const stored = await page.evaluate(() => ({
            local: localStorage.length, session: sessionStorage.length, cookie: document.cookie,
            csp: window.__csp,
        }));
        assert.deepEqual(stored, { local: 0, session: 0, cookie: '', csp: [] });
        const cookies = await context.cookies();
        assert.ok(!JSON.stringify(cookies).includes(SUPPORT), 'no cookie holds the token');
        assert.ok(!page.url().includes('cst_'), 'no token in the address');
        assert.deepEqual(problems, []);
        // "Forget" clears it
        await page.click('#token-forget');
        assert.equal(await page.inputValue('#token'), '');
        assert.equal(await page.isVisible('#result'), false);
    });
});
