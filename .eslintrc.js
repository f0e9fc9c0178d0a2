/**
 * n8n's lint rules for community packages (eslint-plugin-n8n-nodes-base), applied the way
 * n8n-nodes-starter applies them: package.json, credentials and nodes each get their rule set.
 * Shared code under lib/ gets TypeScript parsing and eslint's recommended rules.
 * @type {import('@types/eslint').ESLint.ConfigData}
 */
module.exports = {
	root: true,
	env: { browser: false, es2022: true, node: true },
	parser: '@typescript-eslint/parser',
	parserOptions: {
		project: ['./tsconfig.json'],
		sourceType: 'module',
		extraFileExtensions: ['.json'],
	},
	ignorePatterns: ['.eslintrc.js', '**/*.js', '**/node_modules/**', '**/dist/**', 'test/**', 'scripts/**'],
	overrides: [
		{
			files: ['package.json'],
			plugins: ['eslint-plugin-n8n-nodes-base'],
			extends: ['plugin:n8n-nodes-base/community'],
			rules: {
				'n8n-nodes-base/community-package-json-name-still-default': 'error',
			},
		},
		{
			files: ['./credentials/**/*.ts'],
			plugins: ['eslint-plugin-n8n-nodes-base'],
			extends: ['plugin:n8n-nodes-base/credentials'],
			rules: {
				// Off in n8n's node-cli too: the rule expects n8n's internal doc slugs, not full URLs.
				'n8n-nodes-base/cred-class-field-documentation-url-miscased': 'off',
			},
		},
		{
			files: ['./nodes/**/*.ts'],
			plugins: ['eslint-plugin-n8n-nodes-base'],
			extends: ['plugin:n8n-nodes-base/nodes'],
			rules: {
				// As in n8n's own node-cli config: these two predate NodeConnectionTypes and reject it.
				'n8n-nodes-base/node-class-description-inputs-wrong-regular-node': 'off',
				'n8n-nodes-base/node-class-description-outputs-wrong': 'off',
			},
		},
		{
			files: ['./lib/**/*.ts'],
			extends: ['eslint:recommended'],
			rules: {
				'no-unused-vars': 'off',
				'no-undef': 'off',
				'no-console': 'error',
			},
		},
	],
};
