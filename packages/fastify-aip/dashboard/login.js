// The login form: posts the API key once; the server answers with a session cookie and the page reloads.
'use strict'
;(function () {
  const base = document.currentScript.dataset.base
  document.addEventListener('DOMContentLoaded', function () {
    const form = document.getElementById('login')
    const error = document.getElementById('login-error')
    form.addEventListener('submit', async function (event) {
      event.preventDefault()
      error.hidden = true
      const key = document.getElementById('key').value
      const response = await fetch(base + '/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ key }),
        credentials: 'same-origin'
      })
      if (response.ok) {
        window.location.replace(base === '' ? '/' : base)
        return
      }
      // 429: this address failed too often; any key, the right one too, is refused until the window ends.
      const wait = response.headers.get('retry-after')
      error.textContent = response.status === 429
        ? 'Too many failed attempts from this address: try again in ' + (wait === null ? 'a minute' : wait + ' s') + '.'
        : 'That key is not accepted.'
      error.hidden = false
    })
  })
})()
