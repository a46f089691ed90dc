/*
 * consent.js - the browser side of consentd: the banner, the settings panel,
 * receipts sent to the server (the newest one kept by the visitor as proof),
 * gating of scripts and iframes, Google Consent Mode v2, region previews
 * (applied, never recorded). What only some pages need (the cookie
 * declaration, clean-up after a refusal, embed placeholders) is in
 * consent-extra.js, loaded on demand by extra(); the IAB GPP page API
 * (__gpp) in consent-gpp.js, loaded where a GPP section applies
 * (startGpp()). No dependencies. This is the readable source;
 * static/consent.js is this file minified by `make assets` (build.mjs).
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
 *
 * Properties whose names end in "_" are this script's own, shared with
 * consent-extra.js and consent-gpp.js: the build shortens them in all three
 * files alike (build.mjs). Every other property name is a browser's, the
 * server's or the page's and is kept as written.
 */
(function (window, document, navigator) {
  'use strict';
  const script = document.currentScript || document.querySelector('script[data-site]');
  if (!script || window.consent) return;
  const attr = (name) => script.getAttribute(name),
    site = attr('data-site'),
    // The script is /consent/consent.js or /consent/v/VERSION/consent.js.
    api = attr('data-api') || script.src.replace(/(v\/[^/]+\/)?[^/]*$/, 'v1/'),
    STORE_KEY = 'consent:' + site,
    RECEIPT_KEY = 'consent.receipt.' + site,   // the newest receipt: the visitor's own proof
    refreshMs = 1e3 * (attr('data-refresh') || 86400),
    gpc = navigator.globalPrivacyControl === true,
    now = Date.now,
    changeListeners = [],
    // The page's Consent Mode mapping and vendor signals, when it gives them.
    pageConsentMode = parseAttr('data-consent-mode'),
    pageSignals = parseAttr('data-signals'),
    ready = new Promise((resolve) => {
      if (document.readyState == 'loading') document.addEventListener('DOMContentLoaded', resolve); else resolve();
    });
  let preview = new URLSearchParams(location.search).get('consent_preview'),
    // Kept in localStorage (static/README.md, "What is kept in the
    // browser"; the short keys are that format): c choices, e expiry, t last
    // asked, v banner version, g GPC accounted for, s sale/sharing
    // categories, q requests not yet confirmed by the server, w when the
    // choice was made, b GPC binding in the region, r the reopen button's
    // label, m and x the site's mappings, G the GPP ping of the last decision
    // or receipt, p the placeholder texts, k this browser's experiment bucket
    // (0-99: which banner variant it sees; shared by a hundredth of all
    // visitors).
    stored = {},
    choices = null,       // the choices in force
    decision,             // the latest banner decision
    consentId = null,     // once the server has issued one (first 201)
    bannerBox, panelDialog, statusLine, reopenButton,
    sending,              // a queued request is on its way
    cssLoaded,            // consent.css: a promise, once asked for
    recordedByGpc,        // the decision's GPC default was recorded at once
    retryDelay = 2e3,
    extraModule,          // consent-extra.js: a promise, once asked for (extra())
    gppQueue = [],        // __gpp calls waiting for an answerer (startGpp())
    gppAnswer,            // what answers __gpp calls: consent-gpp.js's, or answerWithoutGpp()
    gppStarted,
    gppListenerIds = 0,   // listener IDs answerWithoutGpp() gave
    // Consent Mode mapping: the page's attribute, else the site's (from the
    // last decision), else this default.
    consentModeMap = {
      analytics: ['analytics_storage'],
      advertising: ['ad_storage', 'ad_user_data', 'ad_personalization'],
      functional: ['functionality_storage', 'personalization_storage']
    },
    signals;              // vendor -> category: the page's, else the site's

  // IAB GPP: __gpp is a function from here on (IAB, CMP API); calls wait,
  // in order, until the decision says whether a GPP section applies.
  window.__gpp = function () { gppAnswer ? gppAnswer(arguments) : gppQueue.push(arguments); };
  try { stored = JSON.parse(localStorage.getItem(STORE_KEY)) || stored; } catch (e) { /* none */ }
  consentModeMap = pageConsentMode || stored.m || consentModeMap;
  signals = pageSignals || stored.x || {};

  function parseAttr(name) {
    try { return JSON.parse(attr(name)); } catch (e) { /* none */ }
  }

  function save() {
    if (!preview) try { localStorage.setItem(STORE_KEY, JSON.stringify(stored)); } catch (e) { /* full */ }
  }

  function element(tag, className, text, parent) {
    const created = document.createElement(tag);
    if (className) created.className = className;
    if (text) created.textContent = text;
    if (parent) parent.append(created);
    return created;
  }

  function button(text, onClick, parent, className) {
    const created = element('button', className || 'cc-btn', text, parent);
    created.type = 'button';
    created.onclick = onClick;
    return created;
  }

  function settingsLink(text, parent) {
    const link = element('a', 'cc-l', text, parent);
    link.href = '#';
    link.onclick = openSettings;
    return link;
  }

  /* The classes of a root element (.cc) in the theme: data-theme, else the
   * site's color-scheme (meta, then the root's computed style) when it
   * names one scheme only, else the OS. */
  function rootClasses(classes) {
    const chosen = attr('data-theme'), meta = document.querySelector('meta[name=color-scheme]'),
      scheme = chosen == 'dark' || chosen == 'light' ? chosen
        : meta?.content || getComputedStyle(document.documentElement).colorScheme || '';
    let dark = /dark/.test(scheme);
    if (dark == /light/.test(scheme)) dark = matchMedia('(prefers-color-scheme: dark)').matches;
    return 'cc ' + classes + (dark ? ' cc-dk' : '');
  }

  /* As Google's gtag() does: the arguments object itself onto dataLayer. */
  function gtag() {
    (window.dataLayer = window.dataLayer || []).push(arguments);
  }

  /* Google Consent Mode v2: every type denied but security_storage, then
   * granted where a category mapped to it is allowed. */
  function consentMode(kind) {
    const states = {};
    'ad_storage ad_user_data ad_personalization analytics_storage functionality_storage personalization_storage'
      .split(' ').forEach((type) => { states[type] = 'denied'; });
    for (const category in consentModeMap)
      consentModeMap[category].forEach((type) => {
        states[type] = choices?.[category] ? 'granted' : states[type] || 'denied';
      });
    states.security_storage = 'granted';
    gtag('consent', kind, states);
    vendorSignals(kind);
  }

  /* Vendor consent signals per the site's mapping (vendor -> category):
   * Microsoft UET and Clarity, Meta Pixel, TikTok Pixel. UET's and Clarity's
   * queues are created when missing (their snippets keep an existing one);
   * fbq only when the page defined it (Meta's snippet does nothing when fbq
   * exists); TikTok's array queue takes [method] entries. */
  function vendorSignals(kind) {
    const state = (category) => choices?.[category] ? 'granted' : 'denied',
      clarity = signals.clarity;
    if (signals.uet) (window.uetq = window.uetq || []).push('consent', kind, { ad_storage: state(signals.uet) });
    if (clarity) {
      window.clarity = window.clarity || function () { (window.clarity.q = window.clarity.q || []).push(arguments); };
      window.clarity('consentv2', { ad_Storage: state(clarity.ad), analytics_Storage: state(clarity.analytics) });
    }
    if (signals.meta && window.fbq) window.fbq('consent', choices?.[signals.meta] ? 'grant' : 'revoke');
    if (signals.tiktok) {
      const queue = window.ttq = window.ttq || [],
        method = choices ? (choices[signals.tiktok] ? 'grant' : 'revoke') + 'Consent' : 'holdConsent';
      queue[method] ? queue[method]() : queue.push([method]);
    }
  }

  /* Runs gated scripts and loads gated iframes whose categories are allowed;
   * a blocked iframe gets a placeholder (consent-extra.js). */
  function gate() {
    let frameBlocked;
    document.querySelectorAll('script[type="text/plain"][data-consent],iframe[data-consent]').forEach((gated) => {
      const allowed = choices && gated.getAttribute('data-consent').split(/\s+/).every((category) => choices[category]),
        source = gated.getAttribute('data-src');
      if (gated.tagName == 'IFRAME') {
        if (source && (allowed ? gated.getAttribute('src') != source : gated.getAttribute('src') == source))
          gated.src = allowed ? source : 'about:blank';
        frameBlocked = frameBlocked || source && !allowed;
      } else if (allowed) {
        const runnable = document.createElement('script');
        runnable.async = false;   // external scripts keep their order
        for (const attribute of gated.attributes)
          if (attribute.name != 'type' && attribute.name != 'data-consent')
            runnable.setAttribute(attribute.name == 'data-type' ? 'type' : attribute.name, attribute.value);
        runnable.nonce = gated.nonce;
        runnable.text = gated.text;
        gated.replaceWith(runnable);
      }
    });
    if (frameBlocked) extra('placeholders');
  }

  /* The on-demand module consent-extra.js (see there): the declaration in
   * the panel and on the privacy page, clean-up after a refusal, embed
   * placeholders. Loaded once, only by a page that needs one of them;
   * its entry(core, first, second) runs once it is there. */
  function extra(entry, first, second) {
    (extraModule = extraModule || new Promise((resolve) => {
      loadScript('consent-extra.js', () => resolve(window.consent.extra_)).onerror = () => { extraModule = 0; };
    })).then((module) => {
      module[entry]({
        api_: api, site_: site, stored_: stored, decision_: () => decision, choose_: choose, ask_: ask,
        element_: element
      }, first, second);
    });
  }

  /* Loads a script from this script's folder; onLoad runs once it is there. */
  function loadScript(file, onLoad) {
    const loading = element('script');
    loading.src = new URL(file, script.src).href;
    loading.nonce = script.nonce;
    loading.onload = onLoad;
    document.head.append(loading);
    return loading;
  }

  /* The GPP page API's answerer, once stored.G (the decision's gpp_ping) is
   * known: consent-gpp.js where a section applies, else answerWithoutGpp();
   * then the calls that waited, in order. */
  function startGpp() {
    const answerWith = (answerer) => {
      gppAnswer = answerer;
      gppQueue.forEach(answerer);
      gppQueue = [];
    };
    if (gppStarted) return;
    gppStarted = 1;
    if (!stored.G.sectionList[0]) return answerWith(answerWithoutGpp);
    loadScript('consent-gpp.js', () => answerWith(window.consent.gpp_(stored)));
  }

  /* Tells consent-gpp.js: 'v' the banner or panel was shown or hidden,
   * 'n' a choice is being recorded, 's' the server's answer to a choice
   * (stored.G: the string in force after it), 'd' a decision or a refusal
   * (stored.G: the string in force, perhaps unchanged). */
  function tellGpp(event) {
    gppAnswer?.update_?.(event);
  }

  /* __gpp where no GPP section applies: the server's ping as it is
   * (applicableSections [-1], signal ready, display disabled: IAB CMP API,
   * PingReturn). */
  function answerWithoutGpp(call) {
    const command = call[0], adding = command == 'addEventListener', ping = stored.G,
      result = command == 'ping' ? ping : /Lis/.test(command) ? {     // add/removeEventListener
        eventName: 'listener' + (adding ? 'Registered' : 'Removed'),
        listenerId: adding ? ++gppListenerIds : call[2],
        data: adding || call[2] > 0 && call[2] <= gppListenerIds,
        pingData: ping
      } : command == 'hasSection' ? !1 : null;
    if (call[1]) call[1](result, result !== null);
  }

  function currentChoices() {
    return choices && { ...choices };
  }

  function apply(next) {
    if (JSON.stringify(next) == JSON.stringify(choices)) return;
    choices = next;
    consentMode('update');
    gate();
    changeListeners.forEach((listener) => listener(currentChoices()));
    document.dispatchEvent(new CustomEvent('consent:change', { bubbles: true, detail: currentChoices() }));
  }

  /* Every category on (on) or off, except the locked ones. */
  function everyCategory(on) {
    const all = {};
    decision.categories.forEach((category) => {
      all[category.id] = category.locked ? category.locked == 'necessary' : !!on;
    });
    return all;
  }

  function ask(settings) {
    return fetch(api + 'banner?site=' + encodeURIComponent(site) + (settings ? '&settings=1' : '') +
                 (preview ? '&preview=' + encodeURIComponent(preview) : '') +
                 // the experiment bucket, drawn once (kept by save() with the rest):
                 // the clock's milliseconds, as even as a random draw across visitors
                 '&bucket=' + (stored.k = stored.k < 100 && stored.k >= 0 ? stored.k : new Date % 100),
                 { credentials: 'include' }).then((response) => {
      if (response.status == 403 && preview) {
        preview = null;
        return ask(settings);
      }
      if (!response.ok) throw response;
      return response.json();
    }).then((answer) => {
      consentId = answer.consent_id;
      return (decision = answer);
    });
  }

  /* Sends the queued requests one by one; 5xx and network errors are retried. */
  function sendQueued() {
    const request = stored.q?.[0];
    if (!request || sending || preview) return;
    sending = 1;
    fetch(api + request[1], {
      method: request[0], credentials: 'include', keepalive: true,
      headers: { 'Content-Type': 'application/json' }, body: request[2] && JSON.stringify(request[2])
    }).then((response) => {
      sending = 0;
      if (response.status > 499) throw response;
      stored.q.shift();
      save();
      retryDelay = 2e3;
      if (response.status == 409) return ask().then((answer) => takeDecision(answer, 1));
      if (response.ok) response.json().then((answer) => {
        const receipt = answer.receipt;
        consentId = answer.consent_id;
        stored.e = receipt.expires_ms;
        // The GPP string in force after this choice, and its fields.
        if (answer.gpp_ping) stored.G = answer.gpp_ping;
        save();
        tellGpp('s');
        try {
          localStorage.setItem(RECEIPT_KEY, JSON.stringify({
            jws: answer.jws, seq: receipt.seq, receipt_id: receipt.receipt_id, time_ms: receipt.time_ms
          }));
        } catch (e) { /* full */ }
      }, Object);
      // Refused (4xx): the string in force is the one before.
      else tellGpp('d');
      sendQueued();
    }).catch(() => {
      sending = 0;
      setTimeout(sendQueued, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 6e4);
    });
  }

  function record(action, next) {
    apply(next);
    // In a preview kept for this page view only (save() writes nothing).
    stored.c = next;
    stored.w = stored.t = now();
    if (preview) return;
    tellGpp('n');
    stored.e = stored.t + decision.consent_days * 864e5;
    // Withdrawal without a consent ID (nothing recorded yet) is a POST.
    (stored.q = stored.q || []).push(action == 'withdraw' && consentId ? ['DELETE', 'consents/me?site=' + site]
      : ['POST', 'consents', {
        site, banner_version: decision.banner_version, texts_sha256: decision.texts_sha256,
        variant: decision.variant, action, choices: next
      }]);
    stored.q = stored.q.slice(-20);
    save();
    sendQueued();
    // A category off: its declared first-party cookies and storage go.
    for (const category in next) if (!next[category]) return extra('cleanUp', next);
  }

  /* {date} in text filled with time (ms) in the banner's language. */
  function withDate(text, time) {
    return text.replace('{date}', new Intl.DateTimeFormat(decision.language, { dateStyle: 'long' }).format(time));
  }

  /* A short status line (role=status, announced): created empty first so
   * that screen readers notice the text; cleared after a while. */
  function announce(text) {
    if (!statusLine) {
      (statusLine = element('p', rootClasses('cc-n'))).setAttribute('role', 'status');
      document.body.append(statusLine);
    }
    loadCss();
    setTimeout(() => {
      statusLine.textContent = text;
      setTimeout(() => { if (statusLine.textContent == text) statusLine.textContent = ''; }, 8e3);
    }, 99);
  }

  /* message: what the choice did, said before the date it was saved. */
  function choose(action, next, message) {
    if (panelDialog) panelDialog.close();
    record(action, next);
    hideBanner();
    // In a preview: a note that nothing was recorded.
    announce(preview ? decision.preview : (message ? message + ' ' : '') + withDate(decision.texts.panel.saved, now()));
    showReopenButton();
  }

  /* "Do Not Sell or Share": sale/sharing categories off, the rest as they
   * are, recorded in one click (banner button, or any data-consent-optout). */
  function optOut(event) {
    event?.preventDefault?.();
    (decision ? Promise.resolve(decision) : ask()).then((current) => {
      const next = { ...current.choices, ...choices };
      current.categories.forEach((category) => { if (category.sale_sharing) next[category.id] = false; });
      choose('custom', next, current.texts.opted_out);
    }).catch(Object);
  }

  /* The floating button that opens the settings (data-reopen-button),
   * once a choice exists. */
  function showReopenButton() {
    if (!reopenButton && stored.c && stored.r && script.hasAttribute('data-reopen-button')) {
      reopenButton = button(stored.r, openSettings, 0, rootClasses('cc-r'));
      ready.then(() => {
        document.body.append(reopenButton);
        loadCss();
      });
    }
  }

  /* A new decision from the server. */
  function takeDecision(answer, force) {
    const before = stored.c, sale = stored.s = [];
    decision = answer;
    answer.categories.forEach((category) => { if (category.sale_sharing) sale.push(category.id); });
    stored.g = answer.gpc.received;
    stored.b = answer.jurisdiction.gpc_binding;
    stored.v = answer.banner_version;
    // For placeholders on later views, which ask the server nothing.
    stored.p = [answer.language, answer.texts.placeholder, answer.texts.categories];
    stored.r = answer.texts.panel.reopen;
    if (answer.consent_mode) {
      stored.m = answer.consent_mode;
      if (!pageConsentMode) consentModeMap = answer.consent_mode;
    }
    // The site's signals: their default goes out as soon as they are known
    // (before the update below) on the view that first learns them.
    if (!pageSignals) {
      signals = answer.signals || {};
      if (!stored.x) vendorSignals('default');
    }
    stored.x = answer.signals;
    stored.G = answer.gpp_ping;
    startGpp();
    tellGpp('d');
    stored.t = now();
    recordedByGpc = 0;
    // A choice the server has not confirmed yet wins over what it knows
    // (a preview shows its banner all the same).
    if (!force && !preview && before && stored.q?.[0]) return apply(before);
    if (force || answer.prompt || preview) {
      delete stored.c;
      showBanner(answer);
    } else {
      stored.c = answer.choices;
      stored.e = answer.stored ? answer.stored.expires_ms : stored.t + answer.consent_days * 864e5;
      if (answer.stored) stored.w = answer.stored.time_ms;
    }
    apply(answer.choices);
    save();
    showReopenButton();
    // Where GPC is binding, honouring it is recorded on the server at once.
    if (answer.gpc.binding && (!answer.stored || before && sale.some((category) => before[category]))) {
      recordedByGpc = 1;
      record('gpc', answer.choices);
    }
  }

  function loadCss() {
    return cssLoaded = cssLoaded || new Promise((resolve) => {
      const link = element('link');
      link.rel = 'stylesheet';
      link.href = new URL('consent.css', script.src).href;
      link.onload = link.onerror = resolve;
      document.head.append(link);
    });
  }

  /* Runs show(box) once the page and the CSS are there, unless box was
   * replaced meanwhile. */
  function whenReady(box, show) {
    Promise.all([ready, loadCss()]).then(() => { if (box == bannerBox || box == panelDialog) show(box); });
  }

  function showBanner(answer) {
    const texts = answer.texts, model = answer.jurisdiction.model;
    hideBanner();
    // An experiment's variant may bring its own layout (each renders both
    // answers of an opt-in banner alike).
    bannerBox = element('div', rootClasses('cc-b cc-' + (answer.layout || attr('data-layout') || 'bar-bottom')));
    bannerBox.setAttribute('role', 'dialog');
    bannerBox.setAttribute('aria-labelledby', 'cc-t');
    bannerBox.setAttribute('aria-describedby', 'cc-d');
    bannerBox.lang = answer.language;
    bannerBox.dir = answer.dir;   // "rtl" for Arabic, Hebrew, ...: the server knows the language
    bannerBox.tabIndex = -1;
    bannerBox.hidden = true;
    element('h2', 0, texts.title, bannerBox).id = 'cc-t';
    element('p', 0, texts.body, bannerBox).id = 'cc-d';
    // GPC changed the defaults offered: said so in every model.
    if (answer.gpc.received) element('p', 'cc-g', model == 'opt-out' ? texts.gpc_honoured : texts.gpc_applied, bannerBox);
    // Choices made in a region preview are applied, never sent: the
    // decision says so in preview.
    if (preview) element('p', 'cc-g', answer.preview, bannerBox);
    const actions = element('div', 'cc-a', 0, bannerBox);
    if (model == 'opt-in') {
      button(texts.accept_all, () => choose('accept_all', everyCategory(1)), actions);
      button(texts.reject_all, () => choose('reject_all', everyCategory(0)), actions);
      button(texts.settings, openSettings, actions, 'cc-l');
    } else {
      button(texts.ok, () => recordedByGpc ? hideBanner() : choose('custom', currentChoices()), actions);
      // Opt-out: one-click Do Not Sell, and the settings (panel.reopen's
      // "Cookie settings") for everything else.
      if (model == 'opt-out') button(texts.do_not_sell, optOut, actions, 'cc-l');
      settingsLink(model == 'opt-out' ? texts.panel.reopen : texts.settings, actions);
    }
    if (texts.policy && answer.policy_url) element('a', 'cc-l', texts.policy, actions).href = answer.policy_url;
    whenReady(bannerBox, (box) => {
      document.body.prepend(box);
      box.hidden = false;
      tellGpp('v');
      // Focus moves into the banner unless the visitor is already busy elsewhere.
      if (document.activeElement == document.body || !document.activeElement) box.focus();
    });
  }

  function hideBanner() {
    if (bannerBox) bannerBox.remove();
    bannerBox = 0;
    tellGpp('v');
  }

  /* Opens the settings panel, asking the server first when needed. */
  function openSettings(event) {
    event?.preventDefault?.();
    (decision ? Promise.resolve(decision) : ask(1)).then(showPanel).catch(Object);
  }

  function showPanel(answer) {
    const texts = answer.texts, panelTexts = texts.panel, switches = {}, focusedBefore = document.activeElement;
    if (panelDialog) panelDialog.remove();
    panelDialog = element('dialog', rootClasses('cc-p'));
    panelDialog.setAttribute('aria-labelledby', 'cc-pt');
    panelDialog.lang = answer.language;
    panelDialog.dir = answer.dir;
    const header = element('div', 'cc-h', 0, panelDialog);
    element('h2', 0, panelTexts.title, header).id = 'cc-pt';
    button(panelTexts.close, () => panelDialog.close(), header, 'cc-l');
    // The choice in force and when it was made, when one is stored.
    if (stored.c && stored.w) element('p', 0, withDate(panelTexts.current, stored.w), panelDialog);
    const list = element('ul', 0, 0, panelDialog);
    answer.categories.forEach((category, index) => {
      const item = element('li', 0, 0, list), label = element('label', 0, 0, item),
        categoryTexts = texts.categories[category.id] || {},
        toggle = switches[category.id] = element('input', 0, 0, label);
      let describedBy = 'cc-p' + index;
      toggle.type = 'checkbox';
      toggle.setAttribute('role', 'switch');
      toggle.checked = category.locked ? category.locked == 'necessary' : !!(choices || answer.choices)[category.id];
      toggle.disabled = !!category.locked;
      element('span', 0, categoryTexts.name || category.id, label);
      element('p', 0, categoryTexts.purpose, item).id = describedBy;
      if (category.locked) {
        element('p', 'cc-k', category.locked == 'gpc' ? panelTexts.gpc_locked : panelTexts.always_on, item)
          .id = describedBy + 'k';
        describedBy += ' ' + describedBy + 'k';
      }
      toggle.setAttribute('aria-describedby', describedBy);
    });
    // The consent ID exists once a choice was recorded: none before.
    if (consentId) {
      const line = element('p', 'cc-i', panelTexts.consent_id, panelDialog),
        code = element('code', 0, consentId, line);
      button(panelTexts.copy, (event) => {
        getSelection().selectAllChildren(code);   // without a clipboard: ready for Ctrl+C
        try {
          navigator.clipboard.writeText(code.textContent)
            .then(() => { event.target.textContent = panelTexts.copy + ' \u2713'; }, Object);
        } catch (e) { /* no clipboard API */ }
      }, line, 'cc-btn cc-s');
    }
    // Withdrawal only when a stored choice allows an optional category.
    if (stored.c && answer.categories.some((category) => !category.locked && stored.c[category.id]))
      button(panelTexts.withdraw, () => choose('withdraw', everyCategory(0)), panelDialog, 'cc-l cc-w');
    const footer = element('div', 'cc-a cc-f', 0, panelDialog);
    button(panelTexts.accept_all, () => choose('accept_all', everyCategory(1)), footer);
    button(panelTexts.reject_all, () => choose('reject_all', everyCategory(0)), footer);
    button(panelTexts.save, () => {
      const next = {};
      for (const id in switches) next[id] = switches[id].checked;
      choose('custom', next);
    }, footer);
    panelDialog.onclose = function () {
      this.remove();
      if (panelDialog == this) panelDialog = 0;
      tellGpp('v');
      if (focusedBefore?.isConnected) focusedBefore.focus();
    };
    whenReady(panelDialog, (dialog) => {
      document.body.append(dialog);
      dialog.showModal();
      tellGpp('v');
      extra('panel', dialog, answer);
    });
  }

  window.consent = {
    get: currentChoices,
    open: openSettings,
    // The newest receipt this browser was given: {jws, seq, receipt_id, time_ms}.
    receipt() {
      try { return JSON.parse(localStorage.getItem(RECEIPT_KEY)); } catch (e) { return null; }
    },
    onChange(listener) {
      changeListeners.push(listener);
      if (choices) listener(currentChoices());
    }
  };

  consentMode('default');
  document.addEventListener('click', (event) => {
    const target = event.target;
    if (!target.closest) return;
    if (target.closest('[data-consent-settings]')) openSettings(event);
    if (target.closest('[data-consent-optout]')) optOut(event);
  });
  window.addEventListener('online', sendQueued);
  ready.then(() => {
    gate();
    if (document.querySelector('[data-consent-declaration]')) extra('declaration');
  });

  if (stored.c && stored.e > now() && !preview) {
    // A valid stored choice: applied exactly as recorded, no request. Only
    // where GPC is binding does it turn sale and sharing off (at once; the
    // server records that); the server is asked when GPC is new.
    const kept = { ...stored.c };
    if (gpc && stored.b) (stored.s || []).forEach((category) => { kept[category] = false; });
    apply(kept);
    showReopenButton();
    // Stored before GPP strings were: asked for them.
    if (stored.G) startGpp();
    if (gpc && !stored.g || !stored.G || now() - stored.t > refreshMs) ask().then(takeDecision).catch(Object);
  } else {
    loadCss();
    ask().then(takeDecision).catch(Object);
  }
  sendQueued();
})(window, document, navigator);
