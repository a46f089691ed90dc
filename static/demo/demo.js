/* demo.js - shows what consent.js decided (no part of the banner). */
(function () {
  function show(choices) {
    var ul = document.getElementById('choices');
    if (!ul || !choices) return;
    ul.textContent = '';
    Object.keys(choices).forEach(function (k) {
      var li = document.createElement('li');
      li.textContent = k + ': ' + (choices[k] ? 'allowed' : 'blocked');
      li.className = choices[k] ? 'on' : 'off';
      ul.append(li);
    });
    var dl = window.dataLayer || [], last = null;
    for (var i = 0; i < dl.length; i++)
      if (dl[i] && dl[i][0] === 'consent') last = dl[i];
    if (last)
      document.getElementById('consent-mode').textContent =
        "gtag('consent', '" + last[1] + "', " + JSON.stringify(last[2], null, 1) + ')';
  }
  function hook() {
    if (window.consent) window.consent.onChange(show);
    else setTimeout(hook, 50);
  }
  hook();
})();
