// The live fleet page: one server-sent event stream of snapshots, rendered with textContent only (no markup from
// the server ever reaches innerHTML). Times are relative to the server's clock, so a skewed browser clock is harmless.
/* global Node, EventSource */
'use strict'
;(function () {
  const base = document.currentScript.dataset.base
  let last = null
  let skew = 0

  function el (tag, text, className) {
    const node = document.createElement(tag)
    if (text !== undefined && text !== null) node.textContent = String(text)
    if (className) node.className = className
    return node
  }

  function row (cells, attrs) {
    const tr = document.createElement('tr')
    for (const cell of cells) tr.appendChild(cell instanceof Node ? cell : el('td', cell))
    for (const [name, value] of Object.entries(attrs || {})) tr.setAttribute(name, value)
    return tr
  }

  function since (ms) {
    const s = Math.max(0, Math.round(ms / 1000))
    if (s < 60) return s + ' s'
    if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s'
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min'
  }

  function clock (at) {
    return new Date(at).toLocaleTimeString()
  }

  function fill (id, rows) {
    const table = document.getElementById(id)
    table.tBodies[0].replaceChildren(...rows)
    document.getElementById('no-' + id).hidden = rows.length > 0
  }

  function render () {
    if (last === null) return
    const now = Date.now() + skew
    const snap = last
    document.getElementById('n-devices').textContent = snap.devices.length
    document.getElementById('n-busy').textContent = snap.devices.filter((d) => d.state === 'busy').length
    document.getElementById('n-sessions').textContent = snap.server.sessions
    document.getElementById('n-pending').textContent = snap.server.pendingDispatches
    document.getElementById('n-connections').textContent = snap.server.connections
    document.getElementById('draining').hidden = !snap.server.draining

    fill('devices', snap.devices.map((d) => {
      const telemetry = el('td', null, 'telemetry')
      for (const [key, value] of Object.entries(d.telemetry)) telemetry.appendChild(el('span', key.replace(/_/g, ' ') + ': ' + value))
      return row([
        el('td', d.id, 'mono'),
        d.platform ?? '-',
        el('td', d.state, 'state state-' + d.state),
        clock(d.connectedSince) + ' (' + since(now - d.connectedSince) + ')',
        d.lastSeenAt === null ? '-' : since(now - d.lastSeenAt) + ' ago',
        d.runningTasks,
        d.queuedTasks,
        telemetry
      ], { 'data-device': d.id, 'data-state': d.state })
    }))
    fill('sessions', snap.sessions.map((s) => row([
      el('td', s.taskName, 'mono'), el('td', s.sessionId, 'mono'), el('td', s.deviceId, 'mono'), el('td', s.requesterId, 'mono'),
      since(now - s.startedAt), s.steps
    ], { 'data-session': s.sessionId })))
    fill('tasks', snap.recentTasks.map((t) => row([
      el('td', t.taskName, 'mono'), el('td', t.deviceId, 'mono'), el('td', t.status, 'outcome-' + t.status),
      since(t.endedAt - t.startedAt), clock(t.endedAt), t.error ?? ''
    ], { 'data-task': t.sessionId, 'data-outcome': t.status })))
    fill('errors', snap.errors.map((e) => row([clock(e.at), e.kind, el('td', e.detail, 'mono detail')], { 'data-error': e.kind })))
  }

  function setLink (state) {
    const link = document.getElementById('link')
    link.dataset.state = state
    link.textContent = state
  }

  function connect () {
    const source = new EventSource(base + '/events')
    source.addEventListener('open', () => setLink('live'))
    source.addEventListener('snapshot', (event) => {
      last = JSON.parse(event.data)
      skew = last.now - Date.now()
      render()
    })
    source.addEventListener('error', async () => {
      setLink('offline')
      if (source.readyState !== EventSource.CLOSED) return
      // The stream was refused: the session may have ended (a restart draws a new secret).
      const probe = await fetch(base + '/state', { credentials: 'same-origin' }).catch(() => null)
      if (probe !== null && probe.status === 401) window.location.replace(base === '' ? '/' : base)
      else setTimeout(connect, 2000)
    })
  }

  document.addEventListener('DOMContentLoaded', () => {
    document.getElementById('logout').addEventListener('submit', async (event) => {
      event.preventDefault()
      await fetch(base + '/logout', { method: 'POST', credentials: 'same-origin' })
      window.location.replace(base === '' ? '/' : base)
    })
    connect()
    setInterval(render, 1000)
  })
})()
