import { createHash } from 'node:crypto';
import { realpathSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, isAbsolute, join, resolve, sep } from 'node:path';

import { SubjectHasher } from './hashing';
import { Ledger, type LedgerOptions } from './ledger';
import { PostgresBackend } from './postgres';
import { RedisBackend } from './redis';
import { SqliteBackend } from './sqlite';
import { LedgerInputError, type BackendKind, type LedgerBackend } from './types';

/**
 * From the dedupeStoreApi credential's values to an open Ledger, with one open backend per
 * credential per process (n8n runs many executions in one process; opening a pool per item or per
 * execution would exhaust connections). Idle backends are closed after a minute.
 */

export interface StoreCredential {
	backend?: BackendKind;
	filePath?: string;
	pgHost?: string;
	pgPort?: number;
	pgDatabase?: string;
	pgUser?: string;
	pgPassword?: string;
	pgSsl?: 'disable' | 'require' | 'allowUnauthorized';
	pgSchema?: string;
	pgTablePrefix?: string;
	redisHost?: string;
	redisPort?: number;
	redisUsername?: string;
	redisPassword?: string;
	redisDatabase?: number;
	redisTls?: boolean;
	redisKeyPrefix?: string;
	/** HMAC secret for subject hashes (the credential field is `hmacSecret`). */
	hmacSecret?: string;
	/** The secret before the current one, while rotating (credential field `hmacPreviousSecret`). */
	hmacPreviousSecret?: string;
	retentionDays?: number;
}

export const DEFAULT_SQLITE_FILE = 'pretix-matrix-ledger.sqlite';

/** n8n's own folder: `<N8N_USER_FOLDER, else the home folder>/.n8n` (@n8n/config getN8nFolder). */
export function n8nFolder(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
	return join(env.N8N_USER_FOLDER?.trim() || home, '.n8n');
}

/** `<N8N_USER_FOLDER or home>/.n8n/pretix-matrix-ledger.sqlite`, next to n8n's own database. */
export function defaultSqlitePath(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
	return join(n8nFolder(env, home), DEFAULT_SQLITE_FILE);
}

/**
 * The folders n8n's file nodes may use, with n8n's semantics (n8n-core
 * file-system-helper-functions getAllowedPaths, @n8n/config SecurityConfig): N8N_RESTRICT_FILE_ACCESS_TO
 * is a `;`-separated list, a leading `~` is the home folder, unset means `~/.n8n-files`, and set
 * to the empty string means "no restriction" (returned as undefined).
 */
export function allowedFileFolders(
	env: NodeJS.ProcessEnv = process.env,
	home = homedir(),
): string[] | undefined {
	const raw = env.N8N_RESTRICT_FILE_ACCESS_TO ?? '~/.n8n-files';
	if (raw === '') return undefined;
	return raw
		.split(';')
		.map((path) => path.trim())
		.filter(Boolean)
		.map((path) => (path.startsWith('~') ? path.replace('~', home) : path));
}

/** The real location of a path whose last components may not exist yet (symbolic links resolved). */
function realLocation(path: string): string {
	const missing: string[] = [];
	let current = resolve(path);
	for (;;) {
		try {
			return join(realpathSync(current), ...missing.reverse());
		} catch {
			const parent = dirname(current);
			if (parent === current) return join(current, ...missing.reverse());
			missing.push(basename(current));
			current = parent;
		}
	}
}

function within(folder: string, path: string): boolean {
	return path === folder || path.startsWith(folder.endsWith(sep) ? folder : folder + sep);
}

const SQLITE_SIDE_FILES = /-(wal|shm|journal)$/i;
const LEDGER_FILE_NAME = /\.(sqlite3?|db)$/i;

/**
 * The embedded ledger's file, checked: inside n8n's folder (`~/.n8n`) as a `.sqlite`/`.sqlite3`/`.db`
 * file of its own directly in it, or in a folder N8N_RESTRICT_FILE_ACCESS_TO allows — and never one
 * of n8n's own files (its database `database.sqlite` or DB_SQLITE_DATABASE with their -wal/-shm/
 * -journal files, its settings, community nodes, custom extensions, config and binary-data files).
 * Symbolic links are resolved before checking, so a link cannot point the ledger at n8n's database.
 */
export function resolveLedgerPath(
	filePath: string | undefined,
	env: NodeJS.ProcessEnv = process.env,
	home = homedir(),
): string {
	const given = filePath?.trim() || defaultSqlitePath(env, home);
	if (given === ':memory:') return given;
	if (!isAbsolute(given)) throw new LedgerInputError('The store file path must be absolute');
	const real = realLocation(given);
	const n8nDir = realLocation(n8nFolder(env, home));
	const n8nDatabase = realLocation(
		resolve(n8nDir, env.DB_SQLITE_DATABASE?.trim() || 'database.sqlite'),
	);
	const name = basename(real);
	if (real === n8nDatabase || real.startsWith(`${n8nDatabase}-`) || /^database\.sqlite/i.test(name))
		throw new LedgerInputError(
			"The store file path points at n8n's own database; choose a file of its own, e.g. " +
				join(n8nFolder(env, home), DEFAULT_SQLITE_FILE),
		);
	if (SQLITE_SIDE_FILES.test(name))
		throw new LedgerInputError(
			'The store file path must name the SQLite file itself, not its -wal, -shm or -journal file',
		);
	const n8nOwned = [
		...(env.N8N_CUSTOM_EXTENSIONS ?? '').split(';'),
		...(env.N8N_CONFIG_FILES ?? '').split(','),
		env.N8N_BINARY_DATA_STORAGE_PATH ?? '',
	]
		.map((p) => p.trim())
		.filter(Boolean)
		.map(realLocation);
	if (n8nOwned.some((folder) => within(folder, real)))
		throw new LedgerInputError(
			"The store file path points into n8n's own files (custom extensions, config or binary data)",
		);
	if (within(n8nDir, real)) {
		if (dirname(real) !== n8nDir || !LEDGER_FILE_NAME.test(name))
			throw new LedgerInputError(
				`Inside n8n's folder (${n8nFolder(env, home)}) the store file must be a .sqlite file directly in it (n8n owns its subfolders), e.g. ${join(n8nFolder(env, home), DEFAULT_SQLITE_FILE)}`,
			);
		return real;
	}
	const allowed = allowedFileFolders(env, home);
	if (allowed && !allowed.map(realLocation).some((folder) => within(folder, real)))
		throw new LedgerInputError(
			`The store file must be in n8n's folder (${n8nFolder(env, home)}) or in a folder N8N_RESTRICT_FILE_ACCESS_TO allows (${allowed.join('; ') || 'none'})`,
		);
	return real;
}

