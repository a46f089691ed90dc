'use strict';
/*
 * deb.test.js - `make test-deb`: the Debian package as an operator gets it.
 * Builds it (deb/build.sh, what `make deb` runs), holds it to lintian (any
 * error fails; a copy with an /etc file that is not a conffile must fail),
 * reads its control fields and file list, installs it with dpkg into a
 * clean root without touching this machine's systemd, and checks from that
 * tree what README "Installing the Debian package" promises: the binaries
 * run, the unit passes systemd-analyze verify and is sandboxed, the
 * installed example configuration passes the installed consentd --check
 * with keys made by consentd --new-key, nginx -t passes with the installed
 * snippets, the installed consentd answers behind nginx with the installed
 * snippets, the maintainer scripts enable and start nothing, and purging
 * keeps the operator's keys.
 *
 *   node --test tests/deb/        (make test-deb)
 */
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');

const { spawn } = require('node:child_process');

const { ROOT, freePorts, httpRequest, makeTempDir, poll, removeDir, runCommand } = require('../integration/lib/stack');

const FIXTURES = path.join(ROOT, 'build', 'fixtures');

function which(cmd) {
    for (const dir of [...(process.env.PATH || '').split(':'), '/usr/sbin', '/sbin', '/usr/bin']) {
        const f = path.join(dir, cmd);
        try {
            fs.accessSync(f, fs.constants.X_OK);
            return f;
        } catch (_) {
            /* next */
        }
    }
    return null;
}

function output(r) {
    return `exit ${r.code} signal ${r.signal}\n--- stdout:\n${r.stdout}\n--- stderr:\n${r.stderr}`;
}

/* An nginx configuration as Debian's nginx.conf + a site would have it:
 * the installed http-level file, an upstream, the installed snippet. */
function nginxConf(dir, root, port, upstreamPort) {
    return `
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
    include ${root}/etc/nginx/conf.d/consent-http.conf;
    include ${root}/etc/nginx/conf.d/consent-limits.conf;
    upstream consentd { server 127.0.0.1:${upstreamPort}; keepalive 16; }
    server {
        listen 127.0.0.1:${port};
        server_name www.example.com;
        set $consent_static_root ${root}/usr/share/consentd/static;
        include ${root}/etc/nginx/snippets/consent.conf;
    }
}
`;
}

/* dpkg into a root of its own: no chroot (so no root needed), the
 * maintainer scripts see DPKG_ROOT and leave systemd alone; no dependency
 * is installed in that root, so they are not checked there (the fields are,
 * below). */
function dpkgIn(root, args) {
    return runCommand('dpkg', [`--root=${root}`, `--log=${root}/var/log/dpkg.log`,
                               '--force-not-root', '--force-bad-path', '--force-script-chrootless',
                               '--force-depends', ...args], { timeoutMs: 60000 });
}

