/**
 * The reliability suite (issue 7): the templates in real n8n processes under duplicates, faults,
 * crashes, queue mode and garbage input; exactly-once invites counted at the fake homeserver.
 * Serial, because every test file starts its own n8n (and queue mode three) on a small machine.
 * No global setup: the harness packs and installs the built package itself (`npm run build` first).
 */
const base = require('./jest.config');

module.exports = {
	...base,
	globalSetup: undefined,
	testMatch: ['**/*.reliability.test.ts'],
	testPathIgnorePatterns: ['/node_modules/'],
	testTimeout: 600000,
	maxWorkers: 1,
};