/** ledgerOptions, with both secrets checked (SubjectHasher's rules) before anything is opened. */
function validatedLedgerOptions(credential: StoreCredential): ReturnType<typeof ledgerOptions> {
	const options = ledgerOptions(credential);
	new SubjectHasher(options.secret, { previousSecret: options.previousSecret });
	return options;
}

/** The Ledger's options from the credential (the previous secret is there while rotating). */
export function ledgerOptions(
	credential: StoreCredential,
): LedgerOptions & { previousSecret?: string } {
	return {
		secret: credential.hmacSecret ?? '',
		previousSecret: credential.hmacPreviousSecret || undefined,
		retentionDays: credential.retentionDays ?? 0,
	};
}

export function createBackend(credential: StoreCredential): LedgerBackend {
	const backend = credential.backend ?? 'embedded';
	switch (backend) {
		case 'embedded': {
			return new SqliteBackend({ path: resolveLedgerPath(credential.filePath) });
		}
		case 'postgres':
			return new PostgresBackend({
				host: credential.pgHost || 'localhost',
				port: Number(credential.pgPort) || 5432,
				database: credential.pgDatabase || 'postgres',
				user: credential.pgUser || undefined,
				password: credential.pgPassword || undefined,
				ssl:
					credential.pgSsl === 'require'
						? true
						: credential.pgSsl === 'allowUnauthorized'
							? { rejectUnauthorized: false }
							: false,
				schema: credential.pgSchema || 'public',
				tablePrefix: credential.pgTablePrefix ?? 'pretix_matrix_',
			});
		case 'redis':
			return new RedisBackend({
				host: credential.redisHost || 'localhost',
				port: Number(credential.redisPort) || 6379,
				username: credential.redisUsername || undefined,
				password: credential.redisPassword || undefined,
				db: Number(credential.redisDatabase) || 0,
				tls: credential.redisTls === true,
				keyPrefix: credential.redisKeyPrefix ?? 'pretix-matrix:',
			});
		default:
			throw new LedgerInputError('Unknown store backend; choose embedded, postgres or redis');
	}
}

interface CacheEntry {
	ledger: Promise<Ledger>;
	users: number;
	idleTimer?: NodeJS.Timeout;
}

const cache = new Map<string, CacheEntry>();
export const IDLE_CLOSE_MS = 60_000;

function cacheKey(credential: StoreCredential): string {
	const sorted = Object.keys(credential)
		.sort()
		.map((key) => [key, credential[key as keyof StoreCredential]]);
	return createHash('sha256').update(JSON.stringify(sorted)).digest('hex');
}

/** Opens (or re-uses) the ledger for a credential, runs `work`, and lets it go idle afterwards. */
export async function withLedger<T>(
	credential: StoreCredential,
	work: (ledger: Ledger) => Promise<T>,
): Promise<T> {
	const key = cacheKey(credential);
	let entry = cache.get(key);
	if (!entry) {
		const opening = (async () => {
			// The secrets first: a refused secret must not create a file or a table.
			const options = validatedLedgerOptions(credential);
			const backend = createBackend(credential);
			await backend.init();
			return new Ledger(backend, options);
		})();
		entry = { ledger: opening, users: 0 };
		cache.set(key, entry);
		// A failed open must not be cached: the next execution tries again.
		opening.catch(() => {
			if (cache.get(key) === entry) cache.delete(key);
		});
	}
	const current = entry;
	current.users += 1;
	if (current.idleTimer) clearTimeout(current.idleTimer);
	current.idleTimer = undefined;
	try {
		return await work(await current.ledger);
	} finally {
		current.users -= 1;
		if (current.users === 0 && cache.get(key) === current) {
			current.idleTimer = setTimeout(() => {
				if (current.users > 0 || cache.get(key) !== current) return;
				cache.delete(key);
				void current.ledger.then((ledger) => ledger.close()).catch(() => undefined);
			}, IDLE_CLOSE_MS);
			current.idleTimer.unref();
		}
	}
}

/** Opens a backend just to check it answers (credential test); always closes it. */
export async function testStoreCredential(credential: StoreCredential): Promise<void> {
	const options = validatedLedgerOptions(credential);
	const backend = createBackend(credential);
	try {
		new Ledger(backend, options);
		await backend.init();
		await backend.ping();
	} finally {
		await backend.close().catch(() => undefined);
	}
}

/** Closes every cached backend (tests, shutdown). */
export async function closeAllLedgers(): Promise<void> {
	const entries = [...cache.values()];
	cache.clear();
	await Promise.all(
		entries.map(async (entry) => {
			if (entry.idleTimer) clearTimeout(entry.idleTimer);
			await entry.ledger.then((ledger) => ledger.close()).catch(() => undefined);
		}),
	);
}
