/*
 * consent-gpp.js - the IAB Global Privacy Platform page API, __gpp (IAB
 * Tech Lab, "CMP API Specification", version 1.1), where a GPP section
 * applies. consent.js defines __gpp from its first line (calls wait, in
 * order) and loads this module only when the decision carries a section
 * (startGpp()); it then answers the calls that waited and every later one.
 * Where no section applies consent.js answers alone (answerWithoutGpp()).
 *
 * What it answers comes from the server: the decision's and each receipt
 * answer's gpp_ping (the GPP string, the section IDs, the CMP ID, and the
 * sections decoded by gpp/ as the IAB's reference library @iabgpp/cmpapi
 * decodes them), kept by consent.js in stored.G. This module decodes nothing;
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
 * consent.js calls the factory window.consent.gpp_(stored) once and the
 * answerer's update_(event) after; names ending in "_" are shortened by the
 * build alike in both files (build.mjs). This is the readable source;
 * static/consent-gpp.js is this file minified by `make assets`.
 */
(function (window, document) {
  'use strict';
  window.consent.gpp_ = function (stored) {
    const listeners = {},     // by listener ID
      has = (object, key) => Object.prototype.hasOwnProperty.call(object, key),
      copy = (value) => JSON.parse(JSON.stringify(value));
    let lastListenerId = 0,
      waiting = !!stored.q?.length,   // a choice not yet answered by the server
      signalStatus = waiting ? 'not ready' : 'ready',
      displayStatus = displayed(),
      lastString = stored.G.gppString;

    function displayed() {
      return document.querySelector('.cc-b:not([hidden]),dialog.cc-p[open]') ? 'visible' : 'hidden';
    }

    /* PingReturn: the server's part (a copy: callers cannot change ours)
     * and the page's. */
    function ping() {
      return { cmpStatus: 'loaded', cmpDisplayStatus: displayStatus, signalStatus, ...copy(stored.G) };
    }

    /* Calls every listener (or only listener onlyId) with an EventListener object. */
    function fire(eventName, data, onlyId) {
      for (const id in listeners)
        if (!onlyId || onlyId == id) listeners[id]({ eventName, listenerId: +id, data, pingData: ping() }, true);
    }

    function setSignal(status) {
      if (signalStatus != status) fire('signalStatus', signalStatus = status);
    }

    /* __gpp(command, callback, parameter, version): call = its arguments.
     * The callback gets (data, success); success is false for an unknown
     * command and for a section or field this page does not have (data
     * null), as in the reference library. */
    function answer(call) {
      const command = call[0], callback = call[1], parameter = call[2], sections = stored.G.parsedSections;
      let result = null;
      if (typeof callback != 'function') return;
      if (command == 'ping') result = ping();
      else if (command == 'addEventListener') {
        listeners[++lastListenerId] = callback;
        result = { eventName: 'listenerRegistered', listenerId: lastListenerId, data: true, pingData: ping() };
      } else if (command == 'removeEventListener') {
        result = { eventName: 'listenerRemoved', listenerId: parameter, data: has(listeners, parameter), pingData: ping() };
        delete listeners[parameter];
      } else if (command == 'hasSection') result = has(sections, parameter);
      else if (command == 'getSection') result = has(sections, parameter) ? copy(sections[parameter]) : null;
      else if (command == 'getField') {
        const path = String(parameter).split('.');
        result = path.length == 2 && has(sections, path[0]) && has(sections[path[0]], path[1])
          ? copy(sections[path[0]][path[1]]) : null;
      }
      callback(result, result !== null);
      if (command == 'addEventListener' && signalStatus == 'ready') fire('signalStatus', signalStatus, lastListenerId);
    }

    /* From consent.js: 'v' the banner or the panel was shown or hidden,
     * 'n' a choice is being recorded, 's' the server's answer to a choice
     * (stored.G holds the string in force after it: sectionChange, even
     * when the choice changed no field), 'd' a decision or a refused choice
     * (sectionChange only if the string changed). Signals are ready again
     * once no choice waits for the server. */
    answer.update_ = (event) => {
      let now;
      if (event == 'v' && (now = displayed()) != displayStatus) fire('cmpDisplayStatus', displayStatus = now);
      if (event == 'n') {
        waiting = 1;
        setSignal('not ready');
      }
      if (event == 's' || event == 'd') {
        if (event == 's' || stored.G.gppString != lastString)
          Object.keys(stored.G.parsedSections).forEach((section) => fire('sectionChange', section));
        lastString = stored.G.gppString;
        waiting = !!stored.q?.length;
        if (!waiting) setSignal('ready');
      }
    };

    /* Calls from iframes (IAB CMP API, "Using postMessage"): a frame
     * named __gppLocator marks this window; a message {__gppCall: {command,
     * parameter, version, callId}} (an object, or the same as a JSON
     * string) is answered to its sender, in kind, with {__gppReturn:
     * {returnValue, success, callId}}, once per callback call (listeners:
     * every event). */
    window.addEventListener('message', (event) => {
      const asString = typeof event.data == 'string';
      let message;
      try { message = asString ? JSON.parse(event.data) : event.data; } catch (e) { return; }
      const call = message?.__gppCall;
      if (!call || typeof call != 'object' || !event.source) return;
      answer([call.command, (returnValue, success) => {
        const reply = { __gppReturn: { returnValue, success, callId: call.callId } };
        event.source.postMessage(asString ? JSON.stringify(reply) : reply, '*');
      }, call.parameter, call.version]);
    });
    if (!window.frames.__gppLocator) {
      const locator = document.createElement('iframe');
      locator.name = '__gppLocator';
      locator.hidden = true;
      (document.body || document.documentElement).append(locator);
    }
    return answer;
  };
})(window, document);
