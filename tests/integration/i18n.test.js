'use strict';
/*
 * i18n.test.js - the default texts (i18n/, one file per language, en.json
 * the master): every file complete (missing and extra keys, empty texts and
 * changed {placeholders} listed per language) and visitors reading their
 * language through the real stack (nginx -> consentd -> redis-server): a Brazilian
 * and a Japanese visitor get Portuguese and Japanese texts, an Arabic one
 * gets dir "rtl". A broken default file, refused at load with its name and
 * key, is a unit case (tests/test_config.c).
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/i18n.test.js
 */
const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');

const { ROOT } = require('./lib/stack');
const { withStack } = require('./lib/suite');

const I18N = path.join(ROOT, 'i18n');
const BANNER = '/consent/v1/banner?site=demo';
/* What issue 11 asks for: every official EU language and these. */
const REQUIRED = ['bg', 'cs', 'da', 'de', 'el', 'en', 'es', 'et', 'fi', 'fr', 'ga', 'hr', 'hu',
                  'it', 'lt', 'lv', 'mt', 'nl', 'pl', 'pt', 'ro', 'sk', 'sl', 'sv',
                  'is', 'no', 'pt-BR', 'es-419', 'fr-CA', 'ja', 'ko', 'zh-Hans', 'zh-Hant',
                  'ar', 'he', 'tr', 'uk'];

const sha256 = (s) => crypto.createHash('sha256').update(s).digest('hex');
const read = (file) => JSON.parse(fs.readFileSync(file, 'utf8'));
const placeholders = (s) => [...new Set(s.match(/\{[a-z_]+\}/g) || [])].sort();

function files() {
    return fs.readdirSync(I18N).filter((f) => f.endsWith('.json')).sort();
}

/* What is wrong with file against master, one line per problem. */
function problems(file, master, at = '$') {
    const out = [];
    if (typeof master === 'string') {
        if (typeof file !== 'string')
            return [`${at}: not a string`];
        if (file.trim() === '')
            out.push(`${at}: empty`);
        const want = placeholders(master), got = placeholders(file);
        if (want.join() !== got.join())
            out.push(`${at}: placeholders ${got.join(' ') || 'none'}, en.json has ${want.join(' ') || 'none'}`);
        return out;
    }
    if (file === null || typeof file !== 'object' || Array.isArray(file))
        return [`${at}: not an object`];
    for (const k of Object.keys(master)) {
        if (!(k in file))
            out.push(`${at}.${k}: missing`);
        else
            out.push(...problems(file[k], master[k], `${at}.${k}`));
    }
    for (const k of Object.keys(file))
        if (!(k in master))
            out.push(`${at}.${k}: not in en.json`);
    return out;
}

describe('default texts: every language file complete', () => {
    const master = read(path.join(I18N, 'en.json'));

    it('has a file for every language issue 11 names', () => {
        const have = new Set(files().map((f) => f.slice(0, -5)));
        assert.deepEqual(REQUIRED.filter((t) => !have.has(t)), [], 'languages without a file');
    });

    it('every file has exactly en.json\'s keys, no empty text and the same placeholders', () => {
        const byLanguage = {};
        for (const f of files()) {
            const p = problems(read(path.join(I18N, f)), master);
            if (p.length > 0)
                byLanguage[f] = p;
        }
        assert.deepEqual(byLanguage, {}, 'problems per language file:\n' +
            Object.entries(byLanguage).map(([f, p]) => `${f}:\n  ${p.join('\n  ')}`).join('\n'));
    });

    it('the checker finds a missing key, an extra key and a lost placeholder', () => {
        const de = read(path.join(I18N, 'de.json'));
        delete de.panel.saved;
        de.panel.extra = 'x';
        de.placeholder.allow = 'Erlauben';
        assert.deepEqual(problems(de, master).sort(), [
            '$.panel.extra: not in en.json',
            '$.panel.saved: missing',
            '$.placeholder.allow: placeholders none, en.json has {category}',
        ]);
    });

    it('every translation is translated (its titles and buttons differ from English)', () => {
        const same = [];
        for (const f of files().filter((n) => n !== 'en.json')) {
            const t = read(path.join(I18N, f));
            for (const [section, key] of [['opt-in', 'title'], ['opt-in', 'accept_all'],
                                          ['opt-in', 'reject_all'], ['panel', 'save'],
                                          ['notice', 'body']])
                if (t[section][key] === master[section][key])
                    same.push(`${f}: ${section}.${key}`);
        }
        assert.deepEqual(same, []);
    });

    it('the demo site lists en, de, fr, es, pt-BR, ja and ar', () => {
        const demo = read(path.join(ROOT, 'cgi', 'consentd.example.json')).sites[0];
        for (const tag of ['en', 'de', 'fr', 'es', 'pt-BR', 'ja', 'ar'])
            assert.ok(tag in demo.languages, tag);
    });
});