describe('the Debian package (make deb)', () => {
    let work;
    let deb;
    let build;
    let root;
    let install;
    const at = (p) => path.join(root, p);

    before(async () => {
        work = makeTempDir();
        fs.chmodSync(work, 0o755);      // nginx's workers (nobody, when run as root) read the static root
        build = await runCommand('sh', ['deb/build.sh'], { timeoutMs: 600000 });
        const lines = build.stdout.trim().split('\n');
        deb = path.join(ROOT, lines[lines.length - 1]);
        root = path.join(work, 'root');
        for (const d of ['var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/log'])
            fs.mkdirSync(path.join(root, d), { recursive: true });
        fs.writeFileSync(path.join(root, 'var/lib/dpkg/status'), '');
        if (build.code === 0)
            install = await dpkgIn(root, ['--install', deb]);
    });
    after(() => {
        if (work)
            removeDir(work);
    });

    it('builds', () => {
        assert.equal(build.code, 0, output(build));
        assert.match(path.basename(deb), /^consentd_\d+\.\d+\.\d+-\d+_[a-z0-9]+\.deb$/);
        assert.ok(fs.existsSync(deb), deb);
    });

    it('passes lintian without errors; a copy with an /etc file that is not a conffile does not', async (t) => {
        assert.equal(build.code, 0, output(build));
        const lintian = which('lintian');
        if (lintian === null) {
            t.skip('lintian is not installed (apt-get install lintian)');
            return;
        }
        const r = await runCommand(lintian, ['--fail-on', 'error', '--pedantic', deb], { timeoutMs: 300000 });
        t.diagnostic(`lintian: ${r.stdout.trim() || 'no tags'}`);
        assert.equal(r.code, 0, output(r));
        assert.deepEqual(r.stdout.split('\n').filter((l) => /^E: /.test(l)), [], output(r));

        const tree = path.join(work, 'broken');
        const x = await runCommand('dpkg-deb', ['-R', deb, tree]);
        assert.equal(x.code, 0, output(x));
        fs.writeFileSync(path.join(tree, 'DEBIAN', 'conffiles'),
                         fs.readFileSync(path.join(tree, 'DEBIAN', 'conffiles'), 'utf8')
                             .replace('/etc/consentd/rules.json\n', ''));
        const brokenDeb = path.join(work, 'broken.deb');
        const b = await runCommand('dpkg-deb', ['--root-owner-group', '--build', tree, brokenDeb]);
        assert.equal(b.code, 0, output(b));
        const bad = await runCommand(lintian, ['--fail-on', 'error', brokenDeb], { timeoutMs: 300000 });
        assert.notEqual(bad.code, 0, output(bad));
        assert.match(bad.stdout, /^E: consentd: file-in-etc-not-marked-as-conffile \[etc\/consentd\/rules\.json\]/m,
                     output(bad));
    });

    it('control fields: name, version of the binary, this architecture, library and server dependencies', async () => {
        assert.equal(build.code, 0, output(build));
        const field = async (name) => {
            const r = await runCommand('dpkg-deb', ['--field', deb, name]);
            assert.equal(r.code, 0, output(r));
            return r.stdout.trim();
        };
        assert.equal(await field('Package'), 'consentd');
        const arch = (await runCommand('dpkg', ['--print-architecture'])).stdout.trim();
        assert.equal(await field('Architecture'), arch);
        const version = await field('Version');
        const v = await runCommand(path.join(ROOT, 'build/deb-pkg/debian/consentd/usr/sbin/consentd'), ['--version']);
        assert.equal(`consentd ${version.replace(/-[^-]+$/, '')}`, v.stdout.trim(), 'upstream version = consentd --version');
        const depends = (await field('Depends')).split(/,\s*/).map((d) => d.split(' ')[0]);
        for (const lib of ['libc6', 'libfcgi0ldbl', 'libhiredis0.14', 'libcjson1', 'libmaxminddb0', 'libsodium23'])
            assert.ok(depends.includes(lib), `Depends names ${lib}: ${depends}`);
        assert.match(await field('Recommends'), /^nginx \| nginx-light, redis-server$/);
        assert.match(await field('Installed-Size'), /^\d+$/);
    });

    it('file list: every file in its place, root-owned, with Debian modes, no GeoIP database', async () => {
        assert.equal(build.code, 0, output(build));
        const r = await runCommand('dpkg-deb', ['--contents', deb]);
        assert.equal(r.code, 0, output(r));
        const entries = new Map();
        for (const line of r.stdout.trim().split('\n')) {
            const [mode, owner, , , , ...rest] = line.split(/\s+/);
            entries.set(rest.join(' ').replace(/^\.\//, '/').replace(/\/$/, ''), { mode, owner });
        }
        const want = {
            '/usr/sbin/consentd': '-rwxr-xr-x', '/usr/bin/consentctl': '-rwxr-xr-x',
            '/lib/systemd/system/consentd.service': '-rw-r--r--',
            '/etc/consentd/consentd.json.example': '-rw-r--r--', '/etc/consentd/rules.json': '-rw-r--r--',
            '/etc/nginx/snippets/consent.conf': '-rw-r--r--', '/etc/nginx/conf.d/consent-http.conf': '-rw-r--r--',
            '/etc/nginx/conf.d/consent-limits.conf': '-rw-r--r--',
            '/usr/share/consentd/static/consent.js': '-rw-r--r--',
            '/usr/share/consentd/static/consent.js.gz': '-rw-r--r--',
            '/usr/share/consentd/static/consent-extra.js': '-rw-r--r--',
            '/usr/share/consentd/static/admin/index.html': '-rw-r--r--',
            '/usr/share/consentd/static/demo/index.html': '-rw-r--r--',
            '/usr/share/consentd/rules.json': '-rw-r--r--', '/usr/share/consentd/redis.conf': '-rw-r--r--',
            '/usr/share/consentd/i18n/en.json': '-rw-r--r--',
            '/usr/share/doc/consentd/README.md': '-rw-r--r--', '/usr/share/doc/consentd/SECURITY.md': '-rw-r--r--',
            '/usr/share/doc/consentd/copyright': '-rw-r--r--',
            '/usr/share/doc/consentd/changelog.Debian.gz': '-rw-r--r--',
            '/usr/share/man/man8/consentd.8.gz': '-rw-r--r--', '/usr/share/man/man1/consentctl.1.gz': '-rw-r--r--',
        };
        for (const [f, mode] of Object.entries(want)) {
            assert.ok(entries.has(f), `${f} in the package`);
            assert.equal(entries.get(f).mode, mode, f);
        }
        const strange = [...entries].filter(([, e]) => e.owner !== 'root/root').map(([f]) => f);
        assert.deepEqual(strange, [], 'everything root/root');
        const writable = [...entries].filter(([, e]) => /^.....w|^........w/.test(e.mode)).map(([f]) => f);
        assert.deepEqual(writable, [], 'nothing group- or world-writable');
        const outside = [...entries.keys()].filter((f) => !/^\/(usr\/(sbin|bin|share)|etc|lib\/systemd\/system)(\/|$)/.test(f));
        assert.deepEqual(outside.sort(), ['', '/lib', '/lib/systemd', '/usr', '/var', '/var/lib', '/var/lib/GeoIP'],
                         'nothing outside /usr, /etc and the unit folder (no /usr/local) but the empty GeoIP folder');
        assert.equal(entries.get('/var/lib/GeoIP').mode, 'drwxr-xr-x', 'the folder the unit names in ReadOnlyPaths=');
        assert.deepEqual([...entries.keys()].filter((f) => /\.mmdb$|DBIP/i.test(f)), [], 'no GeoIP database');
        assert.deepEqual([...entries.keys()].filter((f) => /\.key$|admin-tokens/.test(f)), [], 'no key, no token');
        const i18n = [...entries.keys()].filter((f) => f.startsWith('/usr/share/consentd/i18n/') && f.endsWith('.json'));
        assert.equal(i18n.length, fs.readdirSync(path.join(ROOT, 'i18n')).filter((f) => f.endsWith('.json')).length);

        const conffiles = await runCommand('dpkg-deb', ['--info', deb, 'conffiles']);
        assert.equal(conffiles.code, 0, output(conffiles));
        const etc = [...entries].filter(([f, e]) => f.startsWith('/etc/') && e.mode.startsWith('-')).map(([f]) => f);
        assert.deepEqual(conffiles.stdout.trim().split('\n').sort(), etc.sort(), 'every file under /etc is a conffile');
    });

    it('installs with dpkg into a clean root; the maintainer scripts enable and start nothing there', () => {
        assert.equal(build.code, 0, output(build));
        assert.equal(install.code, 0, output(install));
        const status = fs.readFileSync(at('var/lib/dpkg/status'), 'utf8');
        assert.match(status, /^Package: consentd\nStatus: install ok installed$/m, status);
        for (const f of ['usr/sbin/consentd', 'lib/systemd/system/consentd.service', 'etc/consentd/consentd.json.example'])
            assert.ok(fs.existsSync(at(f)), f);
        assert.equal(fs.existsSync(at('etc/systemd/system/multi-user.target.wants/consentd.service')), false);
        assert.equal(fs.existsSync(at('etc/consentd/consentd.json')), false, 'no configuration is made for the operator');
        // The unit's credential exists: an empty token list, root only.
        assert.equal(fs.readFileSync(at('etc/consentd/admin-tokens.json'), 'utf8'), '[]\n');
        assert.equal(fs.statSync(at('etc/consentd/admin-tokens.json')).mode & 0o777, 0o600);
    });

    it('the installed consentd and consentctl run', async () => {
        assert.equal(install.code, 0, output(install));
        const v = await runCommand(at('usr/sbin/consentd'), ['--version']);
        assert.equal(v.code, 0, output(v));
        assert.match(v.stdout, /^consentd \d+\.\d+\.\d+$/m);
        const h = await runCommand(at('usr/bin/consentctl'), ['--help']);
        assert.equal(h.code, 0, output(h));
        assert.match(h.stdout, /^usage: consentctl /);
        const s = await runCommand('readelf', ['-S', at('usr/sbin/consentd')]);
        if (s.code === 0)
            assert.doesNotMatch(s.stdout, /\.debug_info|\.symtab/, 'stripped');
    });

    it('the installed unit is sandboxed and passes systemd-analyze verify', async (t) => {
        assert.equal(install.code, 0, output(install));
        const unit = fs.readFileSync(at('lib/systemd/system/consentd.service'), 'utf8');
        assert.deepEqual(unit.match(/@[A-Z_]+@/g), null);
        for (const line of ['DynamicUser=yes', 'ProtectSystem=strict', 'NoNewPrivileges=yes', 'PrivateTmp=yes',
                            'ExecStart=/usr/sbin/consentd -c /etc/consentd/consentd.json',
                            'LoadCredential=signing.key:/etc/consentd/signing.key',
                            'LoadCredential=cookie.key:/etc/consentd/cookie.key', 'WantedBy=multi-user.target'])
            assert.ok(unit.split('\n').includes(line), `${line} in the unit`);
        assert.match(unit, /^ReadOnlyPaths=\/etc\/consentd \/usr\/share\/consentd /m);
        const sa = which('systemd-analyze');
        if (sa === null) {
            t.skip('systemd-analyze is not installed');
            return;
        }
        // verify checks that the programs exist: point them into the root.
        const dir = path.join(work, 'unit');
        fs.mkdirSync(dir, { recursive: true });
        const copy = path.join(dir, 'consentd.service');
        fs.writeFileSync(copy, unit.split('/usr/sbin/consentd').join(at('usr/sbin/consentd')));
        const problems = (r) => (r.stdout + r.stderr).split('\n')
            .filter((l) => /consentd\.service/.test(l) &&
                           /Unknown key|Invalid|Failed to parse|Unknown section|not executable|No such file/.test(l));
        const r = await runCommand(sa, ['verify', copy], { timeoutMs: 60000 });
        assert.equal(r.code, 0, output(r));
        assert.deepEqual(problems(r), [], output(r));
        // The same check on a misspelt copy finds it.
        fs.mkdirSync(path.join(dir, 'broken'));
        const broken = path.join(dir, 'broken', 'consentd.service');
        fs.writeFileSync(broken, fs.readFileSync(copy, 'utf8').replace('[Service]\n', '[Service]\nProtectSystm=strict\n'));
        const b = await runCommand(sa, ['verify', broken], { timeoutMs: 60000 });
        assert.ok(problems(b).some((l) => l.includes("Unknown key 'ProtectSystm'")), output(b));
    });

    it('the installed example passes the installed consentd --check with keys from consentd --new-key', async () => {
        assert.equal(install.code, 0, output(install));
        const fx = await runCommand('make', ['--no-print-directory', 'build/fixtures/flat-city-ipv4.mmdb'],
                                    { timeoutMs: 120000 });
        assert.equal(fx.code, 0, output(fx));
        const consentd = at('usr/sbin/consentd');
        const cfg = JSON.parse(fs.readFileSync(at('etc/consentd/consentd.json.example'), 'utf8'));
        assert.equal(cfg.cookie.secure, true);
        assert.deepEqual(cfg.sites.filter((s) => s.preview !== false).map((s) => s.id), [], 'no previews');
        assert.equal(cfg.texts, '/usr/share/consentd/i18n');
        assert.equal(cfg.rules, 'rules.json');
        for (const db of [].concat(cfg.geoip.database))
            assert.match(db, /^\/var\/lib\/GeoIP\//, 'the example expects the GeoIP database where Debian keeps them');
        // As the README tells the operator, inside the root.
        for (const k of ['signing.key', 'cookie.key']) {
            const nk = await runCommand(consentd, ['--new-key', at(`etc/consentd/${k}`)]);
            assert.equal(nk.code, 0, output(nk));
            assert.equal(fs.statSync(at(`etc/consentd/${k}`)).mode & 0o777, 0o600);
        }
        cfg.signing_key = at('etc/consentd/signing.key');
        cfg.cookie.secret = at('etc/consentd/cookie.key');
        cfg.texts = at('usr/share/consentd/i18n');
        cfg.geoip.database = [path.join(FIXTURES, 'flat-city-ipv4.mmdb'), path.join(FIXTURES, 'flat-city-ipv6.mmdb')];
        // admin.tokens_file ("admin-tokens.json" next to it) may be missing
        // until the first support token is made.
        const file = at('etc/consentd/consentd.json');     // rules.json is found next to it
        fs.writeFileSync(file, JSON.stringify(cfg, null, 2));
        const r = await runCommand(consentd, ['--check', file]);
        assert.equal(r.code, 0, output(r));
        assert.match(r.stdout, /configuration ok/);
    });

    it('nginx -t passes with the installed snippets and static root', async (t) => {
        assert.equal(install.code, 0, output(install));
        const nginx = which('nginx');
        if (nginx === null) {
            t.skip('nginx is not installed');
            return;
        }
        const dir = path.join(work, 'nginx');
        fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
        const [port] = await freePorts(1);
        const conf = nginxConf(dir, root, port, 1);
        fs.writeFileSync(path.join(dir, 'nginx.conf'), conf);
        const r = await runCommand(nginx, ['-t', '-p', dir, '-c', path.join(dir, 'nginx.conf'),
                                           '-e', path.join(dir, 'error.log')], { timeoutMs: 20000 });
        assert.equal(r.code, 0, output(r));
        assert.match(r.stderr, /test is successful/, output(r));
    });

    it('the installed consentd, configured as the README says, answers through the installed snippets', async (t) => {
        assert.equal(install.code, 0, output(install));
        const nginx = which('nginx');
        if (nginx === null) {
            t.skip('nginx is not installed');
            return;
        }
        const file = at('etc/consentd/consentd.json');
        assert.ok(fs.existsSync(file), 'made by the --check test above');
        const dir = path.join(work, 'serve');
        fs.mkdirSync(path.join(dir, 'tmp'), { recursive: true });
        const [port, fcgi] = await freePorts(2);
        const cfg = JSON.parse(fs.readFileSync(file, 'utf8'));
        cfg.listen = `127.0.0.1:${fcgi}`;
        cfg.redis.address = '127.0.0.1:1';     // no Redis: a first visit needs none
        const run = at('etc/consentd/serve.json');
        fs.writeFileSync(run, JSON.stringify(cfg, null, 2));
        fs.writeFileSync(path.join(dir, 'nginx.conf'), nginxConf(dir, root, port, fcgi));
        const procs = [];
        const start = (cmd, args, log) => {
            const fd = fs.openSync(path.join(dir, log), 'a');
            const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
            fs.closeSync(fd);
            const exited = new Promise((resolve) => child.once('exit', resolve));
            procs.push({ child, exited });
            return child;
        };
        try {
            start(at('usr/sbin/consentd'), ['-c', run], 'consentd.log');
            start(nginx, ['-p', dir, '-c', path.join(dir, 'nginx.conf'), '-e', path.join(dir, 'error.log'),
                          '-g', 'daemon off;'], 'nginx.log');
            const logs = () => ['consentd.log', 'nginx.log', 'error.log']
                .map((f) => { try { return `--- ${f}\n${fs.readFileSync(path.join(dir, f), 'utf8')}`; } catch (_) { return ''; } })
                .join('\n');
            const banner = await poll(async () => {
                const r = await httpRequest(port, { path: '/consent/v1/banner?site=demo', timeoutMs: 2000 });
                return r.status === 200 ? r : null;
            }, { timeoutMs: 15000, what: `the banner through nginx\n${logs()}` });
            const json = JSON.parse(banner.body);
            assert.equal(json.site, 'demo');
            assert.ok(Array.isArray(json.categories) && json.categories.length > 0, banner.body);
            assert.equal(json.jurisdiction.region, null, 'a loopback visitor: the default rule');
            assert.match(String(banner.headers['cache-control']), /no-store/);
            const js = await httpRequest(port, { path: '/consent/consent.js' });
            assert.equal(js.status, 200);
            assert.equal(js.body, fs.readFileSync(at('usr/share/consentd/static/consent.js'), 'utf8'),
                         'the script from the installed static root');
        } finally {
            for (const p of procs) {
                if (p.child.exitCode === null && p.child.signalCode === null)
                    p.child.kill('SIGTERM');
            }
            await Promise.all(procs.map((p) => p.exited));
        }
    });

    it('on the live system the maintainer scripts start nothing and enable only what the operator enabled', async () => {
        assert.equal(build.code, 0, output(build));
        // Stubs for the systemd helpers log their calls instead of acting.
        const bin = path.join(work, 'stubs');
        const log = path.join(work, 'stubs.log');
        fs.mkdirSync(bin, { recursive: true });
        for (const cmd of ['deb-systemd-helper', 'deb-systemd-invoke', 'systemctl'])
            fs.writeFileSync(path.join(bin, cmd),
                             `#!/bin/sh\necho "${cmd} $*" >>"${log}"\n` +
                             'case "$*" in *was-enabled*) exit "${WAS_ENABLED:-1}";; esac\nexit 0\n',
                             { mode: 0o755 });
        const scripts = path.join(work, 'scripts');
        const x = await runCommand('dpkg-deb', ['-e', deb, scripts]);
        assert.equal(x.code, 0, output(x));
        const run = async (script, args, extra = {}) => {
            fs.rmSync(log, { force: true });
            const env = { ...process.env, PATH: `${bin}:/usr/bin:/bin` };
            delete env.DPKG_ROOT;
            Object.assign(env, extra);
            const r = await runCommand('sh', ['-e', path.join(scripts, script), ...args], { env });
            assert.equal(r.code, 0, output(r));
            return fs.existsSync(log) ? fs.readFileSync(log, 'utf8') : '';
        };
        const fresh = await run('postinst', ['configure', '']);
        assert.doesNotMatch(fresh, / (enable|start|restart|try-restart) /, fresh);
        assert.match(fresh, /^deb-systemd-helper update-state consentd\.service$/m, fresh);
        const kept = await run('postinst', ['configure', '0.0.9-1'], { WAS_ENABLED: '0' });
        assert.match(kept, /^deb-systemd-helper enable consentd\.service$/m, 'an enabled service stays enabled');
        assert.doesNotMatch(kept, /invoke (start|restart) /, kept);
        const removed = await run('prerm', ['remove']);
        assert.doesNotMatch(removed, / start /, removed);
        const purged = await run('postrm', ['purge']);
        assert.match(purged, /^deb-systemd-helper purge consentd\.service$/m, purged);
        // Outside the running system (dpkg --root): not a single call.
        assert.equal(await run('postinst', ['configure', ''], { DPKG_ROOT: root }), '');
    });

    it('purging removes the package and its conffiles but keeps the operator\'s keys', async () => {
        assert.equal(install.code, 0, output(install));
        const key = at('etc/consentd/signing.key');
        if (!fs.existsSync(key))
            fs.writeFileSync(key, 'operator key\n', { mode: 0o600 });
        const r = await dpkgIn(root, ['--purge', 'consentd']);
        assert.equal(r.code, 0, output(r));
        assert.equal(fs.existsSync(at('usr/sbin/consentd')), false);
        assert.equal(fs.existsSync(at('etc/consentd/consentd.json.example')), false, 'conffile purged');
        assert.equal(fs.existsSync(at('etc/nginx/snippets/consent.conf')), false, 'conffile purged');
        assert.ok(fs.existsSync(key), 'the signing key is the operator\'s');
        assert.doesNotMatch(fs.readFileSync(at('var/lib/dpkg/status'), 'utf8'), /^Package: consentd$/m);
    });
});
