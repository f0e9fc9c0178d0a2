#!/usr/bin/env node
/**
 * `npm run scan`: the rules of n8n's community-package scanner (@n8n/scan-community-package, the
 * check behind "verified" community nodes), run offline on this tree. The scanner itself downloads
 * a published version from npm and its source from GitHub; here the same two legs run locally with
 * its own ESLint config (`buildScanConfig`) and its options (inline `eslint-disable` comments are
 * ignored, as the scanner ignores them):
 *   1. the source: package.json, nodes/ and credentials/ (the scanner's SOURCE_FILE_PATTERNS);
 *   2. the tarball: `npm pack` of the current build, its compiled .js files and package.json.
 * Every error must be one of the design's exceptions below (each one also listed with its reason in
 * CONTRIBUTING.md → "Lint and scanner exceptions"), and every exception must still be needed.
 * Exit code 1 on any other error or on a stale exception. Needs a build (`npm run build`).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const scannerFile = path.join(root, 'node_modules/@n8n/scan-community-package/scanner/scanner.mjs');
const { buildScanConfig, SOURCE_FILE_PATTERNS } = await import(scannerFile);
// The scanner's own ESLint and glob, so the rules run exactly as the scanner runs them.
const scannerRequire = createRequire(scannerFile);
const { ESLint } = scannerRequire('eslint');
const glob = scannerRequire('fast-glob');
// The scanner makes a temporary folder when it is loaded; have it removed when this process exits.
scannerRequire('tmp').setGracefulCleanup();

/** The runtime dependencies the design needs (the ledger's database drivers, the Matrix sync). */
const ALLOWED_DEPENDENCIES = ['fake-indexeddb', 'ioredis', 'matrix-js-sdk', 'pg'];
const IMPORTS = '@n8n/community-nodes/no-restricted-imports';
const GLOBALS = '@n8n/community-nodes/no-restricted-globals';
const TIMERS = /global '(setTimeout|clearTimeout)'/;

const EXCEPTIONS = [
	{
		rule: '@n8n/community-nodes/no-runtime-dependencies',
		files: ['package.json'],
		holds: (pkg) => Object.keys(pkg.dependencies ?? {}).every((name) => ALLOWED_DEPENDENCIES.includes(name)),
		reason: `runtime dependencies ${ALLOWED_DEPENDENCIES.join(', ')}: PostgreSQL and Redis ledgers, Matrix sync, the IndexedDB of the Matrix crypto store`,
	},
	{
		rule: IMPORTS,
		files: ['dist/lib/matrix/listener.js'],
		message: /'matrix-js-sdk(\/lib\/logger\.js)?'/,
		reason: 'Matrix Command Trigger listens through matrix-js-sdk (sync, reconnects)',
	},
	{
		rule: IMPORTS,
		files: ['dist/lib/matrix/crypto-store.js'],
		message: /'(fake-indexeddb|node:(fs|path|v8))'/,
		reason: "encrypted rooms: the bot device's crypto store, an IndexedDB (fake-indexeddb) saved to a file in the n8n user folder",
	},
	{
		rule: GLOBALS,
		files: ['dist/lib/matrix/crypto-store.js'],
		message: /global 'globalThis'/,
		reason: "encrypted rooms: the Rust crypto's wasm finds IndexedDB as a global (indexedDB, IDBKeyRange), which Node lacks",
	},
	{ rule: IMPORTS, files: ['dist/lib/store/postgres.js'], message: /'pg'/, reason: 'PostgreSQL ledger' },
	{ rule: IMPORTS, files: ['dist/lib/store/redis.js'], message: /'ioredis'/, reason: 'Redis ledger' },
	{
		rule: IMPORTS,
		files: ['dist/lib/store/sqlite.js'],
		message: /'node:(sqlite|fs|path)'/,
		reason: 'embedded ledger: a SQLite file (node:sqlite) in the n8n user folder',
	},
	{
		rule: IMPORTS,
		files: ['dist/lib/store/config.js'],
		message: /'node:(fs|os|path)'/,
		reason: 'embedded ledger: finds the n8n user folder and checks the file path',
	},
	{
		rule: GLOBALS,
		files: ['dist/lib/store/config.js'],
		message: /global 'process'/,
		reason: "embedded ledger: where n8n keeps files comes from n8n's environment (N8N_USER_FOLDER, N8N_RESTRICT_FILE_ACCESS_TO)",
	},
	{
		rule: GLOBALS,
		files: ['dist/lib/http/retry.js', 'dist/lib/matrix/crypto.js', 'dist/lib/matrix/listener.js', 'dist/lib/store/config.js'],
		message: TIMERS,
		reason: 'timers: abortable back-off (n8n-workflow 2.40 has no sleepWithAbort), sync time-outs, idle ledger connections',
	},
];

