/*
 * consent-extra.js - loaded on demand by consent.js, never by a page
 * itself: what only some pages and some moments need, kept out of the
 * script every page loads.
 *
 *  - panel: the cookie declaration per category in the settings panel,
 *    collapsed (<details>), from GET /consent/v1/declaration.
 *  - declaration: the full declaration in <div data-consent-declaration>
 *    (the privacy page), an accessible table with caption and headers.
 *  - cleanUp: after a save that leaves a category off, deletes the declared
 *    first-party cookies and storage keys of every category that is off
 *    (the list comes with the banner decision, "cleanup"), and blocks again
 *    an embed loaded once.
 *  - placeholders: placeholders for blocked embeds (<iframe data-consent
 *    data-src>): provider, category, "Load this once" and "Allow <category>".
 *
 * consent.js calls each as entry(core, first, second); core gives the
 * core's state: api_ (API base), site_, stored_ (what it keeps in
 * localStorage), decision_() (the latest decision or undefined),
 * choose_(action, choices) (records a choice as the banner's buttons do),
 * ask_() (asks for a decision). Properties ending in "_" are shortened by
 * the build alike in consent.js and here (build.mjs). Readable source;
 * static/consent-extra.js is this file minified by `make assets`.
 */
(function (window, document) {
  'use strict';
  const here = document.currentScript.src,   // set only while this file first runs
    COLUMNS = ['col_name', 'col_provider', 'col_duration', 'col_type', 'col_purpose'];
  let declaration,     // the declaration request: a promise, once asked for
    cssLoaded,         // the stylesheets: a promise, once asked for
    lastCore,          // the core's state, as the last entry was given it
    placeholderCount = 0;

  /* The core's element(tag, className, text, parent): every entry runs
   * after keepingCore has kept the core. */
  const element = (...args) => lastCore.element_(...args);

  function button(text, onClick, parent) {
    const created = element('button', 'cc-btn', text, parent);
    created.type = 'button';
    created.onclick = onClick;
    return created;
  }

  /* This module's stylesheet, and consent.css where the core has not
   * loaded it (a returning visitor sees no banner). */
  function loadCss() {
    return cssLoaded = cssLoaded || Promise.all(['consent.css', 'consent-extra.css'].map((file) => {
      const href = new URL(file, here).href;
      if (document.querySelector('link[href="' + href + '"]')) return;
      return new Promise((resolve) => {
        const link = element('link');
        link.rel = 'stylesheet';
        link.href = href;
        link.onload = link.onerror = resolve;
        document.head.append(link);
      });
    }));
  }

  /* The declaration in the visitor's language (one request per page view;
   * the answer is cacheable, with an ETag). */
  function fetchDeclaration(core) {
    return declaration = declaration || fetch(core.api_ + 'declaration?site=' + encodeURIComponent(core.site_))
      .then((response) => {
        if (!response.ok) throw response;
        return response.json();
      });
  }

  /* 0 days: the session; whole years or months as such; else days, in
   * the language's own words. */
  function duration(days, declared) {
    const unit = days % 365 ? days % 30 ? 'day' : 'month' : 'year';
    if (!days) return declared.texts.session;
    return new Intl.NumberFormat(declared.language, { style: 'unit', unit, unitDisplay: 'long' })
      .format(unit == 'year' ? days / 365 : unit == 'month' ? days / 30 : days);
  }

  function headerCell(text, scope, parent) {
    const cell = element('th', 0, text, parent);
    cell.scope = scope;
    return cell;
  }

  /* A table of the storage of categories: one row group per category,
   * headed by its name when there are several. */
  function storageTable(declared, categories, caption, parent) {
    const texts = declared.texts, table = element('table', 'cc-dt');
    categories = categories.filter((category) => category.storage.length);
    if (!categories.length) return;
    element('caption', 0, caption, table);
    const head = element('tr', 0, 0, element('thead', 0, 0, table));
    COLUMNS.forEach((column) => headerCell(texts[column], 'col', head));
    categories.forEach((category) => {
      const body = element('tbody', 0, 0, table);
      if (categories.length > 1) headerCell(category.name, 'rowgroup', element('tr', 0, 0, body)).colSpan = 5;
      category.storage.forEach((item) => {
        const row = element('tr', 0, 0, body);
        headerCell(item.name + (item.prefix ? '*' : ''), 'row', row);
        element('td', 0, item.provider + ' (' + texts[item.party + '_party'] + ')', row);
        element('td', 0, duration(item.days, declared), row);
        element('td', 0, texts['type_' + item.type], row);
        element('td', 0, item.purpose, row);
      });
    });
    parent.append(table);
  }

  /* The third parties of categories, each with a link to its privacy
   * policy; named: each says its category. */
  function vendorList(declared, categories, parent, named) {
    let list;
    categories.forEach((category) => {
      category.vendors.forEach((vendor) => {
        const item = element('li', 0, vendor.name + ' (' + (named ? category.name + ', ' : '') +
                             declared.texts.third_party + '): ', list = list || element('ul', 'cc-v', 0, parent)),
          link = element('a', 0, declared.texts.privacy_policy, item);
        link.href = vendor.policy_url;
        link.rel = 'noopener noreferrer';
      });
    });
  }

  /* In the settings panel (categories in the order of answer.categories,
   * the purpose of the i-th with id cc-p<i>): a collapsed <details> for
   * each category that declares anything. */
  function inPanel(core, dialog, answer) {
    Promise.all([fetchDeclaration(core), loadCss()]).then(([declared]) => {
      answer.categories.forEach((category, index) => {
        const declaredCategory = declared.categories.find((candidate) => candidate.id == category.id),
          purpose = document.getElementById('cc-p' + index);
        if (!declaredCategory || !purpose || !dialog.contains(purpose) ||
            dialog.querySelector('[data-cc-d="' + category.id + '"]')) return;
        const count = declaredCategory.storage.length + declaredCategory.vendors.length;
        if (!count) return;
        const details = element('details', 'cc-d', 0, purpose.parentNode);
        details.setAttribute('data-cc-d', category.id);
        element('summary', 0, declared.texts.declaration + ' (' + count + ')', details);
        storageTable(declared, [declaredCategory], declared.texts.declaration + ': ' + declaredCategory.name, details);
        vendorList(declared, [declaredCategory], details);
      });
    }).catch(Object);
  }

  /* Every <div data-consent-declaration> on the page: the whole declaration. */
  function onPage(core) {
    Promise.all([fetchDeclaration(core), loadCss()]).then(([declared]) => {
      document.querySelectorAll('[data-consent-declaration]').forEach((box) => {
        box.replaceChildren();
        box.lang = declared.language;
        box.classList.add('cc-dd');
        storageTable(declared, declared.categories, declared.texts.declaration, box);
        vendorList(declared, declared.categories, box, 1);
      });
    }).catch(Object);
  }

  /* "name" or "prefix*" against a key. */
  function matches(pattern, key) {
    return pattern.slice(-1) == '*' ? key.indexOf(pattern.slice(0, -1)) == 0 : key == pattern;
  }

  /*
   * Deletes a cookie everywhere this page can reach it: host-only and with
   * a Domain of the host and each parent down to two labels (a public
   * suffix refuses it anyway), on "/" and each prefix of the current path,
   * with and without the trailing "/". Cookies of other paths and of other
   * parents cannot be told apart from here: they are tried by name.
   */
  function deleteCookie(name) {
    const host = location.hostname, domains = [''], paths = ['/'];
    let path = '';
    if (!/^[\d.]+$|:/.test(host))
      for (let labels = host.split('.'), i = 0; i + 2 <= labels.length; i++)
        domains.push('; Domain=' + labels.slice(i).join('.'));
    location.pathname.split('/').slice(1).forEach((segment) => {
      path += '/' + segment;
      paths.push(path, path + '/');
    });
    domains.forEach((domain) => {
      paths.forEach((onPath) => {
        document.cookie = name + '=; Max-Age=0; Path=' + onPath + domain +
          (location.protocol == 'https:' ? '; Secure' : '');
      });
    });
  }

  function cleanUp(core, next) {
    const cleanup = core.decision_()?.cleanup || {};
    for (const category in cleanup) if (!next[category]) {
      cleanup[category].cookies.forEach((pattern) => {
        // Exact names are deleted whether this path sees them or not;
        // a prefix can only match the names this page sees.
        const names = document.cookie.split(/; */).map((cookie) => cookie.split('=')[0])
          .filter((name) => matches(pattern, name));
        if (pattern.slice(-1) != '*') names.push(pattern);
        names.forEach(deleteCookie);
      });
      [window.localStorage, window.sessionStorage].forEach((storage) => {
        try {
          for (let i = storage.length; i--;) {
            const key = storage.key(i);
            if (cleanup[category].storage.some((pattern) => matches(pattern, key))) storage.removeItem(key);
          }
        } catch (e) { /* storage blocked */ }
      });
    }
    // An embed loaded once is blocked again by a refusal.
    gatedFrames().forEach((frame) => {
      if (!categoriesOf(frame).every((category) => next[category]) &&
          frame.getAttribute('src') == frame.getAttribute('data-src'))
        frame.src = 'about:blank';
    });
    placeholders(core);
  }

  function gatedFrames() {
    return [...document.querySelectorAll('iframe[data-consent][data-src]')];
  }

  function categoriesOf(frame) {
    return frame.getAttribute('data-consent').split(/\s+/);
  }

  /* Texts for placeholders: [language, placeholder texts, category texts],
   * from the decision, else as kept from the last one. */
  function placeholderTexts(core) {
    const decision = core.decision_();
    return decision ? [decision.language, decision.texts.placeholder, decision.texts.categories] : core.stored_.p;
  }

  /* Shows a placeholder before each blocked embed, removes the one of an
   * embed that loaded (kept on the iframe as ccPlaceholder: a name no
   * browser gives an element). */
  function placeholders(core) {
    const choices = window.consent.get(), texts = placeholderTexts(core);
    gatedFrames().forEach((frame) => {
      const loaded = frame.getAttribute('src') == frame.getAttribute('data-src');
      if (loaded && frame.ccPlaceholder) {
        frame.ccPlaceholder.remove();
        frame.ccPlaceholder = 0;
        frame.hidden = false;
      } else if (!loaded && !frame.ccPlaceholder && texts) {
        placeholder(core, frame, categoriesOf(frame).filter((category) => !choices || !choices[category]), texts);
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
  function placeholder(core, frame, blocked, texts) {
    const source = frame.getAttribute('data-src'), words = texts[1], id = 'cc-e' + placeholderCount++,
      provider = frame.getAttribute('data-consent-provider') || new URL(source, location.href).hostname,
      names = blocked.map((category) => (texts[2][category] || {}).name || category).join(', '),
      fill = (text) => text.replace(/\{provider\}/g, provider).replace(/\{category\}/g, names),
      box = element('div', 'cc cc-e'), canvas = element('canvas', 0, 0, box), inner = element('div', 0, 0, box);
    // The embed's border box, less the placeholder's 1px border.
    canvas.width = (frame.offsetWidth || +frame.getAttribute('width') || 300) - 2;
    canvas.height = (frame.offsetHeight || +frame.getAttribute('height') || 150) - 2;
    box.setAttribute('role', 'region');
    box.setAttribute('aria-labelledby', id);
    box.lang = texts[0];
    element('p', 'cc-et', fill(words.title), inner).id = id;
    element('p', 0, fill(words.body), inner);
    const actions = element('div', 'cc-a', 0, inner);
    button(words.load_once, () => {
      frame.src = source;
      placeholders(core);
    }, actions);
    button(fill(words.allow), () => {
      (core.decision_() ? Promise.resolve(core.decision_()) : core.ask_()).then((decision) => {
        const next = {}, current = window.consent.get() || decision.choices;
        decision.categories.forEach((category) => {
          next[category.id] = category.locked ? category.locked == 'necessary'
            : !!current[category.id] || blocked.indexOf(category.id) >= 0;
        });
        core.choose_('custom', next);
      }).catch(Object);
    }, actions);
    frame.ccPlaceholder = box;
    loadCss().then(() => {
      if (frame.ccPlaceholder != box) return;
      frame.before(box);
      frame.hidden = true;
    });
  }

  /* Each entry keeps the core's state for the placeholders' own updates. */
  function keepingCore(entry) {
    return (core, first, second) => {
      lastCore = core;
      entry(core, first, second);
    };
  }

  window.consent.extra_ = {
    panel: keepingCore(inPanel), declaration: keepingCore(onPage),
    cleanUp: keepingCore(cleanUp), placeholders: keepingCore(placeholders)
  };
  // After every change (gating has run by then): placeholders follow.
  document.addEventListener('consent:change', () => { if (lastCore) placeholders(lastCore); });
})(window, document);
