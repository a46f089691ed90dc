/* An example analytics tag: runs only once "analytics" is allowed. It sets
 * what the demo site declares for "analytics" (cgi/consentd.example.json),
 * so that refusing analytics later shows the script deleting it. */
(window.demoRan = window.demoRan || []).push('analytics');
(function (s) {
  if (!/(^|; )_demo_a=/.test(document.cookie))
    document.cookie = '_demo_a=' + Math.random().toString(36).slice(2) + '; Max-Age=' + 390 * 86400 + '; Path=/; SameSite=Lax';
  document.cookie = '_demo_s_' + Date.now() + '=1; Path=/; SameSite=Lax';
  try { localStorage.setItem('demo_analytics_queue', '[]'); } catch (e) { /* full */ }
  if (!s) return;
  s.textContent = 'ran at ' + new Date().toLocaleTimeString();
  s.className = 'on';
})(document.getElementById('analytics-status'));
