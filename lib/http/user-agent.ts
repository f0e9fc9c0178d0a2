import { name, version } from '../../package.json';

/**
 * Sent with every request to the homeserver, so its operators can tell this package's traffic
 * (and its version) apart from other clients in their logs and rate-limit dashboards. The build
 * emits package.json beside lib/ (tsconfig `include`), so the relative path holds in dist/ too.
 */
export const USER_AGENT = `${name}/${version}`;
