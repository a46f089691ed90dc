'use strict';
/*
 * gpp.test.js - conformance of gpp/ (driven through consentctl gpp decode /
 * gpp encode) with the IAB's reference library @iabgpp/cmpapi from npm
 * (tests/gpp/, installed by `make integration`):
 * - strings the reference encodes, for every section and a matrix of field
 *   values, sub-section present or not, GPC on or off, decode with ours to
 *   exactly the fields the reference decodes them to, and encode back to
 *   the same string;
 * - strings we encode from such fields decode with the reference to those
 *   fields, and are byte for byte the string the reference writes;
 * - a malformed string is refused with a reason and exit 2;
 * - against a real stack (redis-server, consentd, nginx): the banner
 *   decision's gpp, for every region geo/rules.json maps to a section x GPC
 *   x the choice in force, decodes with the reference to the fields the
 *   rules say; a receipt records the string in force after the choice and
 *   /consents/me returns it; regions without a section get none.
 *
 *   CONSENTCTL=build/asan/consentctl node --test tests/integration/gpp.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..', '..');
const CONSENTCTL = process.env.CONSENTCTL
    ? path.resolve(process.cwd(), process.env.CONSENTCTL)
    : path.join(ROOT, 'build', 'asan', 'consentctl');
const SANITIZER = /ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:/;
const REFERENCE = path.join(ROOT, 'tests', 'gpp', 'node_modules', '@iabgpp', 'cmpapi');

const SECTIONS = ['usnat', 'usca', 'usva', 'usco', 'usut', 'usct', 'usfl', 'usmt', 'usor',
    'ustx', 'usde', 'usia', 'usne', 'usnh', 'usnj', 'ustn', 'usmn', 'usmd', 'usin', 'usky',
    'usri'];
/* Fields that are not values one sets: fixed by the section, or how the
 * reference marks a sub-section (we print GpcSegmentIncluded instead). */
const FIXED = new Set(['Version', 'MspaVersion', 'GpcSegmentType']);
const SUB_FLAG = { gpc: 'GpcSegmentIncluded', sensitive: 'SensitiveDataConsentSegmentIncluded' };

let GppModel;

