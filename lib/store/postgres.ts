import { Pool, type PoolClient, type PoolConfig, type QueryResultRow } from 'pg';

import {
	foldGroups,
	grantWhere,
	likeEscape,
	mappingWhere,
	STATS_SELECT,
	toGrantRow,
	toHeldRow,
	transitionFrom,
	type GroupRow,
	type LedgerRowRecord,
} from './sql';
import {
	addCounts,
	EMPTY_COUNTS,
	LedgerBackendError,
	LedgerInputError,
	networkProblem,
	type BackendClaimResult,
	type ClaimTiming,
	type EventCounts,
	type EventStats,
	type GrantQuery,
	type GrantRow,
	type HeldRow,
	type LedgerBackend,
	type MappingFilter,
	type Outcome,
	type PersonHashes,
	type PurgeCounts,
	type RoomMapping,
	type RoomMove,
	type Settlement,
	type StoredClaim,
	type StoredKey,
	type Transition,
	UPGRADE_OWED,
	UPGRADE_OWED_PREEXISTING,
} from './types';

/**
 * PostgreSQL backend for several n8n processes (queue mode). Batches are single statements over
 * `unnest` arrays; a claim is `INSERT … ON CONFLICT DO UPDATE … WHERE <claimable>`, so under
 * concurrent writers PostgreSQL lets exactly one transaction win each key.
 */

export interface PostgresOptions {
	connectionString?: string;
	host?: string;
	port?: number;
	database?: string;
	user?: string;
	password?: string;
	ssl?: boolean | { rejectUnauthorized: boolean };
	/** Schema for the tables (created if missing). */
	schema?: string;
	/** Prefix for table names, so several installations can share a schema. */
	tablePrefix?: string;
	poolSize?: number;
	connectTimeoutMs?: number;
	/** How the connections show in pg_stat_activity (default `n8n-nodes-pretix-matrix`). */
	applicationName?: string;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,40}$/;
const PREFIX = /^[A-Za-z0-9_]{0,30}$/;
const UNNEST_KEYS =
	'unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS t(event, scope, subject, i)';
const UNNEST_CLAIMS =
	'unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[]) WITH ORDINALITY AS t(event, scope, subject, mxid, ord, ticket, sealed, i)';

export class PostgresBackend implements LedgerBackend {
	readonly kind = 'postgres' as const;
	private pool: Pool | null = null;
	private readonly schema: string;
	private readonly t: { ledger: string; mapping: string; cursor: string; summary: string };
	private readonly prefix: string;

	constructor(private readonly options: PostgresOptions) {
		this.schema = options.schema?.trim() || 'public';
		this.prefix = options.tablePrefix ?? 'pretix_matrix_';
		if (!IDENTIFIER.test(this.schema))
			throw new LedgerInputError('The schema name may only contain letters, digits and _');
		if (!PREFIX.test(this.prefix))
			throw new LedgerInputError(
				'The table prefix may only contain letters, digits and _ (at most 30)',
			);
		const name = (table: string) => `"${this.schema}"."${this.prefix}${table}"`;
		this.t = {
			ledger: name('ledger'),
			mapping: name('mapping'),
			cursor: name('cursor'),
			summary: name('summary'),
		};
	}

