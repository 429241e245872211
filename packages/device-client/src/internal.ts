/*
 * Building blocks for sibling packages and tests, not covered by semver: `@aip/device-client/internal`.
 * The package root holds the public API (the endpoint, its options, events and errors, the tool registry and
 * the executor contract).
 */
export { reasonText } from './tools.js'
export {
  collectSystemInfo, collectLiveReadings, referencePlatform, detectFeatures, platformType, primaryIpv4, type SystemInfoInput,
  type OsSource, type LiveReadings
} from './telemetry.js'
export { connectionError, type ConnectionErrorDetails } from './errors.js'
