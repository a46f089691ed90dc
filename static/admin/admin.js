/*
 * admin.js - the support page: look up a consent ID or a receipt ID through
 * the admin API (/consent/v1/admin/, Authorization: Bearer), show every
 * receipt with its sequence number and verification mark, the history's
 * overall verdict and findings in plain words, export (native and Kantara
 * JSON) and erase with a typed confirmation.
 *
 * The token lives in the token field and this script's memory only: never in
 * localStorage, sessionStorage or a cookie. Every text from the server goes
 * into the page with textContent (no HTML is ever parsed from data).
 */
'use strict';

(function () {
    /* The API next to this page: /consent/admin/ -> /consent/v1/admin/ */
    const API = new URL('../v1/admin/', window.location.href).pathname;
    const CONSENT_ID = /^[A-Za-z0-9_-]{21}[AQgw]$/;
    const RECEIPT_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[48][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

    const ACTIONS = {
        accept_all: 'Accepted all',
        reject_all: 'Rejected all',
        custom: 'Custom choice',
        withdraw: 'Withdrew consent',
        gpc: 'GPC signal',
    };

    /* The verifier's findings about a whole history (verify.h), in plain words. */
    const FINDINGS = {
        receipt_failed: 'At least one receipt failed verification (see the Proof column).',
        no_head: 'There are receipts but no sealed head that says which ones must be there.',
        seal_invalid: 'The head seal does not verify: the head or the stored choices were changed.',
        gap: 'A receipt between the oldest and the newest is missing.',
        missing_newest: 'The newest receipt is missing.',
        missing_oldest: 'The oldest kept receipt is missing.',
        unexpected_receipt: 'A receipt is stored outside the sealed sequence.',
        head_hash: 'The newest receipt, as rebuilt from the store, is not the one the head seal names.',
        state_mismatch: 'The choices the banner applies do not match the newest receipt.',
        extra_data: 'Something other than receipts is stored for this consent ID.',
        rolled_back: 'The visitor holds a newer receipt than the store: the history was rolled back.',
        visitor_receipt_differs: 'The receipt the visitor holds differs from the stored one.',
        mixed_consent_ids: 'The receipts belong to several consent IDs.',
        empty: 'There is no signed receipt.',
        newer_receipts_follow: 'Newer receipts follow the one the visitor holds (not a problem).',
    };

    const MESSAGES = {
        unauthorized: 'The token was not accepted. Check it and try again.',
        forbidden: 'This token does not have the role for that (read, erase, audit or stats).',
        forbidden_network: 'The support API is not available from this network.',
        invalid_id: 'That is not a well-formed ID.',
        invalid_parameter: 'The request was not understood.',
        store_unavailable: 'The consent store is unavailable right now. Try again in a few seconds.',
        rate_limited: 'Too many requests. Wait a moment and try again.',
    };

    const $ = (id) => document.getElementById(id);

    /* What is shown: { kind: 'consent' | 'receipt' | 'erased', id, data }. */
    let current = null;
    let busy = false;

    /* ---- small DOM helpers (text only) ---- */

    function el(tag, className, text) {
        const e = document.createElement(tag);
        if (className)
            e.className = className;
        if (text !== undefined && text !== null)
            e.textContent = String(text);
        return e;
    }

    function clear(node) {
        while (node.firstChild)
            node.removeChild(node.firstChild);
    }

    function setStatus(text, kind) {
        const s = $('status');
        s.textContent = text;
        s.className = `status${kind ? ` ${kind}` : ''}`;
    }

    function fieldError(id, text) {
        const p = $(id);
        p.textContent = text || '';
        p.hidden = !text;
        const input = $(id.replace('-err', '-id'));
        if (text)
            input.setAttribute('aria-invalid', 'true');
        else
            input.removeAttribute('aria-invalid');
    }

    function pad(n) {
        return String(n).padStart(2, '0');
    }

    function utc(ms) {
        const d = new Date(ms);
        return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ` +
               `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} UTC`;
    }

    function local(ms) {
        return new Date(ms).toLocaleString(undefined, {
            year: 'numeric', month: 'short', day: 'numeric',
            hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short',
        });
    }

    /* A <time> with the local time and the UTC time under it. */
    function timeCell(ms) {
        const frag = document.createDocumentFragment();
        if (typeof ms !== 'number' || !Number.isFinite(ms)) {
            frag.append(el('span', 'muted', 'unknown'));
            return frag;
        }
        const t = el('time', 'local', local(ms));
        t.dateTime = new Date(ms).toISOString();
        frag.append(t, el('span', 'utc', utc(ms)));
        return frag;
    }

    function setBusy(on) {
        busy = on;
        for (const id of ['consent-go', 'receipt-go', 'export-native', 'export-kantara', 'erase',
                          'erase-go', 'show-history'])
            if (on)
                $(id).setAttribute('aria-disabled', 'true');
            else
                $(id).removeAttribute('aria-disabled');
        document.body.classList.toggle('busy', on);
    }

    /* ---- the API ---- */

    function token() {
        return $('token').value.trim();
    }

    /* Resolves to { status, body } or { status: 0 } when the server cannot
     * be reached. */
    async function api(method, path) {
        let res;
        try {
            res = await fetch(API + path, {
                method,
                headers: { Authorization: `Bearer ${token()}`, Accept: 'application/json' },
                cache: 'no-store',
                credentials: 'omit',
                referrerPolicy: 'no-referrer',
            });
        } catch (_) {
            return { status: 0, body: null };
        }
        let body = null;
        try {
            body = await res.json();
        } catch (_) {
            body = null;
        }
        return { status: res.status, body };
    }

    function errorCode(r) {
        return r.body && r.body.error && typeof r.body.error.code === 'string' ? r.body.error.code : '';
    }

    function explain(r, notFound) {
        if (r.status === 0)
            return 'The server could not be reached.';
        const code = errorCode(r);
        if (code === 'not_found')
            return notFound;
        if (MESSAGES[code])
            return MESSAGES[code];
        return `The server answered ${r.status}${code ? ` (${code})` : ''}.`;
    }

    function needToken() {
        if (token() !== '')
            return false;
        setStatus('Enter your support token first.', 'bad');
        $('token').focus();
        return true;
    }

    function failed(r, notFound) {
        setStatus(explain(r, notFound), 'bad');
        if (errorCode(r) === 'unauthorized')
            $('token').focus();
    }

    /* ---- rendering ---- */

    function receiptProof(item) {
        if (item.verdict === 'ok' && item.signature_valid === true && item.chain_valid === true)
            return { cls: 'ok', text: 'verified', title: 'Signature and chain verified' };
        if (item.signature_valid !== true)
            return { cls: 'bad', text: 'TAMPERED', title: 'The signature does not match: the receipt was changed' };
        return { cls: 'warn', text: 'BROKEN CHAIN', title: 'The link to the previous receipt is broken: a receipt is missing or was changed' };
    }

    function jurisdictionCell(j) {
        const frag = document.createDocumentFragment();
        if (!j || typeof j !== 'object') {
            frag.append(el('span', 'muted', 'unknown'));
            return frag;
        }
        frag.append(el('span', 'region', j.region || 'unknown region'));
        const sub = el('span', 'sub');
        sub.textContent = [j.regime, j.model].filter((x) => typeof x === 'string').join(' · ');
        frag.append(sub);
        if (j.preview === true)
            frag.append(el('span', 'tag', 'preview'));
        return frag;
    }

    function choicesCell(choices) {
        const ul = el('ul', 'choices');
        if (!choices || typeof choices !== 'object')
            return ul;
        for (const [cat, on] of Object.entries(choices)) {
            const li = el('li', on === true ? 'on' : 'off');
            li.append(el('span', 'cat', cat), el('span', 'val', on === true ? 'on' : 'off'));
            ul.append(li);
        }
        return ul;
    }

    function gpcCell(g) {
        const frag = document.createDocumentFragment();
        if (!g || typeof g !== 'object') {
            frag.append(el('span', 'muted', '–'));
            return frag;
        }
        const sent = el('span', g.sent === true ? 'yes' : 'no', `sent: ${g.sent === true ? 'yes' : 'no'}`);
        const hon = el('span', g.honoured === true ? 'yes' : 'no',
                       `honoured: ${g.honoured === true ? 'yes' : 'no'}`);
        frag.append(sent, hon);
        if (g.binding === true)
            frag.append(el('span', 'tag', 'binding'));
        return frag;
    }

    function bannerCell(r) {
        const frag = document.createDocumentFragment();
        const b = r.banner && typeof r.banner === 'object' ? r.banner : {};
        frag.append(el('span', 'mono', b.version || '–'));
        const bits = [];
        if (typeof r.site === 'string')
            bits.push(`site ${r.site}`);
        if (typeof b.consent_revision === 'number')
            bits.push(`rev ${b.consent_revision}`);
        if (typeof r.language === 'string')
            bits.push(r.language);
        frag.append(el('span', 'sub nowrap', bits.join(' · ')));
        return frag;
    }

    function row(item) {
        const tr = el('tr');
        const r = item.receipt && typeof item.receipt === 'object' ? item.receipt : null;
        const proof = receiptProof(item);
        tr.className = `proof-${proof.cls}`;
        const th = el('th');
        th.scope = 'row';
        th.append(timeCell(r ? r.time_ms : null));
        tr.append(th);
        if (r === null) {
            const td = el('td', 'muted', 'This stored receipt cannot be read.');
            td.colSpan = 5;
            tr.append(td);
        } else {
            const j = el('td');
            j.append(jurisdictionCell(r.jurisdiction));
            const a = el('td');
            a.append(el('span', 'action', ACTIONS[r.action] || String(r.action)));
            if (ACTIONS[r.action])
                a.append(el('span', 'sub mono', r.action));
            const c = el('td');
            c.append(choicesCell(r.choices));
            const g = el('td', 'gpc');
            g.append(gpcCell(r.gpc));
            const b = el('td');
            b.append(bannerCell(r));
            tr.append(j, a, c, g, b);
        }
        const p = el('td', 'proof');
        const mark = el('span', `mark ${proof.cls}`, proof.text);
        mark.title = proof.title;
        p.append(mark);
        const seq = el('span', 'seq', `#${typeof item.seq === 'number' ? item.seq : '?'}`);
        seq.title = 'Sequence number within the consent ID';
        const verdict = el('span', 'vname mono', typeof item.verdict === 'string' ? item.verdict : 'unknown');
        verdict.title = 'The verifier\'s verdict';
        p.append(seq, verdict);
        if (r && typeof r.receipt_id === 'string') {
            const rid = el('span', 'rid mono', r.receipt_id);
            rid.title = 'Receipt ID';
            p.append(rid);
        }
        tr.append(p);
        return tr;
    }

    function fact(dl, term, value) {
        const dt = el('dt', null, term);
        const dd = el('dd');
        if (value instanceof Node)
            dd.append(value);
        else
            dd.textContent = String(value);
        dl.append(dt, dd);
    }

    function showResult(heading, idText) {
        $('result').hidden = false;
        const h = $('result-h');
        clear(h);
        h.append(document.createTextNode(`${heading} `), el('code', 'mono', idText));
        clear($('facts'));
        clear($('rows'));
        $('tombstone').hidden = true;
        clear($('tombstone'));
        $('summary').className = 'summary';
        $('summary').textContent = '';
        $('verdict').textContent = '';
        $('verdict').hidden = true;
        clear($('findings'));
        $('findings').hidden = true;
    }

    /* The overall verdict and every finding, above the table. */
    function showVerdict(verdict, findings) {
        const v = $('verdict');
        v.textContent = `Overall verdict: ${verdict === 'verified' ? 'verified' : 'FAILED'}` +
                        (verdict === 'verified' ? '' : ' — do not rely on this history.');
        v.className = `verdict ${verdict === 'verified' ? 'ok' : 'bad'}`;
        v.hidden = false;
        const ul = $('findings');
        clear(ul);
        for (const f of Array.isArray(findings) ? findings : []) {
            const li = el('li', null, FINDINGS[f] || 'Finding:');
            li.append(' ', el('span', 'sub mono', `(${f})`));
            ul.append(li);
        }
        ul.hidden = ul.childElementCount === 0;
    }

    function renderItems(items, caption) {
        clear($('rows'));
        for (const item of items)
            $('rows').append(row(item));
        $('history-caption').textContent = caption;
        $('table-wrap').hidden = false;
        $('legend').hidden = false;
    }

    /* The receipts' summary; failed: the history as a whole failed. */
    function summarise(items, failed) {
        const bad = items.filter((x) => receiptProof(x).cls !== 'ok').length;
        const s = $('summary');
        if (bad === 0 && failed) {
            s.textContent = `${items.length === 1 ? 'The receipt verifies' : `All ${items.length} receipts verify`}` +
                ', but the history failed verification: see the findings.';
            s.className = 'summary bad';
        } else if (bad === 0) {
            s.textContent = items.length === 1 ? 'The receipt is verified.'
                : `All ${items.length} receipts are verified.`;
            s.className = 'summary ok';
        } else {
            s.textContent = `${bad} of ${items.length} receipt${items.length === 1 ? '' : 's'} ` +
                'failed verification: see the Proof column. Do not rely on them.';
            s.className = 'summary bad';
        }
        return bad;
    }

    function showHistory(h) {
        current = { kind: 'consent', id: h.consent_id, data: h };
        showResult('Consent ID', h.consent_id);
        const items = Array.isArray(h.receipts) ? h.receipts : [];
        const failed = h.verdict !== 'verified';
        const bad = summarise(items, failed);
        showVerdict(h.verdict, h.findings);
        const facts = $('facts');
        fact(facts, 'Receipts', `${items.length} shown, ${h.receipts_written} written`);
        if (h.head && typeof h.head === 'object')
            fact(facts, 'Sealed head', `receipts #${h.head.first} to #${h.head.count}, ` +
                 `seal ${h.head.seal_valid === true ? 'verified' : 'INVALID'}`);
        if (typeof h.expires_ms === 'number')
            fact(facts, 'Kept until', `${local(h.expires_ms)} (${utc(h.expires_ms)}), unless renewed`);
        if (h.state && typeof h.state === 'object') {
            for (const [site, st] of Object.entries(h.state)) {
                if (!st || typeof st !== 'object')
                    continue;
                const when = typeof st.time_ms === 'number' ? ` on ${local(st.time_ms)}` : '';
                const seq = typeof st.seq === 'number' ? ` (receipt #${st.seq})` : '';
                fact(facts, `Now on ${site}`, `${ACTIONS[st.action] || st.action || 'unknown'}${when}${seq}`);
            }
        }
        renderItems(items, `Receipts of ${h.consent_id}, newest first`);
        $('export-native').hidden = false;
        $('export-kantara').hidden = false;
        $('erase').hidden = false;
        $('show-history').hidden = true;
        setStatus(`Found ${items.length} receipt${items.length === 1 ? '' : 's'} for ${h.consent_id}` +
                  (bad ? ` — ${bad} failed verification.`
                       : failed ? ' — the history failed verification.' : ', all verified.'),
                  bad || failed ? 'bad' : 'ok');
        $('result-h').focus();
    }

    function showReceipt(r) {
        const rid = r.receipt && r.receipt.receipt_id;
        current = { kind: 'receipt', id: rid, consentId: r.consent_id, data: r };
        showResult('Receipt', rid);
        const bad = summarise([r], false);
        showVerdict(r.history_verdict, r.findings);
        $('verdict').textContent = `Its history: ${r.history_verdict === 'verified' ? 'verified' : 'FAILED verification'}`;
        fact($('facts'), 'Consent ID', el('code', 'mono', r.consent_id));
        renderItems([r], `Receipt ${rid}`);
        $('export-native').hidden = false;
        $('export-kantara').hidden = false;
        $('erase').hidden = true;
        $('show-history').hidden = false;
        setStatus(`Found receipt ${rid}${bad ? ': it failed verification.' : ', verified.'}`,
                  bad ? 'bad' : 'ok');
        $('result-h').focus();
    }

    /* t: the tombstone; erasure: the erasure answer when it was just done. */
    function showTombstone(id, t, justErased, erasure) {
        current = { kind: 'erased', id, data: t };
        showResult('Consent ID', id);
        $('summary').textContent = justErased ? 'Erased. Only the tombstone below is kept.'
            : 'This consent ID was erased. Only its tombstone is kept.';
        $('summary').className = 'summary erased';
        const box = $('tombstone');
        clear(box);
        box.append(el('h3', 'h', 'Tombstone'));
        const dl = el('dl', 'facts');
        if (t && typeof t === 'object') {
            if (typeof t.erased_ms === 'number') {
                const when = document.createDocumentFragment();
                when.append(timeCell(t.erased_ms));
                fact(dl, 'Erased at', when);
            }
            fact(dl, 'Erased by', t.by || 'unknown');
            if (typeof t.receipts === 'number')
                fact(dl, 'Receipts erased', t.receipts);
            if (typeof t.receipts_written === 'number')
                fact(dl, 'Receipts ever written', t.receipts_written);
            if (typeof t.erasures === 'number')
                fact(dl, 'Erasures of this ID', t.erasures);
        }
        if (erasure) {
            fact(dl, 'This erasure', `erasure #${erasure.erasure}`);
            fact(dl, 'Purged from Redis\'s files', erasure.purged === true ? 'yes'
                : 'not yet: Redis had not finished rewriting its files');
        }
        box.append(dl);
        box.hidden = false;
        clear($('rows'));
        $('table-wrap').hidden = true;
        $('legend').hidden = true;
        $('export-native').hidden = true;
        $('export-kantara').hidden = true;
        $('erase').hidden = true;
        $('show-history').hidden = true;
        $('result-h').focus();
    }

    function hideResult() {
        current = null;
        $('result').hidden = true;
    }

    /* ---- actions ---- */

    async function lookupConsent(id) {
        if (needToken())
            return;
        setBusy(true);
        setStatus(`Looking up ${id}…`, 'busy');
        try {
            const r = await api('GET', `consents/${encodeURIComponent(id)}`);
            if (r.status === 200 && r.body) {
                showHistory(r.body);
            } else if (errorCode(r) === 'erased') {
                showTombstone(id, r.body.error.tombstone, false);
                setStatus(`${id} was erased.`, 'ok');
            } else {
                hideResult();
                failed(r, `Nothing is stored for ${id}.`);
            }
        } finally {
            setBusy(false);
        }
    }

    async function lookupReceipt(rid) {
        if (needToken())
            return;
        setBusy(true);
        setStatus(`Looking up receipt ${rid}…`, 'busy');
        try {
            const r = await api('GET', `receipts/${encodeURIComponent(rid)}`);
            if (r.status === 200 && r.body) {
                showReceipt(r.body);
            } else {
                hideResult();
                failed(r, `No stored receipt has the ID ${rid}.`);
            }
        } finally {
            setBusy(false);
        }
    }

    /* Hands text to the browser as a file download (Blob + object URL). */
    function download(name, text) {
        const blob = new Blob([text], { type: 'application/json' });
        const url = URL.createObjectURL(blob);
        const a = document.createElement('a');
        a.href = url;
        a.download = name;
        a.hidden = true;
        document.body.append(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 60000);
    }

    async function exportAs(format) {
        if (current === null || current.kind === 'erased' || busy || needToken())
            return;
        const c = current;
        const path = c.kind === 'consent' ? `consents/${encodeURIComponent(c.id)}`
            : `receipts/${encodeURIComponent(c.id)}`;
        const name = `${c.kind === 'consent' ? 'consent' : 'receipt'}-${c.id}` +
                     `${format === 'kantara' ? '-kantara' : ''}.json`;
        setBusy(true);
        setStatus(`Preparing ${name}…`, 'busy');
        try {
            const r = await api('GET', `${path}?format=${format}`);
            if (r.status !== 200 || !r.body) {
                failed(r, 'Nothing is stored any more.');
                return;
            }
            download(name, `${JSON.stringify(r.body, null, 2)}\n`);
            setStatus(`Downloaded ${name}. Verify it offline with: consentctl verify ${name} --jwks keys.json`, 'ok');
        } finally {
            setBusy(false);
        }
    }

    function openErase() {
        if (current === null || current.kind !== 'consent' || busy)
            return;
        $('erase-id').textContent = current.id;
        $('erase-confirm').value = '';
        $('erase-go').disabled = true;
        $('erase-dialog').showModal();
        $('erase-confirm').focus();
    }

    function closeErase() {
        const d = $('erase-dialog');
        if (d.open)
            d.close();
    }

    async function doErase(ev) {
        ev.preventDefault();
        if (current === null || current.kind !== 'consent' || busy)
            return;
        const id = current.id;
        if ($('erase-confirm').value.trim() !== id) {
            $('erase-go').disabled = true;
            return;
        }
        setBusy(true);
        setStatus(`Erasing ${id}…`, 'busy');
        try {
            const r = await api('DELETE', `consents/${encodeURIComponent(id)}`);
            closeErase();
            // 202: erased, but Redis has not rewritten its files yet.
            if ((r.status === 200 || r.status === 202) && r.body) {
                showTombstone(id, r.body.tombstone, true, r.body);
                setStatus(`Erased ${id}: ${r.body.receipts_erased} receipt` +
                          `${r.body.receipts_erased === 1 ? '' : 's'} removed, tombstone kept ` +
                          `(erasure #${r.body.erasure}, ` +
                          `${r.body.purged === true ? 'purged from Redis\'s files' : 'not yet purged from Redis\'s files'}).`,
                          r.body.purged === true ? 'ok' : 'bad');
            } else {
                failed(r, `Nothing is stored for ${id}.`);
                $('erase').focus();
            }
        } finally {
            setBusy(false);
        }
    }

    /* ---- wiring ---- */

    function onConsentSubmit(ev) {
        ev.preventDefault();
        if (busy)
            return;
        const id = $('consent-id').value.trim();
        $('consent-id').value = id;
        if (!CONSENT_ID.test(id)) {
            fieldError('consent-err', id === '' ? 'Enter a consent ID.'
                : 'A consent ID is 22 characters: letters, digits, "-" and "_".');
            $('consent-id').focus();
            return;
        }
        fieldError('consent-err', '');
        lookupConsent(id);
    }

    function onReceiptSubmit(ev) {
        ev.preventDefault();
        if (busy)
            return;
        const rid = $('receipt-id').value.trim().toLowerCase();
        $('receipt-id').value = rid;
        if (!RECEIPT_ID.test(rid)) {
            fieldError('receipt-err', rid === '' ? 'Enter a receipt ID.'
                : 'A receipt ID is a UUID such as 6f1c2d3e-4b5a-8c6d-8e7f-0123456789ab.');
            $('receipt-id').focus();
            return;
        }
        fieldError('receipt-err', '');
        lookupReceipt(rid);
    }

    /* ---- analytics (GET /consent/v1/admin/stats, role stats) ---- */

    function percent(r) {
        if (!r)
            return '–';
        const f = (x) => `${(100 * x).toFixed(1)}%`;
        return `${f(r.rate)} (${f(r.low)}–${f(r.high)})`;
    }

    /* A table from a header and rows of cells; the first cell of a row
     * is its header (scope=row). */
    function fillTable(id, head, rows) {
        const t = $(id);
        const caption = t.querySelector('caption');
        clear(t);
        t.appendChild(caption);
        const thead = el('thead');
        const tr = el('tr');
        for (const h of head) {
            const th = el('th', '', h);
            th.scope = 'col';
            tr.appendChild(th);
        }
        thead.appendChild(tr);
        t.appendChild(thead);
        const tbody = el('tbody');
        for (const cells of rows) {
            const r = el('tr');
            cells.forEach((c, i) => {
                const cell = el(i === 0 ? 'th' : 'td', '', c);
                if (i === 0)
                    cell.scope = 'row';
                r.appendChild(cell);
            });
            tbody.appendChild(r);
        }
        t.appendChild(tbody);
    }

    const counts = (r) => [r.shown, r.answered, r.answers.accept_all, r.answers.reject_all,
                           r.answers.custom, r.answers.gpc, percent(r.answer_rate), percent(r.accept_rate)];
    const COUNT_HEAD = ['Shown', 'Answered', 'Accepted all', 'Rejected all', 'Custom',
                        'GPC (automatic)', 'Answer rate (95%)', 'Accept rate (95%)'];

    /* The charts (uPlot), each drawn from the same rows as its table. */
    const charts = {};
    const rateOf = (r) => (r ? r.rate : null);
    const share = (n, d) => (d > 0 ? n / d : null);
    const WHOLE = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 2e4, 5e4, 1e5, 2e5, 5e5, 1e6, 1e7, 1e8, 1e9];
    const asPercent = (u, vals) => vals.map((v) => `${Math.round(100 * v)}%`);

    function draw(name, opts, data) {
        const box = $(`chart-${name}`);
        if (charts[name])
            charts[name].destroy();
        delete charts[name];
        clear(box);
        box.closest('figure').hidden = data[0].length === 0;
        if (data[0].length === 0)
            return;
        charts[name] = new window.uPlot(Object.assign({
            width: Math.max(320, box.clientWidth || 800),
            height: 260,
        }, opts), data, box);
        charts[name].labels = opts.labels || null;
    }

    function drawDays(days) {
        const x = days.rows.map((r) => Date.parse(`${r.key}T00:00:00Z`) / 1000);
        const tzDate = (ts) => window.uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC');
        draw('days', {
            tzDate,
            axes: [{}, { incrs: WHOLE }],
            series: [{}, { label: 'Shown', stroke: '#2563eb' }, { label: 'Answered', stroke: '#7c3aed' },
                     { label: 'Accepted all', stroke: '#15803d' }, { label: 'Rejected all', stroke: '#b91c1c' }],
        }, [x, days.rows.map((r) => r.shown), days.rows.map((r) => r.answered),
            days.rows.map((r) => r.answers.accept_all), days.rows.map((r) => r.answers.reject_all)]);
        draw('rates', {
            tzDate,
            scales: { y: { range: [0, 1] } },
            axes: [{}, { values: asPercent }],
            series: [{}, { label: 'Answer rate', stroke: '#7c3aed', value: (u, v) => (v == null ? '–' : `${(100 * v).toFixed(1)}%`) },
                     { label: 'Accept rate', stroke: '#15803d', value: (u, v) => (v == null ? '–' : `${(100 * v).toFixed(1)}%`) },
                     { label: 'Reject rate', stroke: '#b91c1c', value: (u, v) => (v == null ? '–' : `${(100 * v).toFixed(1)}%`) }],
        }, [x, days.rows.map((r) => rateOf(r.answer_rate)), days.rows.map((r) => rateOf(r.accept_rate)),
            days.rows.map((r) => share(r.answers.reject_all, r.answered))]);
    }

    /* Bars over named groups (regions, categories, states): x is the
     * group's index, the axis names it; two series side by side. */
    function drawBars(name, labels, series, columns, rate) {
        const n = labels.length;
        const bar = (i) => window.uPlot.paths.bars({
            size: [series.length > 1 ? 0.4 : 0.6, 64],
            align: series.length > 1 ? (i === 0 ? -1 : 1) : 0,
        });
        const fmt = rate ? (u, v) => (v == null ? '–' : `${(100 * v).toFixed(1)}%`) : (u, v) => (v == null ? '–' : String(v));
        draw(name, {
            labels,
            scales: { x: { time: false, range: () => [-0.5, n - 0.5] },
                      y: rate ? { range: [0, 1] } : { range: (u, lo, hi) => [0, Math.max(1, hi)] } },
            axes: [{ splits: () => labels.map((l, i) => i), values: (u, vals) => vals.map((v) => labels[v] || '') },
                   rate ? { values: asPercent } : { incrs: WHOLE }],
            legend: { live: false },
            series: [{ label: 'Group', value: (u, v) => (v == null ? '–' : labels[v] || '') },
                     ...series.map((s, i) => ({ label: s.label, stroke: s.color, fill: s.color, width: 0,
                                                points: { show: false }, value: fmt, paths: bar(i) }))],
        }, [labels.map((l, i) => i), ...columns]);
    }

    async function loadAnalytics(ev) {
        ev.preventDefault();
        if (needToken() || busy)
            return;
        const q = new URLSearchParams({ site: $('stats-site').value.trim() });
        if ($('stats-from').value)
            q.set('from', $('stats-from').value);
        if ($('stats-to').value)
            q.set('to', $('stats-to').value);
        setStatus('Reading the analytics…', '');
        const by = ['day', 'region', 'category', 'variant'];
        const answers = await Promise.all(by.map((b) => api('GET', `stats?${q}&by=${b}`)));
        const bad = answers.find((r) => r.status !== 200);
        if (bad) {
            $('stats-result').hidden = true;
            failed(bad, 'No such site.');
            return;
        }
        const [days, regions, cats, variants] = answers.map((r) => r.body);
        $('stats-result').hidden = false;
        const rejectRate = (r) => {
            const x = share(r.answers.reject_all, r.answered);
            return x === null ? '–' : `${(100 * x).toFixed(1)}%`;
        };
        fillTable('t-day', ['Day (UTC)', ...COUNT_HEAD, 'Reject rate'],
                  days.rows.map((r) => [r.key, ...counts(r), rejectRate(r)]));
        fillTable('t-region', ['Region', ...COUNT_HEAD, 'Opted out by hand'],
                  [...regions.rows, regions.total].map((r) => [r.key, ...counts(r), r.opted_out]));
        fillTable('t-category', ['Category', 'On', 'Off', 'Opt-in rate (95%)'],
                  cats.rows.map((r) => [r.key, r.on, r.off, percent(r.on_rate)]));
        const tests = {};
        for (const t of (variants.experiment && variants.experiment.variants) || [])
            tests[t.key] = t;
        const p = (t) => (t ? `${t.p.toPrecision(3)}${t.significant ? ' (significant)' : ''}` : '–');
        $('t-variant-wrap').hidden = !variants.experiment;
        fillTable('t-variant', ['Variant', 'Shown', 'Answered', 'Answer rate (95%)', 'Accept rate (95%)',
                                'Answer rate p', 'Accept rate p'],
                  variants.rows.map((r) => [r.key, r.shown, r.answered, percent(r.answer_rate),
                                            percent(r.accept_rate),
                                            r.key === (variants.experiment || {}).baseline ? 'baseline'
                                                : p(tests[r.key] && tests[r.key].answer_rate),
                                            r.key === (variants.experiment || {}).baseline ? 'baseline'
                                                : p(tests[r.key] && tests[r.key].accept_rate)]));
        drawDays(days);
        drawBars('regions', regions.rows.map((r) => r.key),
                 [{ label: 'Answer rate', color: '#7c3aed' }, { label: 'Accept rate', color: '#15803d' }],
                 [regions.rows.map((r) => rateOf(r.answer_rate)), regions.rows.map((r) => rateOf(r.accept_rate))], true);
        drawBars('categories', cats.rows.map((r) => r.key), [{ label: 'Opt-in rate', color: '#2563eb' }],
                 [cats.rows.map((r) => rateOf(r.on_rate))], true);
        const states = regions.rows.filter((r) => r.key.startsWith('US-'));
        drawBars('gpc', states.map((r) => r.key),
                 [{ label: 'GPC (automatic)', color: '#0e7490' }, { label: 'Opted out by hand', color: '#b45309' }],
                 [states.map((r) => r.answers.gpc), states.map((r) => r.opted_out)], false);
        setStatus(`Analytics of ${days.site}, ${days.from} to ${days.to} (UTC).`, 'ok');
    }

    /* For tests and the curious: a chart's data as drawn (days, rates,
     * regions, categories, gpc) and, for bars, the groups it names. */
    window.consentAnalytics = {
        data: (name = 'days') => (charts[name] ? charts[name].data : null),
        labels: (name) => (charts[name] ? charts[name].labels : null),
    };

    function init() {
        $('stats-form').addEventListener('submit', loadAnalytics);
        $('consent-form').addEventListener('submit', onConsentSubmit);
        $('receipt-form').addEventListener('submit', onReceiptSubmit);
        $('export-native').addEventListener('click', () => exportAs('native'));
        $('export-kantara').addEventListener('click', () => exportAs('kantara'));
        $('erase').addEventListener('click', openErase);
        $('show-history').addEventListener('click', () => {
            if (current && current.kind === 'receipt' && !busy) {
                $('consent-id').value = current.consentId;
                lookupConsent(current.consentId);
            }
        });
        $('erase-confirm').addEventListener('input', () => {
            $('erase-go').disabled = current === null ||
                $('erase-confirm').value.trim() !== current.id;
        });
        $('erase-form').addEventListener('submit', doErase);
        $('erase-cancel').addEventListener('click', () => {
            closeErase();
        });
        $('erase-dialog').addEventListener('close', () => {
            if (!$('erase').hidden)
                $('erase').focus();
        });
        $('token-show').addEventListener('click', () => {
            const t = $('token');
            const show = t.type === 'password';
            t.type = show ? 'text' : 'password';
            $('token-show').setAttribute('aria-pressed', String(show));
            $('token-show').textContent = show ? 'Hide' : 'Show';
        });
        $('token-forget').addEventListener('click', () => {
            $('token').value = '';
            hideResult();
            setStatus('Token forgotten.', '');
            $('token').focus();
        });
    }

    init();
}());