	async init(): Promise<void> {
		if (this.pool) return;
		const config: PoolConfig = {
			connectionString: this.options.connectionString || undefined,
			host: this.options.host,
			port: this.options.port,
			database: this.options.database,
			user: this.options.user,
			password: this.options.password,
			ssl: this.options.ssl,
			max: this.options.poolSize ?? 4,
			connectionTimeoutMillis: this.options.connectTimeoutMs ?? 5000,
			idleTimeoutMillis: 30_000,
			// Idle connections must not keep a finished n8n task or test process alive.
			allowExitOnIdle: true,
			application_name: this.options.applicationName ?? 'n8n-nodes-pretix-matrix',
		};
		const pool = new Pool(config);
		// A dropped idle connection must not crash the n8n process; the next query reconnects.
		pool.on('error', () => undefined);
		this.pool = pool;
		try {
			await this.transaction(async (client) => {
				await client.query('SELECT pg_advisory_xact_lock(hashtext($1))', [
					`pretix-matrix-ledger:${this.schema}:${this.prefix}`,
				]);
				const exists = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [
					this.schema,
				]);
				if (exists.rowCount === 0)
					await client.query(`CREATE SCHEMA IF NOT EXISTS "${this.schema}"`);
				await client.query(this.schemaSql());
			});
		} catch (error) {
			this.pool = null;
			await pool.end().catch(() => undefined);
			// eslint-disable-next-line @n8n/community-nodes/require-node-api-error -- lib has no node: toNodeError() maps it (CONTRIBUTING.md)
			throw error;
		}
	}

	private schemaSql(): string {
		const { ledger, mapping, cursor, summary } = this.t;
		const index = (name: string) => `"${this.prefix}${name}"`;
		return `
CREATE TABLE IF NOT EXISTS ${ledger} (
	event text NOT NULL,
	scope text NOT NULL,
	subject text NOT NULL,
	mxid text,
	ord text,
	ticket text,
	sealed text,
	state text NOT NULL,
	outcome text,
	reason text,
	lease_until bigint NOT NULL DEFAULT 0,
	attempts integer NOT NULL DEFAULT 0,
	created_at bigint NOT NULL,
	updated_at bigint NOT NULL,
	expires_at bigint,
	PRIMARY KEY (event, scope, subject)
);
CREATE INDEX IF NOT EXISTS ${index('ledger_mxid')} ON ${ledger} (mxid) WHERE mxid IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${index('ledger_ord')} ON ${ledger} (ord) WHERE ord IS NOT NULL;
ALTER TABLE ${ledger} ADD COLUMN IF NOT EXISTS ticket text;
ALTER TABLE ${ledger} ADD COLUMN IF NOT EXISTS sealed text;
CREATE INDEX IF NOT EXISTS ${index('ledger_subject')} ON ${ledger} (subject);
CREATE INDEX IF NOT EXISTS ${index('ledger_ticket')} ON ${ledger} (ticket) WHERE ticket IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${index('ledger_scope_mxid')} ON ${ledger} (scope, mxid) WHERE mxid IS NOT NULL;
CREATE INDEX IF NOT EXISTS ${index('ledger_expires')} ON ${ledger} (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS ${mapping} (
	room text NOT NULL,
	event text NOT NULL,
	item text NOT NULL DEFAULT '',
	variation text NOT NULL DEFAULT '',
	created_at bigint NOT NULL,
	PRIMARY KEY (room, event, item, variation)
);
CREATE INDEX IF NOT EXISTS ${index('mapping_event')} ON ${mapping} (event);
CREATE TABLE IF NOT EXISTS ${cursor} (
	event text NOT NULL,
	name text NOT NULL,
	value text NOT NULL,
	updated_at bigint NOT NULL,
	PRIMARY KEY (event, name)
);
CREATE TABLE IF NOT EXISTS ${summary} (
	event text PRIMARY KEY,
	seen bigint NOT NULL DEFAULT 0,
	invited bigint NOT NULL DEFAULT 0,
	accepted bigint NOT NULL DEFAULT 0,
	invalid bigint NOT NULL DEFAULT 0,
	failed bigint NOT NULL DEFAULT 0,
	withdrawn bigint NOT NULL DEFAULT 0,
	updated_at bigint NOT NULL
);
ALTER TABLE ${summary} ADD COLUMN IF NOT EXISTS withdrawn bigint NOT NULL DEFAULT 0;`;
	}

	async ping(): Promise<void> {
		await this.query('SELECT 1');
	}

	async close(): Promise<void> {
		const pool = this.pool;
		this.pool = null;
		if (pool) await pool.end();
	}

	async claim(rows: StoredClaim[], timing: ClaimTiming): Promise<BackendClaimResult[]> {
		if (rows.length === 0) return [];
		const { ledger } = this.t;
		const expired = '(l.expires_at IS NOT NULL AND l.expires_at <= EXCLUDED.updated_at)';
		const arrays = [
			rows.map((r) => r.event),
			rows.map((r) => r.scope),
			rows.map((r) => r.subject),
			rows.map((r) => r.mxid),
			rows.map((r) => r.order),
			rows.map((r) => r.ticket ?? null),
			rows.map((r) => r.sealed ?? null),
		];
		return this.transaction(async (client) => {
			const won = await client.query<{
				event: string;
				scope: string;
				subject: string;
				attempts: number;
			}>(
				`INSERT INTO ${ledger} AS l (event, scope, subject, mxid, ord, ticket, sealed, state, lease_until, attempts, created_at, updated_at, expires_at)
				SELECT t.event, t.scope, t.subject, t.mxid, t.ord, t.ticket, t.sealed, 'claimed', $8::bigint, 1, $9::bigint, $9::bigint, $10::bigint
				FROM ${UNNEST_CLAIMS} ORDER BY t.i
				ON CONFLICT (event, scope, subject) DO UPDATE SET
					state = 'claimed',
					lease_until = EXCLUDED.lease_until,
					attempts = CASE WHEN ${expired} THEN 1 ELSE l.attempts + 1 END,
					created_at = CASE WHEN ${expired} THEN EXCLUDED.created_at ELSE l.created_at END,
					mxid = CASE WHEN ${expired} THEN EXCLUDED.mxid ELSE coalesce(EXCLUDED.mxid, l.mxid) END,
					ord = CASE WHEN ${expired} THEN EXCLUDED.ord ELSE coalesce(EXCLUDED.ord, l.ord) END,
					ticket = CASE WHEN ${expired} THEN EXCLUDED.ticket ELSE coalesce(EXCLUDED.ticket, l.ticket) END,
					sealed = CASE WHEN ${expired} THEN EXCLUDED.sealed ELSE coalesce(EXCLUDED.sealed, l.sealed) END,
					outcome = NULL,
					reason = NULL,
					updated_at = EXCLUDED.updated_at,
					expires_at = EXCLUDED.expires_at
				WHERE (l.state IN ('claimed', 'retry') AND l.lease_until <= EXCLUDED.updated_at) OR ${expired}
				RETURNING l.event, l.scope, l.subject, l.attempts`,
				[...arrays, timing.leaseUntil, timing.now, timing.expiresAt],
			);
			const key = (r: { event: string; scope: string; subject: string }) =>
				`${r.event}\u0000${r.scope}\u0000${r.subject}`;
			const results = new Map<string, BackendClaimResult>();
			for (const row of won.rows) {
				results.set(key(row), {
					status: row.attempts === 1 ? 'new' : 'reclaimed',
					attempts: row.attempts,
					outcome: null,
					reason: null,
				});
			}
			if (won.rows.length < rows.length) {
				const current = await client.query<{
					event: string;
					scope: string;
					subject: string;
					state: string;
					outcome: string | null;
					reason: string | null;
					attempts: number;
				}>(
					`SELECT l.event, l.scope, l.subject, l.state, l.outcome, l.reason, l.attempts FROM ${ledger} l
					JOIN ${UNNEST_KEYS} ON l.event = t.event AND l.scope = t.scope AND l.subject = t.subject`,
					arrays.slice(0, 3),
				);
				for (const row of current.rows) {
					if (results.has(key(row))) continue;
					results.set(key(row), {
						status: row.state === 'done' ? 'done' : 'leased',
						attempts: row.attempts,
						outcome: row.outcome as Outcome | null,
						reason: row.reason,
					});
				}
			}
			return rows.map((row) => {
				const result = results.get(key(row));
				if (!result)
					throw new LedgerBackendError(
						'The PostgreSQL store lost a claim row during the claim',
						'INCONSISTENT',
					);
				return result;
			});
		});
	}

	async settle(rows: StoredClaim[], settlement: Settlement): Promise<number> {
		if (rows.length === 0) return 0;
		const { ledger } = this.t;
		if (settlement.kind === 'release') {
			const result = await this.query(
				`UPDATE ${ledger} l SET lease_until = 0, updated_at = $4::bigint FROM ${UNNEST_KEYS}
				WHERE l.event = t.event AND l.scope = t.scope AND l.subject = t.subject AND l.state = 'claimed'`,
				[
					rows.map((r) => r.event),
					rows.map((r) => r.scope),
					rows.map((r) => r.subject),
					settlement.now,
				],
			);
			return result.rowCount ?? 0;
		}
		const state = settlement.kind === 'fail' && settlement.retryable ? 'retry' : 'done';
		const result = await this.query(
			`INSERT INTO ${ledger} AS l (event, scope, subject, mxid, ord, ticket, sealed, state, outcome, reason, lease_until, attempts, created_at, updated_at, expires_at)
			SELECT t.event, t.scope, t.subject, t.mxid, t.ord, t.ticket, t.sealed, $8, $9, $10, $11::bigint, 1, $12::bigint, $12::bigint, $13::bigint
			FROM ${UNNEST_CLAIMS} ORDER BY t.i
			ON CONFLICT (event, scope, subject) DO UPDATE SET
				state = EXCLUDED.state,
				outcome = CASE WHEN l.outcome = 'accepted' AND EXCLUDED.outcome = 'invited' THEN 'accepted' ELSE EXCLUDED.outcome END,
				reason = EXCLUDED.reason,
				lease_until = EXCLUDED.lease_until,
				mxid = coalesce(EXCLUDED.mxid, l.mxid),
				ord = coalesce(EXCLUDED.ord, l.ord),
				ticket = coalesce(EXCLUDED.ticket, l.ticket),
				sealed = coalesce(EXCLUDED.sealed, l.sealed),
				updated_at = EXCLUDED.updated_at,
				expires_at = EXCLUDED.expires_at`,
			[
				rows.map((r) => r.event),
				rows.map((r) => r.scope),
				rows.map((r) => r.subject),
				rows.map((r) => r.mxid),
				rows.map((r) => r.order),
				rows.map((r) => r.ticket ?? null),
				rows.map((r) => r.sealed ?? null),
				state,
				settlement.outcome,
				settlement.reason,
				state === 'retry' ? (settlement.retryAt ?? 0) : 0,
				settlement.now,
				settlement.expiresAt,
			],
		);
		return result.rowCount ?? 0;
	}

	async setMapping(mapping: RoomMapping, now: number): Promise<boolean> {
		const result = await this.query(
			`INSERT INTO ${this.t.mapping} (room, event, item, variation, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING`,
			[mapping.room, mapping.event, mapping.item ?? '', mapping.variation ?? '', now],
		);
		return result.rowCount === 1;
	}

	async unsetMappings(filter: MappingFilter): Promise<number> {
		const where = mappingWhere(filter, (i) => `$${i}`);
		const result = await this.query(`DELETE FROM ${this.t.mapping} ${where.sql}`, where.values);
		return result.rowCount ?? 0;
	}

	async moveRoom(oldRoom: string, newRoom: string, now: number): Promise<RoomMove> {
		return this.transaction(async (client) => {
			await client.query(
				`INSERT INTO ${this.t.mapping} (room, event, item, variation, created_at) SELECT $1, event, item, variation, created_at FROM ${this.t.mapping} WHERE room = $2 ON CONFLICT DO NOTHING`,
				[newRoom, oldRoom],
			);
			const mappings = (await client.query(`DELETE FROM ${this.t.mapping} WHERE room = $1`, [oldRoom])).rowCount ?? 0;
			// The new room's own row for the same key wins (see sqlite.ts); a row written for the new
			// room by a concurrent run between these statements makes the UPDATE fail and the whole
			// move roll back, to be run again.
			const merged =
				(
					await client.query(
						`DELETE FROM ${this.t.ledger} AS o WHERE o.scope = $1 AND EXISTS (SELECT 1 FROM ${this.t.ledger} AS n WHERE n.event = o.event AND n.scope = $2 AND n.subject = o.subject)`,
						[oldRoom, newRoom],
					)
				).rowCount ?? 0;
			// Nobody invited the old room's live grants into the new room yet: they become owed there.
			await client.query(
				`UPDATE ${this.t.ledger} SET state = 'retry', lease_until = 0, updated_at = $2::bigint, reason = CASE WHEN reason = 'preexisting' THEN $3 ELSE $4 END
				WHERE scope = $1 AND state = 'done' AND outcome IN ('invited', 'accepted') AND ticket IS NOT NULL`,
				[oldRoom, now, UPGRADE_OWED_PREEXISTING, UPGRADE_OWED],
			);
			const moved = (await client.query(`UPDATE ${this.t.ledger} SET scope = $1 WHERE scope = $2`, [newRoom, oldRoom])).rowCount ?? 0;
			return { mappings, rows: merged + moved };
		});
	}

	async listMappings(filter: MappingFilter): Promise<RoomMapping[]> {
		const where = mappingWhere(filter, (i) => `$${i}`);
		const result = await this.query<Record<string, string>>(
			`SELECT event, room, item, variation FROM ${this.t.mapping} ${where.sql}`,
			where.values,
		);
		return result.rows.map((row) => ({
			event: row.event,
			room: row.room,
			item: row.item || null,
			variation: row.variation || null,
		}));
	}

	async stats(event: string, now: number): Promise<EventStats> {
		const live = await this.query<Record<keyof EventCounts, string>>(
			`SELECT ${STATS_SELECT} FROM ${this.t.ledger} WHERE event = $1 AND (expires_at IS NULL OR expires_at > $2)`,
			[event, now],
		);
		const summary = await this.query<Record<string, string>>(
			`SELECT seen, invited, accepted, invalid, failed, withdrawn FROM ${this.t.summary} WHERE event = $1`,
			[event],
		);
		const counts = live.rows[0];
		const stats: EventStats = { event, ...EMPTY_COUNTS, held: Number(counts.seen) };
		addCounts(stats, counts as unknown as Partial<EventCounts>);
		if (summary.rows[0]) addCounts(stats, summary.rows[0] as unknown as Partial<EventCounts>);
		return stats;
	}

	async getCursor(event: string, name: string): Promise<string | null> {
		const result = await this.query<{ value: string }>(
			`SELECT value FROM ${this.t.cursor} WHERE event = $1 AND name = $2`,
			[event, name],
		);
		return result.rows[0]?.value ?? null;
	}

	async setCursor(event: string, name: string, value: string, now: number): Promise<void> {
		await this.query(
			`INSERT INTO ${this.t.cursor} (event, name, value, updated_at) VALUES ($1, $2, $3, $4)
			ON CONFLICT (event, name) DO UPDATE SET value = EXCLUDED.value, updated_at = EXCLUDED.updated_at`,
			[event, name, value, now],
		);
	}

	async purgeEvent(
		event: string,
		options: { mappings: boolean },
		now: number,
	): Promise<PurgeCounts> {
		return this.transaction(async (client) => {
			const ledger = await this.deleteFolding(client, 'event = $1', [event], now);
			const cursors =
				(await client.query(`DELETE FROM ${this.t.cursor} WHERE event = $1`, [event])).rowCount ??
				0;
			const mappings = options.mappings
				? ((
						await client.query(
							`DELETE FROM ${this.t.mapping} WHERE event = $1 OR event LIKE $2 ESCAPE '!'`,
							[event, `${likeEscape(event)}/%`],
						)
					).rowCount ?? 0)
				: 0;
			return { ledger, cursors, mappings };
		});
	}

	async forget(person: PersonHashes, now: number): Promise<number> {
		return this.transaction((client) =>
			this.deleteFolding(client, PERSON_WHERE, personValues(person), now),
		);
	}

	async lookup(person: PersonHashes, now: number): Promise<HeldRow[]> {
		const result = await this.query<LedgerRowRecord>(
			`SELECT * FROM ${this.t.ledger} WHERE (${PERSON_WHERE}) AND (expires_at IS NULL OR expires_at > $5) ORDER BY event, scope`,
			[...personValues(person), now],
		);
		return result.rows.map((row) => toHeldRow(row, person));
	}

	async sweepExpired(now: number): Promise<number> {
		return this.transaction((client) =>
			this.deleteFolding(client, 'expires_at IS NOT NULL AND expires_at <= $1', [now], now),
		);
	}

	async grants(query: GrantQuery, now: number): Promise<GrantRow[]> {
		const where = grantWhere(
			query,
			(i) => `$${i}`,
			(first, count) => Array.from({ length: count }, (_, k) => `$${first + k}`).join(', '),
		);
		const result = await this.query<LedgerRowRecord>(
			`SELECT * FROM ${this.t.ledger} WHERE ${where.sql} AND (expires_at IS NULL OR expires_at > $${where.values.length + 1}) ORDER BY event, scope, subject`,
			[...where.values, now],
		);
		return result.rows.map(toGrantRow);
	}

	async existing(keys: StoredKey[], now: number): Promise<boolean[]> {
		if (keys.length === 0) return [];
		const result = await this.query<{ i: string }>(
			`SELECT t.i FROM ${UNNEST_KEYS} JOIN ${this.t.ledger} l ON l.event = t.event AND l.scope = t.scope AND l.subject = t.subject
			WHERE l.expires_at IS NULL OR l.expires_at > $4::bigint`,
			[keys.map((k) => k.event), keys.map((k) => k.scope), keys.map((k) => k.subject), now],
		);
		const found = new Set(result.rows.map((row) => Number(row.i)));
		return keys.map((_key, n) => found.has(n + 1));
	}

	async transition(rows: StoredKey[], transition: Transition): Promise<boolean[]> {
		if (rows.length === 0) return [];
		const from = transitionFrom(transition);
		const values: unknown[] = [
			rows.map((r) => r.event),
			rows.map((r) => r.scope),
			rows.map((r) => r.subject),
			transition.toState,
			transition.leaseUntil,
			transition.now,
			from.states,
		];
		const sets = ['state = $4', 'lease_until = $5::bigint', 'updated_at = $6::bigint'];
		if (transition.toOutcome !== undefined) {
			values.push(transition.toOutcome);
			sets.push(`outcome = $${values.length}`);
		}
		if (transition.toReason !== undefined) {
			values.push(transition.toReason);
			sets.push(`reason = $${values.length}`);
		}
		let outcomeClause = '';
		if (from.outcomes !== null) {
			values.push(from.outcomes);
			outcomeClause = ` AND (l.outcome = ANY($${values.length}::text[])${from.nullOutcome ? ' OR l.outcome IS NULL' : ''})`;
		}
		const result = await this.query<{ event: string; scope: string; subject: string }>(
			`UPDATE ${this.t.ledger} l SET ${sets.join(', ')} FROM ${UNNEST_KEYS}
			WHERE l.event = t.event AND l.scope = t.scope AND l.subject = t.subject
			AND l.state = ANY($7::text[])${outcomeClause}
			AND (l.expires_at IS NULL OR l.expires_at > $6::bigint)
			RETURNING l.event, l.scope, l.subject`,
			values,
		);
		const moved = new Set(result.rows.map((r) => `${r.event}\u0000${r.scope}\u0000${r.subject}`));
		return rows.map((r) => moved.has(`${r.event}\u0000${r.scope}\u0000${r.subject}`));
	}

	/** Deletes matching rows and adds exactly their counts to the summary, in the caller's transaction. */
	private async deleteFolding(
		client: PoolClient,
		where: string,
		values: unknown[],
		now: number,
	): Promise<number> {
		const deleted = await client.query<{ event: string; state: string; outcome: string | null }>(
			`DELETE FROM ${this.t.ledger} WHERE ${where} RETURNING event, state, outcome`,
			values,
		);
		if (deleted.rows.length === 0) return 0;
		const perEvent = foldGroups(deleted.rows.map((row): GroupRow => ({ ...row, n: 1 })));
		for (const [event, counts] of perEvent) {
			await client.query(
				`INSERT INTO ${this.t.summary} (event, seen, invited, accepted, invalid, failed, withdrawn, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
				ON CONFLICT (event) DO UPDATE SET seen = ${this.t.summary}.seen + EXCLUDED.seen, invited = ${this.t.summary}.invited + EXCLUDED.invited,
				accepted = ${this.t.summary}.accepted + EXCLUDED.accepted, invalid = ${this.t.summary}.invalid + EXCLUDED.invalid,
				failed = ${this.t.summary}.failed + EXCLUDED.failed, withdrawn = ${this.t.summary}.withdrawn + EXCLUDED.withdrawn,
				updated_at = EXCLUDED.updated_at`,
				[event, counts.seen, counts.invited, counts.accepted, counts.invalid, counts.failed, counts.withdrawn, now],
			);
		}
		return deleted.rowCount ?? 0;
	}

	private async query<R extends QueryResultRow = QueryResultRow>(
		sql: string,
		values: unknown[] = [],
	) {
		const pool = this.activePool();
		try {
			return await pool.query<R>(sql, values);
		} catch (error) {
			throw wrap(error);
		}
	}

	private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
		const pool = this.activePool();
		let client: PoolClient;
		try {
			client = await pool.connect();
		} catch (error) {
			throw wrap(error);
		}
		// A connection dropped between two statements of the transaction emits 'error' on the client
		// (the pool only listens on idle ones): unheard, it would crash the n8n process. The failing
		// statement reports it to the caller instead.
		const ignoreDrop = () => undefined;
		client.on('error', ignoreDrop);
		try {
			await client.query('BEGIN');
			const result = await work(client);
			await client.query('COMMIT');
			client.removeListener('error', ignoreDrop);
			client.release();
			return result;
		} catch (error) {
			// A failed ROLLBACK means the connection is broken: drop it instead of reusing it.
			const rolledBack = await client.query('ROLLBACK').then(
				() => true,
				() => false,
			);
			client.removeListener('error', ignoreDrop);
			client.release(rolledBack ? undefined : true);
			throw wrap(error);
		}
	}

	private activePool(): Pool {
		if (!this.pool) throw new LedgerBackendError('The PostgreSQL store is closed', 'CLOSED');
		return this.pool;
	}
}

