import { configWithoutCloudSupport } from '@n8n/node-cli/eslint';

/**
 * n8n's own lint config for community packages (@n8n/node-cli, with eslint-plugin-n8n-nodes-base's
 * rules), in its self-hosted variant, as `n8n-node cloud-support disable` writes it: the ledger and
 * the Matrix sync need Node built-ins, timers and runtime dependencies that n8n Cloud does not allow.
 * The one addition: package.json cannot carry an inline exception, so its one rule is switched off
 * here (CONTRIBUTING.md → "Lint and scanner exceptions"; `npm run scan` still checks the list).
 */
export default [
	...configWithoutCloudSupport,
	{ files: ['package.json'], rules: { '@n8n/community-nodes/no-runtime-dependencies': 'off' } },
];
