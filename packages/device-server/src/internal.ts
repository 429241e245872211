/*
 * Building blocks for sibling packages and tests, not covered by semver: `@aip/device-server/internal`.
 */
export { resolveOptions } from './options.js'
export { authenticate, safeEqual, TRUSTED } from './auth.js'
export { Texts, MAX_ECHO_CHARS, MAX_ID_CHARS, clip, echoId } from './texts.js'
export { requestTooLarge } from './server-error.js'
export { closeSchedule } from './drain-close.js'
export { setTaskMeter, type TaskMeter } from './core.js'