/** $4 is the event scope (NULL: every event). */
const PERSON_WHERE =
	'(mxid = ANY($1::text[]) OR ord = ANY($2::text[]) OR subject = ANY($3::text[])) AND ($4::text[] IS NULL OR event = ANY($4::text[]))';

function personValues(person: PersonHashes): unknown[] {
	return [person.mxid, person.order, person.subject, person.events ?? null];
}

/** Only codes, never the server's message: PostgreSQL errors may quote the offending values. */
function wrap(error: unknown): LedgerBackendError {
	if (error instanceof LedgerBackendError) return error;
	const err = error as { code?: string; message?: string };
	const code = typeof err?.code === 'string' ? err.code : '';
	const network = networkProblem(code);
	if (network)
		return new LedgerBackendError(`The PostgreSQL store is unreachable (${network})`, code);
	if (/timeout/i.test(err?.message ?? ''))
		return new LedgerBackendError(
			'The PostgreSQL store did not answer in time (timeout)',
			'ETIMEDOUT',
		);
	if (/Cannot use a pool after calling end/i.test(err?.message ?? ''))
		return new LedgerBackendError('The PostgreSQL store is closed', 'CLOSED');
	if (code === '28P01' || code === '28000')
		return new LedgerBackendError(`PostgreSQL refused the login (${code})`, code);
	if (code === '3D000')
		return new LedgerBackendError('The PostgreSQL database does not exist (3D000)', code);
	if (code === '42501')
		return new LedgerBackendError(
			'The PostgreSQL user lacks a permission the store needs (42501)',
			code,
		);
	if (/^[0-9A-Z]{5}$/.test(code))
		return new LedgerBackendError(
			`The PostgreSQL store refused the operation (SQLSTATE ${code})`,
			code,
		);
	if (/terminated|Connection terminated|not queryable|ended/i.test(err?.message ?? ''))
		return new LedgerBackendError('The PostgreSQL connection was lost', 'ECONNRESET');
	return new LedgerBackendError('The PostgreSQL store failed (unknown error)', 'UNKNOWN');
}
