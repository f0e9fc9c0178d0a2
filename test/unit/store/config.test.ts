import {
	mkdirSync,
	mkdtempSync,
	realpathSync,
	rmSync,
	existsSync,
	symlinkSync,
	writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import {
	closeAllLedgers,
	createBackend,
	defaultSqlitePath,
	LedgerBackendError,
	PostgresBackend,
	RedisBackend,
	SqliteBackend,
	testStoreCredential,
	withLedger,
} from '../../../lib/store';
import { allowedFileFolders, resolveLedgerPath } from '../../../lib/store/config';

const SECRET = 'LIbni1qdmcn0dOXMaCrTumbyS5dVWYf1';
const OTHER_SECRET = 'qaNGgVTnoLynydS6la2kFzMXWiRA8BIE';

// The tests' ledger files live in the temporary folder: allowed the way an operator allows a
// folder for n8n's file nodes.
process.env.N8N_RESTRICT_FILE_ACCESS_TO = tmpdir();

describe('default embedded file', () => {
	test('lives in the n8n user folder when N8N_USER_FOLDER is set, else in ~/.n8n', () => {
		expect(defaultSqlitePath({ N8N_USER_FOLDER: '/data/n8n' }, '/home/x')).toBe(
			'/data/n8n/.n8n/pretix-matrix-ledger.sqlite',
		);
		expect(defaultSqlitePath({}, '/home/x')).toBe('/home/x/.n8n/pretix-matrix-ledger.sqlite');
	});
	test('the backend is chosen by the credential', () => {
		expect(
			createBackend({ backend: 'embedded', filePath: join(tmpdir(), 'x.sqlite') }),
		).toBeInstanceOf(SqliteBackend);
		expect(createBackend({ backend: 'postgres' })).toBeInstanceOf(PostgresBackend);
		expect(createBackend({ backend: 'redis' })).toBeInstanceOf(RedisBackend);
		expect(() => createBackend({ backend: 'embedded', filePath: 'relative.sqlite' })).toThrow(
			/absolute/,
		);
		expect(() => createBackend({ backend: 'mongo' as never })).toThrow(/Unknown store backend/);
		expect(() => createBackend({ backend: 'postgres', pgSchema: 'x"; DROP TABLE y; --' })).toThrow(
			/schema/,
		);
	});
});

describe('ledger file path', () => {
	let home: string;
	let n8n: string;
	let env: NodeJS.ProcessEnv;
	beforeEach(() => {
		home = realpathSync(mkdtempSync(join(tmpdir(), 'ledger-path-')));
		n8n = join(home, '.n8n');
		mkdirSync(n8n);
		writeFileSync(join(n8n, 'database.sqlite'), '');
		env = { N8N_USER_FOLDER: home };
	});
	afterEach(() => rmSync(home, { recursive: true, force: true }));

	test("n8n's semantics of N8N_RESTRICT_FILE_ACCESS_TO: unset is ~/.n8n-files, ';'-separated, '' is no restriction", () => {
		expect(allowedFileFolders({}, '/home/n')).toEqual(['/home/n/.n8n-files']);
		expect(
			allowedFileFolders({ N8N_RESTRICT_FILE_ACCESS_TO: ' /data ; ~/files;' }, '/home/n'),
		).toEqual(['/data', '/home/n/files']);
		expect(allowedFileFolders({ N8N_RESTRICT_FILE_ACCESS_TO: '' }, '/home/n')).toBeUndefined();
	});

	test('the default and other .sqlite files directly in the n8n folder are accepted', () => {
		expect(resolveLedgerPath('', env, home)).toBe(join(n8n, 'pretix-matrix-ledger.sqlite'));
		expect(resolveLedgerPath(join(n8n, 'summit.db'), env, home)).toBe(join(n8n, 'summit.db'));
		expect(resolveLedgerPath(':memory:', env, home)).toBe(':memory:');
	});

	test.each([
		['database.sqlite', /n8n's own database/],
		['database.sqlite-wal', /n8n's own database/],
		['database.sqlite-shm', /n8n's own database/],
		['database.sqlite-journal', /n8n's own database/],
		['sub/../database.sqlite', /n8n's own database/],
		['ledger.sqlite-wal', /not its -wal, -shm or -journal file/],
		['config', /directly in it/],
		['nodes/ledger.sqlite', /directly in it/],
		['crash.journal', /directly in it/],
	])("n8n's own files are refused: .n8n/%s", (file, message) => {
		expect(() => resolveLedgerPath(join(n8n, file), env, home)).toThrow(message);
	});

	test('a relocated n8n database (DB_SQLITE_DATABASE) is refused too', () => {
		const moved = {
			...env,
			DB_SQLITE_DATABASE: join(home, 'data', 'n8n.sqlite'),
			N8N_RESTRICT_FILE_ACCESS_TO: home,
		};
		expect(() => resolveLedgerPath(join(home, 'data', 'n8n.sqlite'), moved, home)).toThrow(
			/n8n's own database/,
		);
		expect(resolveLedgerPath(join(home, 'data', 'ledger.sqlite'), moved, home)).toBe(
			join(home, 'data', 'ledger.sqlite'),
		);
	});

	test("a symbolic link cannot point the ledger at n8n's database", () => {
		const files = join(home, '.n8n-files');
		mkdirSync(files);
		symlinkSync(join(n8n, 'database.sqlite'), join(files, 'ledger.sqlite'));
		symlinkSync(n8n, join(files, 'linked'));
		expect(() => resolveLedgerPath(join(files, 'ledger.sqlite'), env, home)).toThrow(
			/n8n's own database/,
		);
		expect(() => resolveLedgerPath(join(files, 'linked', 'database.sqlite'), env, home)).toThrow(
			/n8n's own database/,
		);
		expect(resolveLedgerPath(join(files, 'summit', 'ledger.sqlite'), env, home)).toBe(
			join(files, 'summit', 'ledger.sqlite'),
		);
	});

	test('outside the n8n folder only where N8N_RESTRICT_FILE_ACCESS_TO allows', () => {
		expect(() => resolveLedgerPath('/etc/ledger.sqlite', env, home)).toThrow(
			`The store file must be in n8n's folder (${n8n}) or in a folder N8N_RESTRICT_FILE_ACCESS_TO allows (${join(home, '.n8n-files')})`,
		);
		expect(
			resolveLedgerPath(
				'/srv/ledger/x.sqlite',
				{ ...env, N8N_RESTRICT_FILE_ACCESS_TO: '/srv/ledger' },
				home,
			),
		).toBe('/srv/ledger/x.sqlite');
		// Explicitly unrestricted n8n: anywhere except n8n's own files.
		const open = { ...env, N8N_RESTRICT_FILE_ACCESS_TO: '' };
		expect(resolveLedgerPath('/srv/other/x.sqlite', open, home)).toBe('/srv/other/x.sqlite');
		expect(() => resolveLedgerPath(join(n8n, 'database.sqlite'), open, home)).toThrow(
			/n8n's own database/,
		);
		expect(() =>
			resolveLedgerPath(
				join(home, 'ext', 'x.sqlite'),
				{ ...open, N8N_CUSTOM_EXTENSIONS: join(home, 'ext') },
				home,
			),
		).toThrow(/custom extensions/);
		expect(() => resolveLedgerPath('relative.sqlite', env, home)).toThrow(/absolute/);
	});

	test('createBackend refuses before creating anything', () => {
		const before = process.env.N8N_USER_FOLDER;
		process.env.N8N_USER_FOLDER = home;
		try {
			expect(() =>
				createBackend({ backend: 'embedded', filePath: join(n8n, 'database.sqlite-wal') }),
			).toThrow(/n8n's own database/);
		} finally {
			if (before === undefined) delete process.env.N8N_USER_FOLDER;
			else process.env.N8N_USER_FOLDER = before;
		}
	});
});

describe('withLedger', () => {
	let dir: string;
	beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'ledger-config-'))));
	afterEach(async () => {
		await closeAllLedgers();
		rmSync(dir, { recursive: true, force: true });
	});

	test('re-uses one open backend per credential and creates the file', async () => {
		const credential = {
			backend: 'embedded' as const,
			filePath: join(dir, 'sub', 'ledger.sqlite'),
			hmacSecret: SECRET,
		};
		const first = await withLedger(credential, async (ledger) => ledger);
		const second = await withLedger(credential, async (ledger) => ledger);
		expect(second).toBe(first);
		expect(existsSync(credential.filePath)).toBe(true);
		const third = await withLedger(
			{ ...credential, hmacSecret: OTHER_SECRET },
			async (ledger) => ledger,
		);
		expect(third).not.toBe(first);
	});

	test('a failed open is not cached, and the error is clear', async () => {
		const credential = {
			backend: 'redis' as const,
			redisHost: '127.0.0.1',
			redisPort: 1,
			hmacSecret: SECRET,
		};
		const error = await withLedger(credential, async () => 'never').catch((e) => e);
		expect(error).toBeInstanceOf(LedgerBackendError);
		expect(error.message).toBe('The Redis store is unreachable (connection refused)');
		await expect(withLedger(credential, async () => 'never')).rejects.toThrow(/unreachable/);
	});

	test('a short secret is refused, and nothing is created', async () => {
		await expect(
			withLedger(
				{ backend: 'embedded', filePath: join(dir, 'l.sqlite'), hmacSecret: 'short' },
				async () => 1,
			),
		).rejects.toThrow(/at least 32 characters/);
		expect(existsSync(join(dir, 'l.sqlite'))).toBe(false);
	});

	test('the previous secret reaches the ledger options; a weak previous secret is allowed (it is being replaced)', async () => {
		const { ledgerOptions } = await import('../../../lib/store/config');
		expect(ledgerOptions({ hmacSecret: SECRET, hmacPreviousSecret: '12345678' })).toEqual({
			secret: SECRET,
			previousSecret: '12345678',
			retentionDays: 0,
		});
		expect(
			ledgerOptions({ hmacSecret: SECRET, hmacPreviousSecret: '' }).previousSecret,
		).toBeUndefined();
		await expect(
			testStoreCredential({
				backend: 'embedded',
				filePath: join(dir, 'rotating.sqlite'),
				hmacSecret: SECRET,
				hmacPreviousSecret: 'demo-ledger-secret',
			}),
		).resolves.toBeUndefined();
	});
});

describe('credential test', () => {
	test('passes for reachable backends', async () => {
		const dir = mkdtempSync(join(tmpdir(), 'ledger-cred-'));
		await expect(
			testStoreCredential({
				backend: 'embedded',
				filePath: join(dir, 'x.sqlite'),
				hmacSecret: SECRET,
			}),
		).resolves.toBeUndefined();
		rmSync(dir, { recursive: true, force: true });
		await expect(
			testStoreCredential({
				backend: 'redis',
				redisHost: '127.0.0.1',
				redisPort: 6379,
				redisDatabase: 15,
				redisKeyPrefix: 'credtest:',
				hmacSecret: SECRET,
			}),
		).resolves.toBeUndefined();
	});
	test('fails clearly for unreachable ones', async () => {
		await expect(
			testStoreCredential({
				backend: 'postgres',
				pgHost: '127.0.0.1',
				pgPort: 1,
				hmacSecret: SECRET,
			}),
		).rejects.toThrow('The PostgreSQL store is unreachable (connection refused)');
		await expect(
			testStoreCredential({
				backend: 'redis',
				redisHost: '127.0.0.1',
				redisPort: 1,
				hmacSecret: SECRET,
			}),
		).rejects.toThrow('The Redis store is unreachable (connection refused)');
		await expect(
			testStoreCredential({
				backend: 'postgres',
				pgHost: '127.0.0.1',
				pgDatabase: 'no_such_db_here',
				pgUser: 'postgres',
				hmacSecret: SECRET,
			}),
		).rejects.toThrow('The PostgreSQL database does not exist (3D000)');
	});
});

describe('dropped connections', () => {
	test('PostgreSQL: a terminated connection is replaced, the next claim works and nothing is lost', async () => {
		const { postgresStore } = await import('./backends');
		const { Client } = await import('pg');
		const { Ledger } = await import('../../../lib/store');
		const store = postgresStore();
		const backend = store.create();
		await backend.init();
		const ledger = new Ledger(backend, { secret: SECRET });
		try {
			expect((await ledger.claim([{ event: 'e', subject: 'a' }]))[0].status).toBe('new');
			const admin = new Client({
				connectionString: (store.spec as { connectionString: string }).connectionString,
			});
			await admin.connect();
			// Only this store's connections: other test files use the same database in parallel.
			const prefix = (store.spec as { tablePrefix: string }).tablePrefix;
			const killed = await admin.query(
				'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 AND pid <> pg_backend_pid()',
				[`pretix-matrix-test-${prefix}`],
			);
			await admin.end();
			expect(killed.rowCount).toBeGreaterThan(0);
			// The pool may hand out the dead connection once: that call fails clearly, the next works.
			const attempt = () =>
				ledger.claim([
					{ event: 'e', subject: 'a' },
					{ event: 'e', subject: 'b' },
				]);
			const first = await attempt().catch((error) => error);
			const results = first instanceof Error ? await attempt() : first;
			if (first instanceof Error) expect(first).toBeInstanceOf(LedgerBackendError);
			expect(results.map((r: { status: string }) => r.status)).toEqual(['leased', 'new']);
		} finally {
			await backend.close();
			await store.cleanup();
		}
	});

	test('Redis: a killed connection reconnects, the next claim works and nothing is lost', async () => {
		const { redisStore, REDIS_URL } = await import('./backends');
		const { default: Redis } = await import('ioredis');
		const { Ledger } = await import('../../../lib/store');
		const store = redisStore();
		const backend = store.create();
		await backend.init();
		const ledger = new Ledger(backend, { secret: SECRET });
		try {
			expect((await ledger.claim([{ event: 'e', subject: 'a' }]))[0].status).toBe('new');
			const admin = new Redis(REDIS_URL);
			const clients = (await admin.client('LIST')) as string;
			const ids = clients
				.split('\n')
				.filter(
					(line) => line.includes(' db=15 ') && line.includes(' name=n8n-nodes-pretix-matrix '),
				)
				.map((line) => /id=(\d+)/.exec(line)?.[1]);
			expect(ids.length).toBeGreaterThan(0);
			for (const id of ids) if (id) await admin.client('KILL', 'ID', id);
			admin.disconnect();
			await new Promise((resolve) => setTimeout(resolve, 300));
			const results = await ledger.claim([
				{ event: 'e', subject: 'a' },
				{ event: 'e', subject: 'b' },
			]);
			expect(results.map((r) => r.status)).toEqual(['leased', 'new']);
		} finally {
			await backend.close();
			await store.cleanup();
		}
	});
});
