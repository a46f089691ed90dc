/* An example advertising tag: runs only once "advertising" is allowed. It
 * sets what the demo site declares first-party for "advertising"
 * (cgi/consentd.example.json). */
(window.demoRan = window.demoRan || []).push('advertising');
(function (s) {
  document.cookie = '_demo_ad=1; Max-Age=' + 90 * 86400 + '; Path=/; SameSite=Lax';
  try { localStorage.setItem('demo_ad_interests', '["phones"]'); } catch (e) { /* full */ }
  if (!s) return;
  s.textContent = 'ran at ' + new Date().toLocaleTimeString();
  s.className = 'on';
})(document.getElementById('advertising-status'));
