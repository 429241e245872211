/*
 * Building blocks for sibling packages and tests, not covered by semver: `@aip/constellation/internal`.
 * The package root holds the public API (the endpoint, its options, types, events and errors, and
 * `normalizeDeviceInfo`).
 */
export { connectError } from './errors.js'
