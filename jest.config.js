/**
 * One jest run for unit, fake-server and engine tests (`test/**\/*.test.ts`).
 * The e2e suite against a real n8n has its own config (jest.e2e.config.js): it is slow and serial.
 * Type checking is `npm run typecheck`; ts-jest only transpiles, so test start-up stays fast.
 */
// n8n-core's own logger (winston) would print every node error the tests provoke on purpose.
process.env.N8N_LOG_LEVEL = process.env.N8N_LOG_LEVEL || 'silent';

module.exports = {
	testEnvironment: 'node',
	roots: ['<rootDir>/test'],
	testMatch: ['**/*.test.ts'],
	testPathIgnorePatterns: ['/node_modules/', '\\.e2e\\.test\\.ts$', '\\.reliability\\.test\\.ts$'],
	transform: {
		'^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.test.json', diagnostics: false }],
	},
	globalSetup: '<rootDir>/test/harness/global-setup.ts',
	testTimeout: 30000,
	maxWorkers: 2,
};
