/*
 * consent.js - the browser side of consentd: the banner, the settings panel,
 * receipts sent to the server (the newest one kept by the visitor as proof),
 * gating of scripts and iframes, Google Consent Mode v2, region previews
 * (applied, never recorded). What only some pages need (the cookie
 * declaration, clean-up after a refusal, embed placeholders) is in
 * consent-extra.js, loaded on demand by more(); the IAB GPP page API
 * (__gpp) in consent-gpp.js, loaded where a GPP section applies (gstart()).
 * No dependencies. This is the readable source;
 * static/consent.js is this file minified (node tests/browser/minify.js).
 * See static/README.md.
 *
 *   <script src="/consent/v/VERSION/consent.js" data-site="demo"></script>
 *
 * Optional attributes: data-refresh="86400" (seconds between checks for a
 * new banner version), data-consent-mode='{"analytics":["analytics_storage"]}'
 * (categories -> Consent Mode types), data-signals (vendor -> category),
 * data-api (the API's base URL; default: /consent/v1/ on the script's
 * origin), data-theme (light, dark, auto), data-layout (bar-bottom, bar-top,
 * box-left, box-right, box-center), data-reopen-button.
 */
(function (w, d, n) {
  'use strict';
  var S = d.currentScript || d.querySelector('script[data-site]');
  if (!S || w.consent) return;
  var attr = function (a) { return S.getAttribute(a); },
    site = attr('data-site'),
    // The script is /consent/consent.js or /consent/v/VERSION/consent.js.
    api = attr('data-api') || S.src.replace(/(v\/[^/]+\/)?[^/]*$/, 'v1/'),
    KEY = 'consent:' + site,
    RKEY = 'consent.receipt.' + site,   // the newest receipt: the visitor's own proof
    refresh = 1e3 * (attr('data-refresh') || 86400),
    preview = new URLSearchParams(location.search).get('consent_preview'),
    gpc = n.globalPrivacyControl === true,
    now = Date.now,
    fns = [],
    st = {},      // kept in localStorage: c choices, e expiry, t last asked,
                  // v banner version, g GPC accounted for, s sale/sharing
                  // categories, q requests not yet confirmed by the server,
                  // w when the choice was made, b GPC binding in the region,
                  // r the reopen button's label, m and x the site's mappings,
                  // G the GPP ping of the last decision or receipt,
                  // k this browser's experiment bucket (0-99: which banner
                  // variant it sees; shared by a hundredth of all visitors)
    C = null,     // the choices in force
    D,            // the latest banner decision
    ID = null,    // the consent ID, once the server has issued one (first 201)
    B, P, N, R,   // the banner, the settings panel, the status note, the reopen button
    busy, cssP, recorded, delay = 2e3,
    M,            // the on-demand module, once asked for (more())
    GQ = [],      // __gpp calls waiting for an answerer (gstart())
    GM,           // what answers __gpp calls: consent-gpp.js's, or gnone()
    GN = 0,       // listener IDs gnone() gave
    CM = {
      analytics: ['analytics_storage'],
      advertising: ['ad_storage', 'ad_user_data', 'ad_personalization'],
      functional: ['functionality_storage', 'personalization_storage']
    };

  // IAB GPP: __gpp is a function from here on (IAB, CMP API); calls wait,
  // in order, until the decision says whether a GPP section applies.
  w.__gpp = function () { GM ? GM(arguments) : GQ.push(arguments); };
  try { st = JSON.parse(localStorage.getItem(KEY)) || st; } catch (e) { /* none */ }
  // Consent Mode mapping: the page's attribute, else the site's (from the
  // last decision), else the default.
  var CMattr, SGattr, SG;
  try { CMattr = JSON.parse(attr('data-consent-mode')); } catch (e) { /* none */ }
  try { SGattr = JSON.parse(attr('data-signals')); } catch (e) { /* none */ }
  CM = CMattr || st.m || CM;
  SG = SGattr || st.x || {};

  function save() {
    if (!preview) try { localStorage.setItem(KEY, JSON.stringify(st)); } catch (e) { /* full */ }
  }

  function el(tag, cls, text, parent) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    if (parent) parent.append(e);
    return e;
  }

  function btn(text, fn, parent, cls) {
    var b = el('button', cls || 'cc-btn', text, parent);
    b.type = 'button';
    b.onclick = fn;
    return b;
  }

  function link(text, parent) {
    var a = el('a', 'cc-l', text, parent);
    a.href = '#';
    a.onclick = open;
    return a;
  }

  /* The classes of a root element (.cc) in the theme: data-theme, else the
   * site's color-scheme (meta, then the root's computed style) when it
   * names one scheme only, else the OS. */
  function theme(cls) {
    var t = attr('data-theme'), m = d.querySelector('meta[name=color-scheme]'),
      s = t == 'dark' || t == 'light' ? t : m && m.content || getComputedStyle(d.documentElement).colorScheme || '',
      k = /dark/.test(s);
    if (k == /light/.test(s)) k = matchMedia('(prefers-color-scheme: dark)').matches;
    return 'cc ' + cls + (k ? ' cc-dk' : '');
  }

  function gtag() {
    (w.dataLayer = w.dataLayer || []).push(arguments);
  }

  /* Google Consent Mode v2: every type denied but security_storage, then
   * granted where a category mapped to it is allowed. */
  function consentMode(kind) {
    var o = {}, k;
    'ad_storage ad_user_data ad_personalization analytics_storage functionality_storage personalization_storage'
      .split(' ').forEach(function (t) { o[t] = 'denied'; });
    for (k in CM) CM[k].forEach(function (t) { o[t] = C && C[k] ? 'granted' : o[t] || 'denied'; });
    o.security_storage = 'granted';
    gtag('consent', kind, o);
    vendors(kind);
  }

  /* Vendor consent signals per the site's mapping (vendor -> category):
   * Microsoft UET and Clarity, Meta Pixel, TikTok Pixel. UET's and Clarity's
   * queues are created when missing (their snippets keep an existing one);
   * fbq only when the page defined it (Meta's snippet does nothing when fbq
   * exists); TikTok's array queue takes [method] entries. */
  function vendors(kind) {
    var g = function (k) { return C && C[k] ? 'granted' : 'denied'; },
      v = SG.clarity, t, m;
    if (SG.uet) (w.uetq = w.uetq || []).push('consent', kind, { ad_storage: g(SG.uet) });
    if (v) {
      w.clarity = w.clarity || function () { (w.clarity.q = w.clarity.q || []).push(arguments); };
      w.clarity('consentv2', { ad_Storage: g(v.ad), analytics_Storage: g(v.analytics) });
    }
    if (SG.meta && w.fbq) w.fbq('consent', C && C[SG.meta] ? 'grant' : 'revoke');
    if (SG.tiktok) {
      t = w.ttq = w.ttq || [];
      m = C ? (C[SG.tiktok] ? 'grant' : 'revoke') + 'Consent' : 'holdConsent';
      t[m] ? t[m]() : t.push([m]);
    }
  }

  /* Runs gated scripts and loads gated iframes whose categories are allowed;
   * a blocked iframe gets a placeholder (consent-extra.js). */
  function gate() {
    var z;
    d.querySelectorAll('script[type="text/plain"][data-consent],iframe[data-consent]').forEach(function (e) {
      var ok = C && e.getAttribute('data-consent').split(/\s+/).every(function (k) { return C[k]; }),
        u = e.getAttribute('data-src'), s, i, a;
      if (e.tagName == 'IFRAME') {
        if (u && (ok ? e.getAttribute('src') != u : e.getAttribute('src') == u))
          e.src = ok ? u : 'about:blank';
        z = z || u && !ok;
      } else if (ok) {
        s = d.createElement('script');
        s.async = false;   // external scripts keep their order
        for (i = 0; (a = e.attributes[i]); i++)
          if (a.name != 'type' && a.name != 'data-consent') s.setAttribute(a.name == 'data-type' ? 'type' : a.name, a.value);
        s.nonce = e.nonce;
        s.text = e.text;
        e.replaceWith(s);
      }
    });
    if (z) more('ph');
  }

  /* The on-demand module consent-extra.js (see there): the declaration in
   * the panel and on the privacy page, clean-up after a refusal, embed
   * placeholders. Loaded once, only by a page that needs one of them;
   * f(K, a, b) runs once it is there. */
  function more(f, a, b) {
    (M = M || new Promise(function (r) {
      load('consent-extra.js', function () { r(w.consent.x); }).onerror = function () { M = 0; };
    })).then(function (m) {
      m[f]({ a: api, s: site, st: st, D: function () { return D; }, c: choose, q: ask }, a, b);
    });
  }

  /* Loads script f from the script's folder; r runs once it is there. */
  function load(f, r) {
    var s = el('script');
    s.src = new URL(f, S.src).href;
    s.nonce = S.nonce;
    s.onload = r;
    d.head.append(s);
    return s;
  }

  /* The GPP page API's answerer, once st.G (the decision's gpp_ping) is
   * known: consent-gpp.js where a section applies, else gnone(); then the
   * calls that waited, in order. */
  function gstart() {
    var f = function (g) { GM = g; GQ.forEach(g); GQ = []; };
    if (GM || GQ.l) return;
    if (!st.G.sectionList[0]) return f(gnone);
    GQ.l = load('consent-gpp.js', function () { f(w.consent.g(st)); });
  }

  /* Tells consent-gpp.js: 'v' the banner or panel was shown or hidden,
   * 'n' a choice is being recorded, 's' the server's answer to a choice
   * (st.G: the string in force after it), 'd' a decision or a refusal
   * (st.G: the string in force, perhaps unchanged). */
  function gpp(k) {
    if (GM && GM.u) GM.u(k);
  }

  /* __gpp where no GPP section applies: the server's ping as it is
   * (applicableSections [-1], signal ready, display disabled: IAB CMP API,
   * PingReturn). */
  function gnone(a) {
    var c = a[0], A = c == 'addEventListener', p = st.G,
      r = c == 'ping' ? p : /Lis/.test(c) ? {     // add/removeEventListener
        eventName: 'listener' + (A ? 'Registered' : 'Removed'),
        listenerId: A ? ++GN : a[2], data: A || a[2] > 0 && a[2] <= GN, pingData: p
      } : c == 'hasSection' ? !1 : null;
    if (a[1]) a[1](r, r !== null);
  }

  function get() {
    return C && Object.assign({}, C);
  }

  function apply(c) {
    if (JSON.stringify(c) == JSON.stringify(C)) return;
    C = c;
    consentMode('update');
    gate();
    fns.forEach(function (f) { f(get()); });
    d.dispatchEvent(new CustomEvent('consent:change', { bubbles: true, detail: get() }));
  }

  /* Every category on (on) or off, except the locked ones. */
  function all(on) {
    var c = {};
    D.categories.forEach(function (k) { c[k.id] = k.locked ? k.locked == 'necessary' : !!on; });
    return c;
  }

  function ask(settings) {
    return fetch(api + 'banner?site=' + encodeURIComponent(site) + (settings ? '&settings=1' : '') +
                 (preview ? '&preview=' + encodeURIComponent(preview) : '') +
                 // the experiment bucket, drawn once (kept by save() with the rest):
                 // the clock's milliseconds, as even as a random draw across visitors
                 '&bucket=' + (st.k = st.k < 100 && st.k >= 0 ? st.k : new Date % 100),
                 { credentials: 'include' }).then(function (r) {
      if (r.status == 403 && preview) { preview = null; return ask(settings); }
      if (!r.ok) throw r;
      return r.json();
    }).then(function (x) { ID = x.consent_id; return (D = x); });
  }

  /* Sends the queued requests one by one; 5xx and network errors are retried. */
  function flush() {
    var q = st.q && st.q[0];
    if (!q || busy || preview) return;
    busy = 1;
    fetch(api + q[1], {
      method: q[0], credentials: 'include', keepalive: true,
      headers: { 'Content-Type': 'application/json' }, body: q[2] && JSON.stringify(q[2])
    }).then(function (r) {
      busy = 0;
      if (r.status > 499) throw r;
      st.q.shift();
      save();
      delay = 2e3;
      if (r.status == 409) return ask().then(function (x) { fresh(x, 1); });
      if (r.ok) r.json().then(function (x) {
        var R = x.receipt;
        ID = x.consent_id;
        st.e = R.expires_ms;
        // The GPP string in force after this choice, and its fields.
        if (x.gpp_ping) st.G = x.gpp_ping;
        save();
        gpp('s');
        try {
          localStorage.setItem(RKEY, JSON.stringify({ jws: x.jws, seq: R.seq, receipt_id: R.receipt_id, time_ms: R.time_ms }));
        } catch (e) { /* full */ }
      }, Object);
      // Refused (4xx): the string in force is the one before.
      else gpp('d');
      flush();
    }).catch(function () {
      busy = 0;
      setTimeout(flush, delay);
      delay = Math.min(delay * 2, 6e4);
    });
  }

  function record(a, c) {
    apply(c);
    // In a preview kept for this page view only (save() writes nothing).
    st.c = c;
    st.w = st.t = now();
    if (preview) return;
    gpp('n');
    st.e = st.t + D.consent_days * 864e5;
    // Withdrawal without a consent ID (nothing recorded yet) is a POST.
    (st.q = st.q || []).push(a == 'withdraw' && ID ? ['DELETE', 'consents/me?site=' + site]
      : ['POST', 'consents',
         { site: site, banner_version: D.banner_version, texts_sha256: D.texts_sha256, variant: D.variant, action: a, choices: c }]);
    st.q = st.q.slice(-20);
    save();
    flush();
    // A category off: its declared first-party cookies and storage go.
    for (var k in c) if (!c[k]) return more('off', c);
  }

  /* {date} in s filled with time t (ms) in the banner's language. */
  function when(s, t) {
    return s.replace('{date}', new Intl.DateTimeFormat(D.language, { dateStyle: 'long' }).format(t));
  }

  /* A short status line (role=status, announced): created empty first so
   * that screen readers notice the text; cleared after a while. */
  function note(t) {
    if (!N) {
      (N = el('p', theme('cc-n'))).setAttribute('role', 'status');
      d.body.append(N);
    }
    css();
    setTimeout(function () {
      N.textContent = t;
      setTimeout(function () { if (N.textContent == t) N.textContent = ''; }, 8e3);
    }, 99);
  }

  /* msg: what the choice did, said before the date it was saved. */
  function choose(a, c, msg) {
    if (P) P.close();
    record(a, c);
    hide();
    // In a preview: a note that nothing was recorded.
    note(preview ? D.preview : (msg ? msg + ' ' : '') + when(D.texts.panel.saved, now()));
    reopen();
  }

  /* "Do Not Sell or Share": sale/sharing categories off, the rest as they
   * are, recorded in one click (banner button, or any data-consent-optout). */
  function optout(e) {
    if (e && e.preventDefault) e.preventDefault();
    (D ? Promise.resolve(D) : ask()).then(function (x) {
      var c = Object.assign({}, x.choices, C);
      x.categories.forEach(function (k) { if (k.sale_sharing) c[k.id] = false; });
      choose('custom', c, x.texts.opted_out);
    }).catch(Object);
  }

  /* The floating button that opens the settings (data-reopen-button),
   * once a choice exists. */
  function reopen() {
    if (!R && st.c && st.r && S.hasAttribute('data-reopen-button')) {
      R = btn(st.r, open, 0, theme('cc-r'));
      ready.then(function () { d.body.append(R); css(); });
    }
  }

  /* A new decision from the server. */
  function fresh(x, force) {
    var o = st.c, sale = st.s = [];
    D = x;
    x.categories.forEach(function (k) { if (k.sale_sharing) sale.push(k.id); });
    st.g = x.gpc.received;
    st.b = x.jurisdiction.gpc_binding;
    st.v = x.banner_version;
    // For placeholders on later views, which ask the server nothing.
    st.p = [x.language, x.texts.placeholder, x.texts.categories];
    st.r = x.texts.panel.reopen;
    if (x.consent_mode) {
      st.m = x.consent_mode;
      if (!CMattr) CM = x.consent_mode;
    }
    // The site's signals: their default goes out as soon as they are known
    // (before the update below) on the view that first learns them.
    if (!SGattr) {
      SG = x.signals || {};
      if (!st.x) vendors('default');
    }
    st.x = x.signals;
    st.G = x.gpp_ping;
    gstart();
    gpp('d');
    st.t = now();
    recorded = 0;
    // A choice the server has not confirmed yet wins over what it knows
    // (a preview shows its banner all the same).
    if (!force && !preview && o && st.q && st.q[0]) return apply(o);
    if (force || x.prompt || preview) {
      delete st.c;
      show(x);
    } else {
      st.c = x.choices;
      st.e = x.stored ? x.stored.expires_ms : st.t + x.consent_days * 864e5;
      if (x.stored) st.w = x.stored.time_ms;
    }
    apply(x.choices);
    save();
    reopen();
    // Where GPC is binding, honouring it is recorded on the server at once.
    if (x.gpc.binding && (!x.stored || o && sale.some(function (k) { return o[k]; }))) {
      recorded = 1;
      record('gpc', x.choices);
    }
  }

  function css() {
    return cssP = cssP || new Promise(function (r) {
      var l = el('link');
      l.rel = 'stylesheet';
      l.href = new URL('consent.css', S.src).href;
      l.onload = l.onerror = r;
      d.head.append(l);
    });
  }

  var ready = new Promise(function (r) {
    if (d.readyState == 'loading') d.addEventListener('DOMContentLoaded', r); else r();
  });

  /* Runs fn once the page and the CSS are there, unless e was replaced. */
  function shown(e, fn) {
    Promise.all([ready, css()]).then(function () { if (e == B || e == P) fn(e); });
  }

  function show(x) {
    var T = x.texts, m = x.jurisdiction.model, a;
    hide();
    // An experiment's variant may bring its own layout (each renders both
    // answers of an opt-in banner alike).
    B = el('div', theme('cc-b cc-' + (x.layout || attr('data-layout') || 'bar-bottom')));
    B.setAttribute('role', 'dialog');
    B.setAttribute('aria-labelledby', 'cc-t');
    B.setAttribute('aria-describedby', 'cc-d');
    B.lang = x.language;
    B.dir = x.dir;   // "rtl" for Arabic, Hebrew, ...: the server knows the language
    B.tabIndex = -1;
    B.hidden = true;
    el('h2', 0, T.title, B).id = 'cc-t';
    el('p', 0, T.body, B).id = 'cc-d';
    // GPC changed the defaults offered: said so in every model.
    if (x.gpc.received) el('p', 'cc-g', m == 'opt-out' ? T.gpc_honoured : T.gpc_applied, B);
    // Choices made in a region preview are applied, never sent: the
    // decision says so in preview.
    if (preview) el('p', 'cc-g', x.preview, B);
    a = el('div', 'cc-a', 0, B);
    if (m == 'opt-in') {
      btn(T.accept_all, function () { choose('accept_all', all(1)); }, a);
      btn(T.reject_all, function () { choose('reject_all', all(0)); }, a);
      btn(T.settings, open, a, 'cc-l');
    } else {
      btn(T.ok, function () { recorded ? hide() : choose('custom', get()); }, a);
      // Opt-out: one-click Do Not Sell, and the settings (panel.reopen's
      // "Cookie settings") for everything else.
      if (m == 'opt-out') btn(T.do_not_sell, optout, a, 'cc-l');
      link(m == 'opt-out' ? T.panel.reopen : T.settings, a);
    }
    if (T.policy && x.policy_url) el('a', 'cc-l', T.policy, a).href = x.policy_url;
    shown(B, function (b) {
      d.body.prepend(b);
      b.hidden = false;
      gpp('v');
      // Focus moves into the banner unless the visitor is already busy elsewhere.
      if (d.activeElement == d.body || !d.activeElement) b.focus();
    });
  }

  function hide() {
    if (B) B.remove();
    B = 0;
    gpp('v');
  }

  /* Opens the settings panel, asking the server first when needed. */
  function open(e) {
    if (e && e.preventDefault) e.preventDefault();
    (D ? Promise.resolve(D) : ask(1)).then(panel).catch(Object);
  }

  function panel(x) {
    var T = x.texts, Q = T.panel, box = {}, back = d.activeElement, ul, p, a;
    if (P) P.remove();
    P = el('dialog', theme('cc-p'));
    P.setAttribute('aria-labelledby', 'cc-pt');
    P.lang = x.language;
    P.dir = x.dir;
    a = el('div', 'cc-h', 0, P);
    el('h2', 0, Q.title, a).id = 'cc-pt';
    btn(Q.close, function () { P.close(); }, a, 'cc-l');
    // The choice in force and when it was made, when one is stored.
    if (st.c && st.w) el('p', 0, when(Q.current, st.w), P);
    ul = el('ul', 0, 0, P);
    x.categories.forEach(function (k, i) {
      var li = el('li', 0, 0, ul), lab = el('label', 0, 0, li), t = T.categories[k.id] || {},
        c = box[k.id] = el('input', 0, 0, lab), ids = 'cc-p' + i;
      c.type = 'checkbox';
      c.setAttribute('role', 'switch');
      c.checked = k.locked ? k.locked == 'necessary' : !!(C || x.choices)[k.id];
      c.disabled = !!k.locked;
      el('span', 0, t.name || k.id, lab);
      el('p', 0, t.purpose, li).id = ids;
      if (k.locked) {
        el('p', 'cc-k', k.locked == 'gpc' ? Q.gpc_locked : Q.always_on, li).id = ids + 'k';
        ids += ' ' + ids + 'k';
      }
      c.setAttribute('aria-describedby', ids);
    });
    // The consent ID exists once a choice was recorded: none before.
    if (ID) {
      p = el('p', 'cc-i', Q.consent_id, P);
      a = el('code', 0, ID, p);
      btn(Q.copy, function (e) {
        getSelection().selectAllChildren(a);   // without a clipboard: ready for Ctrl+C
        try {
          n.clipboard.writeText(a.textContent).then(function () { e.target.textContent = Q.copy + ' \u2713'; }, Object);
        } catch (_) { /* no clipboard API */ }
      }, p, 'cc-btn cc-s');
    }
    // Withdrawal only when a stored choice allows an optional category.
    if (st.c && x.categories.some(function (k) { return !k.locked && st.c[k.id]; }))
      btn(Q.withdraw, function () { choose('withdraw', all(0)); }, P, 'cc-l cc-w');
    a = el('div', 'cc-a cc-f', 0, P);
    btn(Q.accept_all, function () { choose('accept_all', all(1)); }, a);
    btn(Q.reject_all, function () { choose('reject_all', all(0)); }, a);
    btn(Q.save, function () {
      var c = {}, k;
      for (k in box) c[k] = box[k].checked;
      choose('custom', c);
    }, a);
    P.onclose = function () {
      this.remove();
      if (P == this) P = 0;
      gpp('v');
      if (back && back.isConnected) back.focus();
    };
    shown(P, function (b) {
      d.body.append(b);
      b.showModal();
      gpp('v');
      more('panel', b, x);
    });
  }

  w.consent = {
    get: get,
    open: open,
    // The newest receipt this browser was given: {jws, seq, receipt_id, time_ms}.
    receipt: function () {
      try { return JSON.parse(localStorage.getItem(RKEY)); } catch (e) { return null; }
    },
    onChange: function (f) {
      fns.push(f);
      if (C) f(get());
    }
  };

  consentMode('default');
  d.addEventListener('click', function (e) {
    var t = e.target;
    if (!t.closest) return;
    if (t.closest('[data-consent-settings]')) open(e);
    if (t.closest('[data-consent-optout]')) optout(e);
  });
  w.addEventListener('online', flush);
  ready.then(function () {
    gate();
    if (d.querySelector('[data-consent-declaration]')) more('table');
  });

  if (st.c && st.e > now() && !preview) {
    // A valid stored choice: applied exactly as recorded, no request. Only
    // where GPC is binding does it turn sale and sharing off (at once; the
    // server records that); the server is asked when GPC is new.
    var c = Object.assign({}, st.c);
    if (gpc && st.b) (st.s || []).forEach(function (k) { c[k] = false; });
    apply(c);
    reopen();
    // Stored before GPP strings were: asked for them.
    if (st.G) gstart();
    if (gpc && !st.g || !st.G || now() - st.t > refresh) ask().then(fresh).catch(Object);
  } else {
    css();
    ask().then(fresh).catch(Object);
  }
  flush();
})(window, document, navigator);
