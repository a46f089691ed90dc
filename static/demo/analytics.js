/* An example analytics tag: runs only once "analytics" is allowed. */
(window.demoRan = window.demoRan || []).push('analytics');
(function (s) {
  if (!s) return;
  s.textContent = 'ran at ' + new Date().toLocaleTimeString();
  s.className = 'on';
})(document.getElementById('analytics-status'));
