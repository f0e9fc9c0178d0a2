import { createHash } from 'node:crypto';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

import { Ledger } from './ledger';
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
	retentionDays?: number;
}

export const DEFAULT_SQLITE_FILE = 'pretix-matrix-ledger.sqlite';

/** `<N8N_USER_FOLDER or home>/.n8n/pretix-matrix-ledger.sqlite`, next to n8n's own database. */
export function defaultSqlitePath(env: NodeJS.ProcessEnv = process.env, home = homedir()): string {
	const userFolder = env.N8N_USER_FOLDER?.trim() || home;
	return join(userFolder, '.n8n', DEFAULT_SQLITE_FILE);
}

export function createBackend(credential: StoreCredential): LedgerBackend {
	const backend = credential.backend ?? 'embedded';
	switch (backend) {
		case 'embedded': {
			const path = credential.filePath?.trim() || defaultSqlitePath();
			if (path !== ':memory:' && !isAbsolute(path))
				throw new LedgerInputError('The store file path must be absolute');
			return new SqliteBackend({ path });
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
			const backend = createBackend(credential);
			await backend.init();
			return new Ledger(backend, {
				secret: credential.hmacSecret ?? '',
				retentionDays: credential.retentionDays ?? 0,
			});
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
	const backend = createBackend(credential);
	try {
		// Validates the secret too, so a bad one fails the test rather than the first execution.
		new Ledger(backend, {
			secret: credential.hmacSecret ?? '',
			retentionDays: credential.retentionDays ?? 0,
		});
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