function ctl(args, input) {
    const r = spawnSync(CONSENTCTL, args, {
        cwd: ROOT, input: input || '', encoding: 'utf8', timeout: 20000,
        env: { PATH: process.env.PATH, HOME: process.env.HOME || '/' },
    });
    assert.equal(r.error, undefined, `consentctl ${args.join(' ')}: ${r.error}`);
    assert.doesNotMatch(r.stderr, SANITIZER, `sanitizer report from consentctl ${args.join(' ')}`);
    return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function ourDecode(s) {
    const r = ctl(['--json', 'gpp', 'decode', s]);
    assert.equal(r.code, 0, `gpp decode ${s}: ${r.stderr}`);
    return JSON.parse(r.stdout);
}

function ourEncode(obj) {
    const r = ctl(['gpp', 'encode', '-'], JSON.stringify(obj));
    assert.equal(r.code, 0, `gpp encode ${JSON.stringify(obj)}: ${r.stderr}`);
    return r.stdout.trim();
}

/* A small deterministic generator: the same matrix on every run. */
function prng(seed) {
    let x = seed >>> 0 || 1;
    return (n) => {
        x ^= x << 13; x >>>= 0;
        x ^= x >>> 17;
        x ^= x << 5; x >>>= 0;
        return x % n;
    };
}

/* The kind of a section's optional sub-section, as the reference has it. */
function subKind(name) {
    const m = new GppModel();
    m.setFieldValue(name, 'SaleOptOut', 0);
    const obj = m.getSection(name);
    if ('Gpc' in obj) return 'gpc';
    if (['usin', 'usky', 'usri'].includes(name)) return 'sensitive';
    return 'none';
}

/*
 * Values for every settable field of section name: case 0 all 0 (MSPA
 * covered 1), case 1 all 2, case 2 all 1, then values from rnd. The
 * sub-section present in cases where (k % 3) != 1; GPC on when k is odd.
 */
function valuesFor(name, k, rnd) {
    const m = new GppModel();
    m.setFieldValue(name, 'SaleOptOut', 0);
    const template = m.getSection(name);
    const kind = subKind(name);
    const v = {};
    const pick = (i) => (k === 0 ? 0 : k === 1 ? 2 : k === 2 ? 1 : rnd(3));
    for (const [field, def] of Object.entries(template)) {
        if (FIXED.has(field) || field === 'Gpc' || field === 'GpcSegmentIncluded' ||
            field === 'SensitiveDataConsentSegmentIncluded') continue;
        if (field === 'MspaCoveredTransaction') {
            v[field] = k === 0 ? 1 : k === 1 ? 2 : 1 + rnd(2);
        } else if (Array.isArray(def)) {
            v[field] = def.map((_, i) => pick(i));
        } else {
            v[field] = pick(0);
        }
    }
    if (kind !== 'none') v[SUB_FLAG[kind]] = k % 3 !== 1;
    if (kind === 'gpc') v.Gpc = v.GpcSegmentIncluded && k % 2 === 1;
    if (kind === 'sensitive' && !v.SensitiveDataConsentSegmentIncluded) {
        v.SensitiveDataProcessing = v.SensitiveDataProcessing.map(() => 0);
    }
    return v;
}

/* The reference's model with these values for these sections. */
function referenceModel(values) {
    const m = new GppModel();
    for (const [name, fields] of Object.entries(values)) {
        for (const [f, val] of Object.entries(fields)) m.setFieldValue(name, f, val);
    }
    return m;
}

/* What the reference decodes string s to, per section, in our shape. */
function referenceFields(s, names) {
    const m = new GppModel(s);
    const out = {};
    for (const name of names) {
        const obj = m.getSection(name);
        assert.ok(obj, `the reference finds ${name} in ${s}`);
        const kind = subKind(name);
        const f = {};
        for (const [k, v] of Object.entries(obj)) {
            if (k === 'GpcSegmentType') continue;
            f[k] = v;
        }
        if (kind !== 'none') f[SUB_FLAG[kind]] = m.getFieldValue(name, SUB_FLAG[kind]);
        if (kind === 'sensitive' && !f[SUB_FLAG[kind]]) delete f.SensitiveDataProcessing;
        if (kind === 'gpc' && !f.GpcSegmentIncluded) f.Gpc = false;
        out[name] = f;
    }
    return out;
}

const CASES = 8;

describe('GPP conformance with @iabgpp/cmpapi', () => {
    before(async () => {
        assert.ok(fs.existsSync(CONSENTCTL), `${CONSENTCTL} (make build/asan/consentctl)`);
        assert.ok(fs.existsSync(REFERENCE), 'tests/gpp/node_modules (npm ci --prefix tests/gpp)');
        ({ GppModel } = await import(path.join(REFERENCE, 'lib', 'mjs', 'index.js')));
    });

    it('the reference library is the version the layouts were taken from', () => {
        const pkg = JSON.parse(fs.readFileSync(path.join(REFERENCE, 'package.json'), 'utf8'));
        assert.equal(pkg.version, '3.2.0');
    });

    it('every section: the reference\'s strings decode with ours to the reference\'s fields and re-encode to themselves', () => {
        const rnd = prng(14);
        for (let k = 0; k < CASES; k++) {
            /* every section in one string, and each alone */
            const values = {};
            for (const name of SECTIONS) values[name] = valuesFor(name, k, rnd);
            const strings = [[referenceModel(values).encode(), SECTIONS]];
            for (const name of SECTIONS) {
                strings.push([referenceModel({ [name]: values[name] }).encode(), [name]]);
            }
            for (const [s, names] of strings) {
                const ours = ourDecode(s);
                const want = referenceFields(s, names);
                assert.deepEqual(ours.sectionIds, new GppModel(s).getHeader().SectionIds, s);
                assert.deepEqual(ours.sections, want, `case ${k}: ${s}`);
                assert.equal(ourEncode(ours), s, `case ${k}: encode(decode(${s}))`);
            }
        }
    });

    it('every section: our strings decode with the reference to our fields and equal the reference\'s', () => {
        const rnd = prng(2026);
        for (let k = 0; k < CASES; k++) {
            const values = {};
            for (const name of SECTIONS) values[name] = valuesFor(name, k, rnd);
            const sets = [SECTIONS, ...SECTIONS.map((n) => [n]), ['usnat', 'usca'], ['usco', 'usri']];
            for (const names of sets) {
                const input = {};
                for (const n of names) input[n] = values[n];
                const s = ourEncode({ sections: input });
                const got = referenceFields(s, names);
                for (const n of names) {
                    const want = { ...values[n] };
                    for (const [f, v] of Object.entries(got[n])) {
                        if (FIXED.has(f)) continue;
                        if (f === 'SensitiveDataProcessing' && !(f in want)) continue;
                        assert.deepEqual(v, want[f], `case ${k}: ${n}.${f} of ${s}`);
                    }
                }
                assert.equal(s, referenceModel(input).encode(), `case ${k}: ${names.join(',')}`);
            }
        }
    });

    it('GPC: set in the sub-section, read back by the reference for every section that has one', () => {
        for (const name of SECTIONS.filter((n) => subKind(n) === 'gpc')) {
            for (const gpc of [true, false]) {
                const s = ourEncode({ sections: { [name]: { GpcSegmentIncluded: true, Gpc: gpc } } });
                const m = new GppModel(s);
                assert.equal(m.getFieldValue(name, 'Gpc'), gpc, `${name} ${s}`);
                assert.equal(m.getFieldValue(name, 'GpcSegmentIncluded'), true, `${name} ${s}`);
            }
        }
    });

    it('the specification\'s padding (to 6 bits) decodes with both to the same fields; gpp encode writes the reference\'s', () => {
        const s = 'DBABL~CYYYYYYYYYaE.Y';
        const ours = ourDecode(s);
        assert.deepEqual(ours.sections, referenceFields(s, ['usnat']));
        /* the JSON carries fields, not padding (the C API keeps it: test_gpp.c) */
        assert.equal(ourEncode(ours), 'DBABLA~CYYYYYYYYYaE.YA');
    });

    it('malformed strings: a reason on stderr and exit 2', () => {
        const bad = [
            ['', /empty header/],
            ['DBABBg~BYYY+YaE.YA', /not web-safe base64/],
            ['DBABBg', /header names 1 sections, the string has 0/],
            ['DBABMA~CPXxRfAPXxRfAAfKABENB-CgAAAAAAAAAAYgAAAAAAAA', /section 2 \(tcfeuv2\) is not supported/],
            ['DBABLA~BVQqAAAAAgA.QA', /usnat: version 1 is not supported/],
            ['DBABBg~B4YYYYaE.YA', /usca: SaleOptOutNotice is 3, expected 0-2/],
            ['DBABBg~BYYYYYaE.oA', /sub-section type 2/],
            ['DBABBg~BYYYYY', /too short/],
            ['DBABLB~CYYYYYYYYYaE.YA', /padding bits not zero/],
        ];
        for (const [s, reason] of bad) {
            const r = ctl(['gpp', 'decode', s]);
            assert.equal(r.code, 2, `gpp decode ${s}`);
            assert.equal(r.stdout, '', `gpp decode ${s} printed nothing`);
            assert.match(r.stderr, reason, `gpp decode ${s}`);
        }
        const r = ctl(['gpp', 'frobnicate', 'x']);
        assert.equal(r.code, 2);
        assert.match(r.stderr, /usage: consentctl/);
    });

    it('bad input to gpp encode: a reason and exit 2, nothing printed', () => {
        const bad = [
            ['{"sections":{"usca":{"SaleOptOut":3}}}', /usca: SaleOptOut is 3, expected 0-2/],
            ['{"sections":{"usca":{"MspaCoveredTransaction":0}}}', /MspaCoveredTransaction is 0, expected 1-2/],
            ['{"sections":{"usca":{"SharingNotice":1}}}', /no field SharingNotice/],
            ['{"sections":{"usxx":{}}}', /unknown section "usxx"/],
            ['{"sections":{"usca":{"SensitiveDataProcessing":[0,0]}}}', /array of 9 values/],
            ['{"sections":{"usva":{"Gpc":true}}}', /no field Gpc/],
            ['{"sections":{"usca":{"Gpc":true,"GpcSegmentIncluded":false}}}', /Gpc set without/],
            ['{"sectionIds":[7],"sections":{"usca":{}}}', /sectionIds do not name/],
            ['[]', /expected \{"sections"/],
        ];
        for (const [json, reason] of bad) {
            const r = ctl(['gpp', 'encode', json]);
            assert.equal(r.code, 2, `gpp encode ${json}`);
            assert.equal(r.stdout, '', `gpp encode ${json} printed nothing`);
            assert.match(r.stderr, reason, `gpp encode ${json}`);
        }
    });
});

/* ---- the banner decision and the receipts ---- */

describe('GPP in the banner decision and the receipts (real stack)', () => {
    const { startStack } = require('./lib/stack');
    const V = require('./lib/visitor');
    const RULES = JSON.parse(fs.readFileSync(path.join(ROOT, 'geo', 'rules.json'), 'utf8'));
    /* The fixture database's addresses (tests/fixtures/make-mmdb.pl). */
    const ADDRESSES = [['12.0.0.1', 'US-CA'], ['12.1.0.1', 'US'], ['12.2.0.1', 'US-CO'],
        ['12.3.0.1', 'US-VA']];
    const NOTICES = new Set(['SharingNotice', 'SaleOptOutNotice', 'SharingOptOutNotice',
        'TargetedAdvertisingOptOutNotice', 'ProcessingNotice']);
    const OPTOUTS = new Set(['SaleOptOut', 'SharingOptOut', 'TargetedAdvertisingOptOut']);
    let stack;

    before(async () => {
        if (!GppModel)
            ({ GppModel } = await import(path.join(REFERENCE, 'lib', 'mjs', 'index.js')));
        stack = await startStack({ layout: 'geoip2', now: Date.UTC(2026, 10, 22) / 1000 });
    });
    after(async () => {
        if (stack)
            await stack.stop();
    });

    /*
     * What the rules say the string of region holds, for the demo site (one
     * sale/sharing category, "advertising", and no "gpp" declaration):
     * notices given, opted out unless advertising is on, GPC as sent.
     */
    function assertFields(gpp, matched, advertising, gpc, what) {
        const name = RULES.gpp_sections[matched];
        assert.ok(name, `${matched} has a section in rules.json`);
        const m = new GppModel(gpp);
        assert.deepEqual(m.getHeader().SectionIds, [SECTIONS.indexOf(name) + 7], `${what}: ${gpp}`);
        const obj = m.getSection(name);
        for (const [field, v] of Object.entries(obj)) {
            let want;
            if (field === 'Version' || field === 'MspaVersion' || field === 'GpcSegmentType') continue;
            if (NOTICES.has(field)) want = 1;
            else if (OPTOUTS.has(field)) want = advertising ? 2 : 1;
            else if (field === 'MspaCoveredTransaction') want = 2;
            else if (field === 'Gpc') want = gpc;
            else if (Array.isArray(v)) want = v.map(() => 0);
            else want = 0;
            assert.deepEqual(v, want, `${what}: ${name}.${field} of ${gpp}`);
        }
        if ('Gpc' in obj)
            assert.equal(m.getFieldValue(name, 'GpcSegmentIncluded'), true, `${what}: ${gpp}`);
    }

    /* gpp_ping (what the __gpp page API answers): the string, its section,
     * the default CMP ID, and parsedSections exactly as the reference
     * library decodes the string. */
    function assertPing(ping, gpp, sid, what) {
        const m = new GppModel(gpp);
        assert.deepEqual(ping, {
            gppVersion: '1.1', cmpId: 1, supportedAPIs: [`${sid}:${SECTIONS[sid - 7]}`],
            sectionList: [sid], applicableSections: [sid], gppString: gpp,
            parsedSections: m.toObject(),
        }, `${what}: gpp_ping of ${gpp}`);
        /* the same keys in the same order as the reference's */
        const name = SECTIONS[sid - 7];
        assert.deepEqual(Object.keys(ping.parsedSections[name]), Object.keys(m.getSection(name)), what);
    }

    it('every mapped region x GPC: the decision carries its section with the rules\' fields', async () => {
        const regions = Object.keys(RULES.gpp_sections);
        for (const region of regions) {
            for (const gpc of [false, true]) {
                const query = region === 'US' ? '' : `&preview=${region}`;
                const xff = region === 'US' ? '12.1.0.1' : '46.4.0.1';
                const res = await V.bannerRequest(stack, {
                    xff, query, headers: gpc ? [['Sec-GPC', '1']] : [] });
                assert.equal(res.status, 200, res.body);
                assert.equal(res.json.jurisdiction.matched, region);
                assert.equal(typeof res.json.gpp, 'string', `${region}: ${res.body}`);
                assert.deepEqual(res.json.gpp_sid, [SECTIONS.indexOf(RULES.gpp_sections[region]) + 7]);
                assert.equal(res.json.gpp_version, '1.1');
                assertFields(res.json.gpp, region, res.json.choices.advertising, gpc,
                             `${region} GPC ${gpc}`);
                /* GPC turns advertising off by default in every opt-out or notice region */
                assert.equal(res.json.choices.advertising, !gpc, `${region} GPC ${gpc}`);
                const ours = ourDecode(res.json.gpp);
                assert.deepEqual(Object.keys(ours.sections), [RULES.gpp_sections[region]]);
                assertPing(res.json.gpp_ping, res.json.gpp, res.json.gpp_sid[0], `${region} GPC ${gpc}`);
            }
        }
    });

    it('regions without a section: gpp null, gpp_sid empty', async () => {
        for (const xff of ['46.4.0.1', '1.0.16.1', '8.8.8.8']) {
            const res = await V.bannerRequest(stack, { xff });
            assert.equal(res.status, 200, res.body);
            assert.equal(res.json.gpp, null);
            assert.deepEqual(res.json.gpp_sid, []);
            assert.equal(res.json.gpp_version, '1.1');
            assert.deepEqual(res.json.gpp_ping, {
                gppVersion: '1.1', cmpId: 1, supportedAPIs: [], sectionList: [],
                applicableSections: [-1], gppString: new GppModel().encode(), parsedSections: {},
                cmpStatus: 'loaded', cmpDisplayStatus: 'disabled', signalStatus: 'ready',
            });
        }
    });

    it('regime x GPC x choice: the receipt records the string in force after the choice, /consents/me returns it, the next decision carries it', async () => {
        let n = 0;
        for (const [addr, matched] of ADDRESSES) {
            for (const gpc of [false, true]) {
                for (const action of ['accept_all', 'reject_all']) {
                    n++;
                    const headers = gpc ? [['Sec-GPC', '1']] : [];
                    const xff = addr.replace(/\.1$/, `.${n + 1}`);
                    const v = await V.newVisitor(stack, { xff, headers });
                    const res = await V.record(v, action, undefined, { headers });
                    const r = res.json.receipt;
                    const what = `${matched} GPC ${gpc} ${action}`;
                    assert.equal(typeof r.gpp, 'string', `${what}: ${JSON.stringify(r)}`);
                    assertFields(r.gpp, matched, r.choices.advertising, gpc, what);
                    assertPing(res.json.gpp_ping, r.gpp, SECTIONS.indexOf(RULES.gpp_sections[matched]) + 7, what);
                    /* accept_all turns advertising on unless binding GPC locks it off */
                    const locked = gpc && res.json.receipt.gpc.binding;
                    assert.equal(r.choices.advertising, action === 'accept_all' && !locked, what);
                    const me = await V.me(stack, v.cookie, xff);
                    assert.equal(me.status, 200, me.body);
                    const receipts = JSON.stringify(me.json);
                    assert.ok(receipts.includes(JSON.stringify(r.gpp)), `${what}: /consents/me has ${r.gpp}`);
                    const after = await V.banner(v, { headers });
                    assert.equal(after.status, 200, after.body);
                    assert.equal(after.json.gpp, r.gpp, `${what}: the decision after the choice`);
                }
            }
        }
    });

    it('a receipt outside the mapped regions records no gpp', async () => {
        const v = await V.newVisitor(stack, { xff: '46.4.0.77' });
        const res = await V.record(v, 'reject_all');
        assert.equal(res.json.receipt.gpp, undefined);
        assert.equal(res.json.gpp_ping, undefined);
    });
});

/* ---- bad GPP configuration: consentd refuses to start ----
 * Each bad mapping and each bad site "gpp" is a unit case (tests/test_rules.c,
 * tests/test_config.c); this one proves that consentd refuses a bad rules
 * file at start, naming it. */

describe('consentd refuses a bad GPP mapping at start, naming the rules file and path', () => {
    const { refusedConfigs } = require('./lib/suite');
    const refused = refusedConfigs();

    const rulesCases = [
        ['unlisted-region', (r) => { r.gpp_sections['US-WA'] = 'usnat'; },
         '$.gpp_sections.US-WA: "US-WA" is not a region of any regime'],
    ];
    for (const [name, change, message] of rulesCases)
        it(`rules ${name}: ${message}`, async () => {
            const rules = JSON.parse(fs.readFileSync(path.join(ROOT, 'geo', 'rules.json'), 'utf8'));
            change(rules);
            const rulesFile = path.join(refused.dir, `gpp-rules-${name}.json`);
            fs.writeFileSync(rulesFile, JSON.stringify(rules));
            const cfg = refused.good();
            cfg.rules = rulesFile;
            await refused.expect(`rules-${name}`, cfg, `${rulesFile}: ${message}`);
        });
});
