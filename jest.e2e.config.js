/**
 * The e2e suite: real n8n 2.x processes (test/harness/n8n.ts) with the packed package installed.
 * Serial, because every test file starts its own n8n and the machine has two cores.
 */
const base = require('./jest.config');

module.exports = {
	...base,
	testMatch: ['**/*.e2e.test.ts'],
	testPathIgnorePatterns: ['/node_modules/'],
	testTimeout: 300000,
	maxWorkers: 1,
};