async function lintLeg(label, cwd, patterns) {
	const eslint = new ESLint({
		cwd,
		allowInlineConfig: false,
		overrideConfigFile: true,
		overrideConfig: await buildScanConfig(),
	});
	const files = glob.sync(patterns, {
		cwd,
		absolute: true,
		ignore: ['node_modules/**', '**/package-lock.json'],
	});
	const results = await eslint.lintFiles(files);
	const messages = results.flatMap((result) =>
		result.messages.map((message) => ({ ...message, file: path.relative(cwd, result.filePath), cwd })),
	);
	return { label, files: files.length, messages };
}

function exceptionFor(message) {
	return EXCEPTIONS.find((exception) => {
		if (exception.rule !== message.ruleId || !exception.files.includes(message.file)) return false;
		if (exception.message && !exception.message.test(message.message)) return false;
		if (exception.holds) {
			const pkg = JSON.parse(readFileSync(path.join(message.cwd, message.file), 'utf8'));
			if (!exception.holds(pkg)) return false;
		}
		return true;
	});
}

if (!existsSync(path.join(root, 'dist/nodes'))) {
	console.error('scan: no build in dist/ — run `npm run build` first');
	process.exit(1);
}

const work = mkdtempSync(path.join(tmpdir(), 'pretix-matrix-scan-'));
try {
	const packed = JSON.parse(
		execFileSync('npm', ['pack', '--json', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' }),
	);
	const tarball = path.join(work, packed[0].filename);
	const unpacked = path.join(work, 'package');
	execFileSync('tar', ['-xzf', tarball, '-C', work]);

	const legs = [
		await lintLeg('source', root, SOURCE_FILE_PATTERNS),
		await lintLeg('tarball', unpacked, ['**/*.js', 'package.json']),
	];
	const used = new Map();
	const problems = [];
	let warnings = 0;
	for (const leg of legs) {
		for (const message of leg.messages) {
			if (message.severity < 2) {
				warnings++;
				console.log(`scan: ${leg.label} ${message.file}:${message.line} warning ${message.ruleId}: ${message.message}`);
				continue;
			}
			const exception = exceptionFor(message);
			if (exception) used.set(exception, (used.get(exception) ?? 0) + 1);
			else problems.push(`${leg.label} ${message.file}:${message.line} ${message.ruleId ?? 'parse'}: ${message.message}`);
		}
	}
	for (const problem of problems) console.log(`scan: error ${problem}`);
	const stale = EXCEPTIONS.filter((exception) => !used.has(exception));
	for (const exception of stale)
		console.log(`scan: stale exception (nothing needs it any more; remove it here and in CONTRIBUTING.md): ${exception.rule} in ${exception.files.join(', ')}`);
	for (const [exception, count] of used)
		console.log(`scan: excepted ${count}× ${exception.rule.replace('@n8n/community-nodes/', '')} — ${exception.reason}`);
	const excepted = [...used.values()].reduce((sum, count) => sum + count, 0);
	console.log(
		`scan: ${legs.map((leg) => `${leg.label} ${leg.files} files`).join(', ')}; ${problems.length} errors, ${excepted} excepted, ${warnings} warnings`,
	);
	if (problems.length > 0 || stale.length > 0) process.exitCode = 1;
} finally {
	rmSync(work, { recursive: true, force: true });
}
