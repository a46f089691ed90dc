'use strict';
/*
 * geoip.test.js - geoip.database as a list of files, one per address family
 * (the IPv4 and the IPv6 file of DB-IP's city database as make run uses
 * them), through the real nginx -> consentd -> redis-server stack: each
 * address resolves from its family's file, start-up refuses a list that
 * leaves a family uncovered, naming the configuration (the other bad lists
 * and files are unit cases: tests/test_geo.c, tests/test_config.c), and
 * SIGHUP reloads the list (a bad file keeps the running databases).
 *
 * The fixtures (tests/fixtures/make-mmdb.pl): flat-city-ipv4.mmdb holds the
 * IPv4 networks only (ip_version 4), flat-city-ipv6.mmdb the IPv6 networks
 * only (ip_version 6, nothing under ::/96); geoip2-city-ipv{4,6}.mmdb are the
 * same pair in the GeoIP2 layout.
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/geoip.test.js
 */
const { describe, it, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { ROOT, checkConfig, poll, writeConfig } = require('./lib/stack');
const { logLines, pseudoRandom, refusedConfigs, replaceFile, withStack } = require('./lib/suite');

const FIXTURES = path.join(ROOT, 'build', 'fixtures');
const fixture = (name) => path.join(FIXTURES, name);
const BANNER = '/consent/v1/banner?site=demo';
const HEALTH = '/consent/v1/health';

/* address, region, regime: each answer can only come from the file of the
 * address's family, as the other file has no network of that family. */
const IPV4 = [
    ['12.0.0.1', 'US-CA', 'ccpa'],
    ['12.2.0.1', 'US-CO', 'cpa'],
    ['24.48.0.1', 'CA-QC', 'quebec-law25'],
    ['46.4.0.1', 'DE', 'gdpr'],
    // IPv4-mapped IPv6: the IPv4 file answers
    ['::ffff:12.0.0.1', 'US-CA', 'ccpa'],
    ['::ffff:24.48.0.1', 'CA-QC', 'quebec-law25'],
];
const IPV6 = [
    ['2600:1700::1', 'US-CA', 'ccpa'],
    ['2604:3d00::1', 'US-CO', 'cpa'],
    ['2001:410::1', 'CA-QC', 'quebec-law25'],
    ['2a01:4f8::1', 'DE', 'gdpr'],
];

async function jurisdiction(stack, xff) {
    const r = await stack.request({ path: BANNER, xff });
    assert.equal(r.status, 200, `${xff}: ${r.body}`);
    return r.json.jurisdiction;
}

describe('geoip.database as a list: an IPv4 and an IPv6 file (flat layout)', () => {
    let stack;
    withStack({
        layout: 'flat',
        configure: (cfg) => {
            cfg.geoip = {
                database: [fixture('flat-city-ipv4.mmdb'), fixture('flat-city-ipv6.mmdb')],
                layout: 'flat',
            };
        },
    }, (s) => { stack = s; });

    it('IPv4 (and IPv4-mapped) addresses resolve from the IPv4 file, state level', async () => {
        for (const [addr, region, regime] of IPV4) {
            const j = await jurisdiction(stack, addr);
            assert.equal(j.region, region, addr);
            assert.equal(j.regime, regime, addr);
        }
    });

    it('IPv6 addresses resolve from the IPv6 file, state level', async () => {
        for (const [addr, region, regime] of IPV6) {
            const j = await jurisdiction(stack, addr);
            assert.equal(j.region, region, addr);
            assert.equal(j.regime, regime, addr);
        }
    });

    it('California from either file: opt-out with GPC binding', async () => {
        for (const addr of ['12.0.0.1', '2600:1700::1']) {
            const r = await stack.request({ path: BANNER, xff: addr, headers: { 'Sec-GPC': '1' } });
            assert.equal(r.status, 200, r.body);
            assert.equal(r.json.jurisdiction.model, 'opt-out');
            assert.equal(r.json.jurisdiction.gpc_binding, true);
            assert.equal(r.json.gpc.binding, true);
            assert.equal(r.json.gpc.honoured, true);
        }
    });

    it('addresses in neither file get the default rule', async () => {
        for (const addr of ['8.8.8.8', '2001:db8::1', '10.0.0.1']) {
            const j = await jurisdiction(stack, addr);
            assert.equal(j.regime, 'default', addr);
            assert.equal(j.region, null, addr);
        }
    });

    it('health names both files and the family each answers', async () => {
        const r = await stack.request({ path: HEALTH });
        assert.equal(r.status, 200, r.body);
        assert.equal(r.json.geoip.status, 'ok');
        assert.equal(r.json.geoip.type, 'city ipv4', 'the first file of the list');
        assert.deepEqual(r.json.geoip.files.map((f) => [f.type, f.families]),
                         [['city ipv4', ['ipv4']], ['city ipv6', ['ipv6']]]);
        for (const f of r.json.geoip.files)
            assert.equal(f.build_epoch, 1767225600);
    });
});

describe('geoip.database as a list: start-up', () => {
    const refused = refusedConfigs();
    const good = () => {
        const cfg = refused.good();
        cfg.geoip = {
            database: [fixture('flat-city-ipv4.mmdb'), fixture('flat-city-ipv6.mmdb')],
            layout: 'flat',
        };
        return cfg;
    };

    it('--check accepts the pair, in either order, and names both files\' types', async () => {
        for (const [name, reverse] of [['pair', false], ['pair-reversed', true]]) {
            const cfg = good();
            if (reverse)
                cfg.geoip.database.reverse();
            const r = await checkConfig(writeConfig(refused.dir, cfg, `${name}.json`));
            assert.equal(r.code, 0, r.stderr);
            const types = reverse ? 'city ipv6 \\+ city ipv4' : 'city ipv4 \\+ city ipv6';
            assert.match(r.stdout, new RegExp(`configuration ok \\(2 sites, \\d+ regimes, GeoIP ${types},`));
        }
    });

    it('a list that leaves IPv6 uncovered is refused', async () => {
        const cfg = good();
        cfg.geoip.database = [fixture('flat-city-ipv4.mmdb')];
        await refused.expect('no-ipv6', cfg,
                             'CONFIG: $.geoip.database: no file of the list holds IPv6 addresses',
                             `${fixture('flat-city-ipv4.mmdb')} holds IPv4 only`);
    });
});

describe('geoip.database as a list: reload (SIGHUP)', () => {
    let stack;
    let v4Path;
    let v6Path;
    withStack({
        layout: 'flat',
        configure: (cfg) => {
            // Copies in the stack's folder, so the test can replace them.
            const dir = path.dirname(cfg.signing_key);
            v4Path = path.join(dir, 'geo-ipv4.mmdb');
            v6Path = path.join(dir, 'geo-ipv6.mmdb');
            fs.copyFileSync(fixture('flat-city-ipv4.mmdb'), v4Path);
            fs.copyFileSync(fixture('flat-city-ipv6.mmdb'), v6Path);
            cfg.geoip = { database: [v4Path, v6Path], layout: 'flat' };
        },
    }, (s) => { stack = s; });

    const reloads = () => logLines(stack).filter((l) => l.msg === 'reloaded').length;
    const refusals = () => logLines(stack).filter((l) => l.msg === 'reload refused');
    const regions = async () => [(await jurisdiction(stack, '46.4.0.1')).region,
                                 (await jurisdiction(stack, '2a01:4f8::1')).region];

    async function hup(what) {
        const r0 = reloads();
        const f0 = refusals().length;
        stack.signalConsentd('SIGHUP');
        await poll(() => reloads() > r0 || refusals().length > f0,
                   { timeoutMs: 10000, what: `a reload log line (${what})` });
        return reloads() > r0 ? null : refusals().at(-1);
    }

    function editConfig(change) {
        const cfg = JSON.parse(fs.readFileSync(stack.configPath, 'utf8'));
        change(cfg);
        replaceFile(stack.configPath, JSON.stringify(cfg, null, 2));
    }

    it('new files for both families are used after SIGHUP; a bad file or list keeps them', async () => {
        // flat layout: the country only for DE, from both files
        assert.deepEqual(await regions(), ['DE', 'DE']);

        // Both files replaced by the GeoIP2 pair, which names DE-BY.
        replaceFile(v4Path, fs.readFileSync(fixture('geoip2-city-ipv4.mmdb')));
        replaceFile(v6Path, fs.readFileSync(fixture('geoip2-city-ipv6.mmdb')));
        editConfig((cfg) => { cfg.geoip.layout = 'geoip2'; });
        assert.equal(await hup('the GeoIP2 pair'), null, 'reloaded');
        assert.deepEqual(await regions(), ['DE-BY', 'DE-BY'], 'both families from the new files');

        // A corrupt second file: refused, naming it; both old files answer.
        replaceFile(v6Path, pseudoRandom('consent corrupt ipv6 mmdb for reload', 256));
        let line = await hup('a corrupt IPv6 file');
        assert.ok(line, 'the reload was refused');
        assert.equal(line.level, 'error');
        assert.ok(String(line.detail).includes(v6Path), `names the file: ${JSON.stringify(line)}`);
        assert.deepEqual(await regions(), ['DE-BY', 'DE-BY'], 'the running databases are kept');

        // A list without an IPv6 file: refused; both old files answer.
        replaceFile(v6Path, fs.readFileSync(fixture('geoip2-city-ipv6.mmdb')));
        editConfig((cfg) => { cfg.geoip.database = [v4Path]; });
        line = await hup('a list without IPv6');
        assert.ok(line, 'the reload was refused');
        assert.ok(String(line.detail).includes('$.geoip.database: no file of the list holds IPv6 addresses'),
                  JSON.stringify(line));
        assert.deepEqual(await regions(), ['DE-BY', 'DE-BY']);

        // Back to the pair in the flat layout: reloaded.
        replaceFile(v4Path, fs.readFileSync(fixture('flat-city-ipv4.mmdb')));
        replaceFile(v6Path, fs.readFileSync(fixture('flat-city-ipv6.mmdb')));
        editConfig((cfg) => { cfg.geoip = { database: [v4Path, v6Path], layout: 'flat' }; });
        assert.equal(await hup('the flat pair again'), null, 'reloaded');
        assert.deepEqual(await regions(), ['DE', 'DE']);
        const h = await stack.request({ path: HEALTH });
        assert.equal(h.status, 200, h.body);
        assert.deepEqual(h.json.geoip.files.map((f) => f.families), [['ipv4'], ['ipv6']]);
        assert.ok(stack.consentdRunning());
    });
});