describe('visitors read their language (real stack)', () => {
    let stack;
    withStack({}, (s) => { stack = s; });

    const get = (xff, lang) => stack.request({ path: BANNER, xff,
                                               headers: [['Accept-Language', lang]] });

    it('a Brazilian visitor (pt-BR) reads Portuguese', async () => {
        const res = await get('200.147.0.1', 'pt-BR,pt;q=0.9,en;q=0.5');
        const pt = read(path.join(I18N, 'pt-BR.json'));
        assert.equal(res.status, 200);
        assert.equal(res.json.jurisdiction.regime, 'lgpd');
        assert.equal(res.json.language, 'pt-br');
        assert.equal(res.json.dir, 'ltr');
        assert.equal(res.json.texts.title, pt['opt-in'].title);
        assert.equal(res.json.texts.accept_all, 'Aceitar todos');
        assert.deepEqual(res.json.texts.panel, pt.panel);
        assert.deepEqual(res.json.texts.categories.analytics, pt.categories.analytics);
        assert.equal(res.json.texts_sha256, sha256(JSON.stringify(res.json.texts)));
    });

    it('a Japanese visitor (ja) reads Japanese', async () => {
        const res = await get('1.0.16.1', 'ja');
        const ja = read(path.join(I18N, 'ja.json'));
        assert.equal(res.json.jurisdiction.model, 'notice');
        assert.equal(res.json.language, 'ja');
        assert.equal(res.json.texts.title, ja.notice.title);
        assert.equal(res.json.texts.body, ja.notice.body);
        assert.deepEqual(res.json.texts.placeholder, ja.placeholder);
        assert.equal(res.json.texts_sha256, sha256(JSON.stringify(res.json.texts)));
    });

    it('an Arabic visitor gets dir "rtl" and Arabic texts; English stays "ltr"', async () => {
        const ar = await get('46.4.0.1', 'ar');
        assert.equal(ar.json.language, 'ar');
        assert.equal(ar.json.dir, 'rtl');
        assert.equal(ar.json.texts.title, read(path.join(I18N, 'ar.json'))['opt-in'].title);
        const en = await get('46.4.0.1', 'en');
        assert.equal(en.json.dir, 'ltr');
        assert.notEqual(ar.json.texts_sha256, en.json.texts_sha256);
    });

    it('a receipt written from the Japanese banner records language ja', async () => {
        const d = await get('1.0.16.1', 'ja');
        const res = await stack.request({
            method: 'POST', path: '/consent/v1/consents', xff: '1.0.16.1',
            headers: [['Content-Type', 'application/json']],
            body: JSON.stringify({ site: 'demo', banner_version: d.json.banner_version,
                                   texts_sha256: d.json.texts_sha256, action: 'reject_all' }),
        });
        assert.equal(res.status, 201, res.body);
        assert.equal(res.json.receipt.language, 'ja');
        assert.equal(res.json.receipt.purposes.analytics.name,
                     read(path.join(I18N, 'ja.json')).categories.analytics.name);
    });
});
