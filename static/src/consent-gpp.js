/*
 * consent-gpp.js - the IAB Global Privacy Platform page API, __gpp (IAB
 * Tech Lab, "CMP API Specification", version 1.1), where a GPP section
 * applies. consent.js defines __gpp from its first line (calls wait, in
 * order) and loads this module only when the decision carries a section
 * (gstart()); it then answers the calls that waited and every later one.
 * Where no section applies consent.js answers alone (gnone()).
 *
 * What it answers comes from the server: the decision's and each receipt
 * answer's gpp_ping (the GPP string, the section IDs, the CMP ID, and the
 * sections decoded by gpp/ as the IAB's reference library @iabgpp/cmpapi
 * decodes them), kept by consent.js in st.G. This module decodes nothing;
 * it adds what only the page knows: cmpDisplayStatus (the banner or the
 * settings panel on screen), signalStatus ("not ready" from a choice until
 * the server's answer with the new string), and the listeners.
 *
 * Events, in the order the specification asks: signalStatus "not ready"
 * when a choice is being recorded, cmpDisplayStatus "hidden" as the banner
 * goes, sectionChange (the section's API prefix) when the server's answer
 * brings the string in force after the choice, then signalStatus "ready"
 * (also after a refused choice, without sectionChange: the string in force
 * is the one before). A listener
 * added while signals are ready gets signalStatus "ready" right after
 * listenerRegistered, so a vendor that waits for that event (the
 * specification's own example) does not wait for ever.
 *
 * Frames call it with postMessage through the __gppLocator frame, once
 * this module has loaded.
 *
 * This is the readable source; static/consent-gpp.js is this file minified
 * (node tests/browser/minify.js).
 */
(function (w, d) {
  'use strict';
  w.consent.g = function (st) {
    var L = {},     // listeners by ID
      n = 0,        // the last listener ID given
      busy = !!(st.q && st.q.length),   // a choice not yet answered by the server
      S = busy ? 'not ready' : 'ready',
      V = shown(),
      last = st.G.gppString,
      own = function (o, k) { return Object.prototype.hasOwnProperty.call(o, k); },
      copy = function (x) { return JSON.parse(JSON.stringify(x)); };

    function shown() {
      return d.querySelector('.cc-b:not([hidden]),dialog.cc-p[open]') ? 'visible' : 'hidden';
    }

    /* PingReturn: the server's part (a copy: callers cannot change ours)
     * and the page's. */
    function ping() {
      return Object.assign({ cmpStatus: 'loaded', cmpDisplayStatus: V, signalStatus: S }, copy(st.G));
    }

    /* Calls every listener (or only listener id) with an EventListener object. */
    function fire(e, data, id) {
      for (var k in L)
        if (!id || id == k) L[k]({ eventName: e, listenerId: +k, data: data, pingData: ping() }, true);
    }

    function signal(s) {
      if (S != s) fire('signalStatus', S = s);
    }

    /* __gpp(command, callback, parameter, version): a = its arguments. The
     * callback gets (data, success); success is false for an unknown
     * command and for a section or field this page does not have (data
     * null), as in the reference library. */
    function api(a) {
      var c = a[0], f = a[1], p = a[2], G = st.G.parsedSections, r = null, k;
      if (typeof f != 'function') return;
      if (c == 'ping') r = ping();
      else if (c == 'addEventListener') {
        L[++n] = f;
        r = { eventName: 'listenerRegistered', listenerId: n, data: true, pingData: ping() };
      } else if (c == 'removeEventListener') {
        r = { eventName: 'listenerRemoved', listenerId: p, data: own(L, p), pingData: ping() };
        delete L[p];
      } else if (c == 'hasSection') r = own(G, p);
      else if (c == 'getSection') r = own(G, p) ? copy(G[p]) : null;
      else if (c == 'getField') {
        k = String(p).split('.');
        r = k.length == 2 && own(G, k[0]) && own(G[k[0]], k[1]) ? copy(G[k[0]][k[1]]) : null;
      }
      f(r, r !== null);
      if (c == 'addEventListener' && S == 'ready') fire('signalStatus', S, n);
    }

    /* From consent.js: 'v' the banner or the panel was shown or hidden,
     * 'n' a choice is being recorded, 's' the server's answer to a choice
     * (st.G holds the string in force after it: sectionChange, even when
     * the choice changed no field), 'd' a decision or a refused choice
     * (sectionChange only if the string changed). Signals are ready again
     * once no choice waits for the server. */
    api.u = function (k) {
      var v;
      if (k == 'v' && (v = shown()) != V) fire('cmpDisplayStatus', V = v);
      if (k == 'n') {
        busy = 1;
        signal('not ready');
      }
      if (k == 's' || k == 'd') {
        if (k == 's' || st.G.gppString != last)
          Object.keys(st.G.parsedSections).forEach(function (s) { fire('sectionChange', s); });
        last = st.G.gppString;
        busy = !!(st.q && st.q.length);
        if (!busy) signal('ready');
      }
    };

    /* Calls from iframes (IAB CMP API, "Using postMessage"): a frame
     * named __gppLocator marks this window; a message {__gppCall: {command,
     * parameter, version, callId}} (an object, or the same as a JSON
     * string) is answered to its sender, in kind, with {__gppReturn:
     * {returnValue, success, callId}}, once per callback call (listeners:
     * every event). */
    w.addEventListener('message', function (e) {
      var m = e.data, j = typeof m == 'string', c;
      try { m = j ? JSON.parse(m) : m; } catch (_) { return; }
      c = m && m.__gppCall;
      if (!c || typeof c != 'object' || !e.source) return;
      api([c.command, function (r, ok) {
        var o = { __gppReturn: { returnValue: r, success: ok, callId: c.callId } };
        e.source.postMessage(j ? JSON.stringify(o) : o, '*');
      }, c.parameter, c.version]);
    });
    if (!w.frames.__gppLocator) {
      var f = d.createElement('iframe');
      f.name = '__gppLocator';
      f.hidden = true;
      (d.body || d.documentElement).append(f);
    }
    return api;
  };
})(window, document);
