/*
 * consent-extra.js - loaded on demand by consent.js, never by a page
 * itself: what only some pages and some moments need, kept out of the
 * script every page loads.
 *
 *  - panel: the cookie declaration per category in the settings panel,
 *    collapsed (<details>), from GET /consent/v1/declaration.
 *  - table: the full declaration in <div data-consent-declaration> (the
 *    privacy page), an accessible table with caption and headers.
 *  - off: after a save that leaves a category off, deletes the declared
 *    first-party cookies and storage keys of every category that is off
 *    (the list comes with the banner decision, "cleanup"), and blocks again
 *    an embed loaded once.
 *  - ph: placeholders for blocked embeds (<iframe data-consent data-src>):
 *    provider, category, "Load this once" and "Allow <category>".
 *
 * consent.js calls each as f(K, a, b); K gives the core's state: a (API
 * base), s (site), st (what it keeps in localStorage), D() (the latest
 * decision or undefined), c(action, choices) (records a choice as the
 * banner's buttons do), q() (asks for a decision). Readable source;
 * static/consent-extra.js is this file minified (tests/browser/minify.js).
 */
(function (w, d) {
  'use strict';
  var decl, cssP, KK, n = 0,
    here = d.currentScript.src,   // set only while this file first runs
    COLS = ['col_name', 'col_provider', 'col_duration', 'col_type', 'col_purpose'];

  function el(tag, cls, text, parent) {
    var e = d.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    if (parent) parent.append(e);
    return e;
  }

  function btn(text, fn, parent) {
    var b = el('button', 'cc-btn', text, parent);
    b.type = 'button';
    b.onclick = fn;
    return b;
  }

  /* This module's stylesheet, and consent.css where the core has not
   * loaded it (a returning visitor sees no banner). */
  function css() {
    return cssP = cssP || Promise.all(['consent.css', 'consent-extra.css'].map(function (f) {
      var h = new URL(f, here).href, l;
      if (d.querySelector('link[href="' + h + '"]')) return;
      return new Promise(function (r) {
        l = el('link');
        l.rel = 'stylesheet';
        l.href = h;
        l.onload = l.onerror = r;
        d.head.append(l);
      });
    }));
  }

  /* The declaration in the visitor's language (one request per page view;
   * the answer is cacheable, with an ETag). */
  function get(K) {
    return decl = decl || fetch(K.a + 'declaration?site=' + encodeURIComponent(K.s)).then(function (r) {
      if (!r.ok) throw r;
      return r.json();
    });
  }

  /* 0 days: the session; whole years or months as such; else days, in
   * the language's own words. */
  function duration(days, J) {
    var u = days % 365 ? days % 30 ? 'day' : 'month' : 'year';
    if (!days) return J.texts.session;
    return new Intl.NumberFormat(J.language, { style: 'unit', unit: u, unitDisplay: 'long' })
      .format(u == 'year' ? days / 365 : u == 'month' ? days / 30 : days);
  }

  function th(text, scope, parent) {
    var e = el('th', 0, text, parent);
    e.scope = scope;
    return e;
  }

  /* A table of the storage of cats: one row group per category, headed by
   * its name when there are several. */
  function table(J, cats, caption, parent) {
    var T = J.texts, t = el('table', 'cc-dt'), r;
    cats = cats.filter(function (c) { return c.storage.length; });
    if (!cats.length) return;
    el('caption', 0, caption, t);
    r = el('tr', 0, 0, el('thead', 0, 0, t));
    COLS.forEach(function (k) { th(T[k], 'col', r); });
    cats.forEach(function (c) {
      var b = el('tbody', 0, 0, t);
      if (cats.length > 1) th(c.name, 'rowgroup', el('tr', 0, 0, b)).colSpan = 5;
      c.storage.forEach(function (s) {
        r = el('tr', 0, 0, b);
        th(s.name + (s.prefix ? '*' : ''), 'row', r);
        el('td', 0, s.provider + ' (' + T[s.party + '_party'] + ')', r);
        el('td', 0, duration(s.days, J), r);
        el('td', 0, T['type_' + s.type], r);
        el('td', 0, s.purpose, r);
      });
    });
    parent.append(t);
  }

  /* The third parties of cats, each with a link to its privacy policy. */
  function vendors(J, cats, parent, named) {
    var ul;
    cats.forEach(function (c) {
      c.vendors.forEach(function (v) {
        var li = el('li', 0, v.name + ' (' + (named ? c.name + ', ' : '') + J.texts.third_party + '): ',
                    ul = ul || el('ul', 'cc-v', 0, parent)), a = el('a', 0, J.texts.privacy_policy, li);
        a.href = v.policy_url;
        a.rel = 'noopener noreferrer';
      });
    });
  }

  /* In the settings panel P (categories in the order of x.categories, the
   * purpose of the i-th with id cc-p<i>): a collapsed <details> for each
   * category that declares anything. */
  function panel(K, P, x) {
    Promise.all([get(K), css()]).then(function (a) {
      var J = a[0];
      x.categories.forEach(function (k, i) {
        var c = J.categories.filter(function (y) { return y.id == k.id; })[0],
          p = d.getElementById('cc-p' + i), det, count;
        if (!c || !p || !P.contains(p) || P.querySelector('[data-cc-d="' + k.id + '"]')) return;
        count = c.storage.length + c.vendors.length;
        if (!count) return;
        det = el('details', 'cc-d', 0, p.parentNode);
        det.setAttribute('data-cc-d', k.id);
        el('summary', 0, J.texts.declaration + ' (' + count + ')', det);
        table(J, [c], J.texts.declaration + ': ' + c.name, det);
        vendors(J, [c], det);
      });
    }).catch(Object);
  }

  /* Every <div data-consent-declaration> on the page: the whole declaration. */
  function full(K) {
    Promise.all([get(K), css()]).then(function (a) {
      var J = a[0];
      d.querySelectorAll('[data-consent-declaration]').forEach(function (e) {
        e.replaceChildren();
        e.lang = J.language;
        e.classList.add('cc-dd');
        table(J, J.categories, J.texts.declaration, e);
        vendors(J, J.categories, e, 1);
      });
    }).catch(Object);
  }

  /* "name" or "prefix*" against a key. */
  function match(p, key) {
    return p.slice(-1) == '*' ? key.indexOf(p.slice(0, -1)) == 0 : key == p;
  }

  /*
   * Deletes a cookie everywhere this page can reach it: host-only and with
   * a Domain of the host and each parent down to two labels (a public
   * suffix refuses it anyway), on "/" and each prefix of the current path,
   * with and without the trailing "/". Cookies of other paths and of other
   * parents cannot be told apart from here: they are tried by name.
   */
  function uncookie(name) {
    var h = location.hostname, doms = [''], paths = ['/'], p = '', parts, i;
    if (!/^[\d.]+$|:/.test(h))
      for (parts = h.split('.'), i = 0; i + 2 <= parts.length; i++) doms.push('; Domain=' + parts.slice(i).join('.'));
    location.pathname.split('/').slice(1).forEach(function (s) {
      p += '/' + s;
      paths.push(p, p + '/');
    });
    doms.forEach(function (m) {
      paths.forEach(function (q) {
        d.cookie = name + '=; Max-Age=0; Path=' + q + m + (location.protocol == 'https:' ? '; Secure' : '');
      });
    });
  }

  function off(K, c) {
    var L = (K.D() || {}).cleanup || {}, k;
    for (k in L) if (!c[k]) {
      L[k].cookies.forEach(function (p) {
        // Exact names are deleted whether this path sees them or not;
        // a prefix can only match the names this page sees.
        var names = d.cookie.split(/; */).map(function (s) { return s.split('=')[0]; })
          .filter(function (x) { return match(p, x); });
        if (p.slice(-1) != '*') names.push(p);
        names.forEach(uncookie);
      });
      [w.localStorage, w.sessionStorage].forEach(function (S) {
        try {
          for (var i = S.length; i--;) {
            var key = S.key(i);
            if (L[k].storage.some(function (p) { return match(p, key); })) S.removeItem(key);
          }
        } catch (e) { /* storage blocked */ }
      });
    }
    // An embed loaded once is blocked again by a refusal.
    frames().forEach(function (e) {
      if (!cats(e).every(function (k) { return c[k]; }) && e.getAttribute('src') == e.getAttribute('data-src'))
        e.src = 'about:blank';
    });
    ph(K);
  }

  function frames() {
    return [].slice.call(d.querySelectorAll('iframe[data-consent][data-src]'));
  }

  function cats(e) {
    return e.getAttribute('data-consent').split(/\s+/);
  }

  /* Texts for placeholders: [language, placeholder texts, category texts],
   * from the decision, else as kept from the last one. */
  function texts(K) {
    var D = K.D();
    return D ? [D.language, D.texts.placeholder, D.texts.categories] : K.st.p;
  }

  /* Shows a placeholder before each blocked embed, removes the one of an
   * embed that loaded. */
  function ph(K) {
    var C = w.consent.get(), P = texts(K);
    frames().forEach(function (e) {
      var loaded = e.getAttribute('src') == e.getAttribute('data-src');
      if (loaded && e.ccP) {
        e.ccP.remove();
        e.ccP = 0;
        e.hidden = false;
      } else if (!loaded && !e.ccP && P) {
        place(K, e, cats(e).filter(function (k) { return !C || !C[k]; }), P);
      }
    });
  }

  /*
   * The placeholder: a labelled region with the provider (data-consent-
   * provider, else the embed's host), the categories and two buttons. Its
   * size is the embed's: a canvas of the embed's width and height (which
   * scales like an image) holds the box open, the text lies on top of it,
   * so the page does not jump and no inline style is needed.
   */
  function place(K, e, off, P) {
    var u = e.getAttribute('data-src'), t = P[1], id = 'cc-e' + n++,
      prov = e.getAttribute('data-consent-provider') || new URL(u, location.href).hostname,
      names = off.map(function (k) { return (P[2][k] || {}).name || k; }).join(', '),
      f = function (s) { return s.replace(/\{provider\}/g, prov).replace(/\{category\}/g, names); },
      box = el('div', 'cc cc-e'), cv = el('canvas', 0, 0, box), inner = el('div', 0, 0, box), a;
    // The embed's border box, less the placeholder's 1px border.
    cv.width = (e.offsetWidth || +e.getAttribute('width') || 300) - 2;
    cv.height = (e.offsetHeight || +e.getAttribute('height') || 150) - 2;
    box.setAttribute('role', 'region');
    box.setAttribute('aria-labelledby', id);
    box.lang = P[0];
    el('p', 'cc-et', f(t.title), inner).id = id;
    el('p', 0, f(t.body), inner);
    a = el('div', 'cc-a', 0, inner);
    btn(t.load_once, function () {
      e.src = u;
      ph(K);
    }, a);
    btn(f(t.allow), function () {
      (K.D() ? Promise.resolve(K.D()) : K.q()).then(function (D) {
        var c = {}, C = w.consent.get() || D.choices;
        D.categories.forEach(function (k) {
          c[k.id] = k.locked ? k.locked == 'necessary' : !!C[k.id] || off.indexOf(k.id) >= 0;
        });
        K.c('custom', c);
      }).catch(Object);
    }, a);
    e.ccP = box;
    css().then(function () {
      if (e.ccP != box) return;
      e.before(box);
      e.hidden = true;
    });
  }

  /* Each entry keeps the core's K for the placeholders' own updates. */
  function keep(f) {
    return function (K, a, b) {
      KK = K;
      f(K, a, b);
    };
  }

  w.consent.x = { panel: keep(panel), table: keep(full), off: keep(off), ph: keep(ph) };
  // After every change (gating has run by then): placeholders follow.
  d.addEventListener('consent:change', function () { if (KK) ph(KK); });
})(window, document);
