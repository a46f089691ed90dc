/* An example advertising tag: runs only once "advertising" is allowed. */
(window.demoRan = window.demoRan || []).push('advertising');
(function (s) {
  if (!s) return;
  s.textContent = 'ran at ' + new Date().toLocaleTimeString();
  s.className = 'on';
})(document.getElementById('advertising-status'));
