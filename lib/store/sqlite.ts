import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { DatabaseSync as DatabaseSyncType, StatementSync } from 'node:sqlite';

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
 * The embedded backend: one SQLite file through Node's built-in `node:sqlite` (no native
 * dependency). Writers serialise with BEGIN IMMEDIATE and wait up to `busyTimeoutMs` for each
 * other, so several n8n processes on one machine may share the file.
 */

export interface SqliteOptions {
	/** File path, or ':memory:' for tests. */
	path: string;
	busyTimeoutMs?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS ledger (
	event TEXT NOT NULL,
	scope TEXT NOT NULL,
	subject TEXT NOT NULL,
	mxid TEXT,
	ord TEXT,
	ticket TEXT,
	sealed TEXT,
	state TEXT NOT NULL,
	outcome TEXT,
	reason TEXT,
	lease_until INTEGER NOT NULL DEFAULT 0,
	attempts INTEGER NOT NULL DEFAULT 0,
	created_at INTEGER NOT NULL,
	updated_at INTEGER NOT NULL,
	expires_at INTEGER,
	PRIMARY KEY (event, scope, subject)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS ledger_mxid ON ledger (mxid) WHERE mxid IS NOT NULL;
CREATE INDEX IF NOT EXISTS ledger_ord ON ledger (ord) WHERE ord IS NOT NULL;
CREATE INDEX IF NOT EXISTS ledger_subject ON ledger (subject);
CREATE INDEX IF NOT EXISTS ledger_ticket ON ledger (ticket) WHERE ticket IS NOT NULL;
CREATE INDEX IF NOT EXISTS ledger_scope_mxid ON ledger (scope, mxid) WHERE mxid IS NOT NULL;
CREATE INDEX IF NOT EXISTS ledger_expires ON ledger (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS mapping (
	room TEXT NOT NULL,
	event TEXT NOT NULL,
	item TEXT NOT NULL DEFAULT '',
	variation TEXT NOT NULL DEFAULT '',
	created_at INTEGER NOT NULL,
	PRIMARY KEY (room, event, item, variation)
);
CREATE INDEX IF NOT EXISTS mapping_event ON mapping (event);
CREATE TABLE IF NOT EXISTS cursor (
	event TEXT NOT NULL,
	name TEXT NOT NULL,
	value TEXT NOT NULL,
	updated_at INTEGER NOT NULL,
	PRIMARY KEY (event, name)
);
CREATE TABLE IF NOT EXISTS summary (
	event TEXT PRIMARY KEY,
	seen INTEGER NOT NULL DEFAULT 0,
	invited INTEGER NOT NULL DEFAULT 0,
	accepted INTEGER NOT NULL DEFAULT 0,
	invalid INTEGER NOT NULL DEFAULT 0,
	failed INTEGER NOT NULL DEFAULT 0,
	withdrawn INTEGER NOT NULL DEFAULT 0,
	updated_at INTEGER NOT NULL
);
`;

/** Columns added after the first release of the schema, created in files made before them. */
const ADDED_COLUMNS: Array<[table: string, column: string, definition: string]> = [
	['ledger', 'ticket', 'TEXT'],
	['ledger', 'sealed', 'TEXT'],
	['summary', 'withdrawn', 'INTEGER NOT NULL DEFAULT 0'],
];

const EXPIRED = '(ledger.expires_at IS NOT NULL AND ledger.expires_at <= excluded.updated_at)';

const CLAIM_SQL = `INSERT INTO ledger (event, scope, subject, mxid, ord, ticket, sealed, state, lease_until, attempts, created_at, updated_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, 'claimed', ?, 1, ?, ?, ?)
ON CONFLICT (event, scope, subject) DO UPDATE SET
	state = 'claimed',
	lease_until = excluded.lease_until,
	attempts = CASE WHEN ${EXPIRED} THEN 1 ELSE ledger.attempts + 1 END,
	created_at = CASE WHEN ${EXPIRED} THEN excluded.created_at ELSE ledger.created_at END,
	mxid = CASE WHEN ${EXPIRED} THEN excluded.mxid ELSE coalesce(excluded.mxid, ledger.mxid) END,
	ord = CASE WHEN ${EXPIRED} THEN excluded.ord ELSE coalesce(excluded.ord, ledger.ord) END,
	ticket = CASE WHEN ${EXPIRED} THEN excluded.ticket ELSE coalesce(excluded.ticket, ledger.ticket) END,
	sealed = CASE WHEN ${EXPIRED} THEN excluded.sealed ELSE coalesce(excluded.sealed, ledger.sealed) END,
	outcome = NULL,
	reason = NULL,
	updated_at = excluded.updated_at,
	expires_at = excluded.expires_at
WHERE (ledger.state IN ('claimed', 'retry') AND ledger.lease_until <= excluded.updated_at)
	OR ${EXPIRED}
RETURNING attempts`;

const SETTLE_SQL = `INSERT INTO ledger (event, scope, subject, mxid, ord, ticket, sealed, state, outcome, reason, lease_until, attempts, created_at, updated_at, expires_at)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)
ON CONFLICT (event, scope, subject) DO UPDATE SET
	state = excluded.state,
	outcome = CASE WHEN ledger.outcome = 'accepted' AND excluded.outcome = 'invited' THEN 'accepted' ELSE excluded.outcome END,
	reason = excluded.reason,
	lease_until = excluded.lease_until,
	mxid = coalesce(excluded.mxid, ledger.mxid),
	ord = coalesce(excluded.ord, ledger.ord),
	ticket = coalesce(excluded.ticket, ledger.ticket),
	sealed = coalesce(excluded.sealed, ledger.sealed),
	updated_at = excluded.updated_at,
	expires_at = excluded.expires_at`;

interface Statements {
	claim: StatementSync;
	current: StatementSync;
	settle: StatementSync;
	release: StatementSync;
	summaryAdd: StatementSync;
}

export class SqliteBackend implements LedgerBackend {
	readonly kind = 'embedded' as const;
	private db: DatabaseSyncType | null = null;
	private statements: Statements | null = null;

	constructor(private readonly options: SqliteOptions) {}

	async init(): Promise<void> {
		if (this.db) return;
		try {
			if (this.options.path !== ':memory:')
				mkdirSync(dirname(this.options.path), { recursive: true });
			// Loaded lazily: `node:sqlite` exists on Node ≥22.5 only, and only this backend needs it.
			// eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded lazily, see above
			const { DatabaseSync } = require('node:sqlite') as typeof import('node:sqlite');
			const db = new DatabaseSync(this.options.path);
			db.exec(
				`PRAGMA busy_timeout = ${Math.max(0, Math.round(this.options.busyTimeoutMs ?? 5000))}`,
			);
			db.exec('PRAGMA journal_mode = WAL');
			db.exec('PRAGMA synchronous = NORMAL');
			// Deleted rows are overwritten, not left in free pages: a purge must leave no hashes behind.
			db.exec('PRAGMA secure_delete = ON');
			this.db = db;
			this.transaction(() => {
				db.exec(SCHEMA);
				for (const [table, column, definition] of ADDED_COLUMNS) {
					const columns = db.prepare(`SELECT name FROM pragma_table_info('${table}')`).all() as Array<{ name: string }>;
					if (!columns.some((c) => c.name === column)) db.exec(`ALTER TABLE ${table} ADD COLUMN ${column} ${definition}`);
				}
			});
			this.statements = {
				claim: db.prepare(CLAIM_SQL),
				current: db.prepare(
					'SELECT state, outcome, reason, attempts FROM ledger WHERE event = ? AND scope = ? AND subject = ?',
				),
				settle: db.prepare(SETTLE_SQL),
				release: db.prepare(
					"UPDATE ledger SET lease_until = 0, updated_at = ? WHERE event = ? AND scope = ? AND subject = ? AND state = 'claimed'",
				),
				summaryAdd:
					db.prepare(`INSERT INTO summary (event, seen, invited, accepted, invalid, failed, withdrawn, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
					ON CONFLICT (event) DO UPDATE SET seen = seen + excluded.seen, invited = invited + excluded.invited,
					accepted = accepted + excluded.accepted, invalid = invalid + excluded.invalid, failed = failed + excluded.failed,
					withdrawn = withdrawn + excluded.withdrawn, updated_at = excluded.updated_at`),
			};
		} catch (error) {
			this.db?.close();
			this.db = null;
			throw wrap(error, 'open');
		}
	}

	async ping(): Promise<void> {
		this.database().prepare('SELECT 1').get();
	}

	async close(): Promise<void> {
		const db = this.db;
		this.db = null;
		this.statements = null;
		if (db?.isOpen) db.close();
	}

	async claim(rows: StoredClaim[], timing: ClaimTiming): Promise<BackendClaimResult[]> {
		const statements = this.prepared();
		return this.transaction(() =>
			rows.map((row): BackendClaimResult => {
				const won = statements.claim.get(
					row.event,
					row.scope,
					row.subject,
					row.mxid,
					row.order,
					row.ticket ?? null,
					row.sealed ?? null,
					timing.leaseUntil,
					timing.now,
					timing.now,
					timing.expiresAt,
				) as { attempts: number } | undefined;
				if (won)
					return {
						status: won.attempts === 1 ? 'new' : 'reclaimed',
						attempts: won.attempts,
						outcome: null,
						reason: null,
					};
				const current = statements.current.get(row.event, row.scope, row.subject) as {
					state: string;
					outcome: string | null;
					reason: string | null;
					attempts: number;
				};
				return {
					status: current.state === 'done' ? 'done' : 'leased',
					attempts: current.attempts,
					outcome: current.outcome as Outcome | null,
					reason: current.reason,
				};
			}),
		);
	}

	async settle(rows: StoredClaim[], settlement: Settlement): Promise<number> {
		const statements = this.prepared();
		return this.transaction(() => {
			let changed = 0;
			for (const row of rows) {
				if (settlement.kind === 'release') {
					changed += Number(
						statements.release.run(settlement.now, row.event, row.scope, row.subject).changes,
					);
					continue;
				}
				const state = settlement.kind === 'fail' && settlement.retryable ? 'retry' : 'done';
				statements.settle.run(
					row.event,
					row.scope,
					row.subject,
					row.mxid,
					row.order,
					row.ticket ?? null,
					row.sealed ?? null,
					state,
					settlement.outcome,
					settlement.reason,
					state === 'retry' ? (settlement.retryAt ?? 0) : 0,
					settlement.now,
					settlement.now,
					settlement.expiresAt,
				);
				changed += 1;
			}
			return changed;
		});
	}

	async setMapping(mapping: RoomMapping, now: number): Promise<boolean> {
		const result = this.database()
			.prepare(
				'INSERT INTO mapping (room, event, item, variation, created_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING',
			)
			.run(mapping.room, mapping.event, mapping.item ?? '', mapping.variation ?? '', now);
		return Number(result.changes) === 1;
	}

	async unsetMappings(filter: MappingFilter): Promise<number> {
		const where = mappingWhere(filter, () => '?');
		return Number(
			this.database()
				.prepare(`DELETE FROM mapping ${where.sql}`)
				.run(...where.values).changes,
		);
	}

	async moveRoom(oldRoom: string, newRoom: string, now: number): Promise<RoomMove> {
		const db = this.database();
		return this.transaction(() => {
			// `WHERE true` keeps SQLite from reading ON CONFLICT as part of the SELECT's join.
			db.prepare(
				'INSERT INTO mapping (room, event, item, variation, created_at) SELECT ?, event, item, variation, created_at FROM mapping WHERE room = ? AND true ON CONFLICT DO NOTHING',
			).run(newRoom, oldRoom);
			const mappings = Number(db.prepare('DELETE FROM mapping WHERE room = ?').run(oldRoom).changes);
			// The new room's own row for the same key wins: it is the newer fact about the room people
			// are in now. The old duplicate goes without entering the summary (it is the same grant).
			const merged = Number(
				db
					.prepare(
						'DELETE FROM ledger WHERE scope = ? AND EXISTS (SELECT 1 FROM ledger AS n WHERE n.event = ledger.event AND n.scope = ? AND n.subject = ledger.subject)',
					)
					.run(oldRoom, newRoom).changes,
			);
			// Nobody invited the old room's live grants into the new room yet: they become owed there.
			db.prepare(
				`UPDATE ledger SET state = 'retry', lease_until = 0, updated_at = ?, reason = CASE WHEN reason = 'preexisting' THEN ? ELSE ? END
				WHERE scope = ? AND state = 'done' AND outcome IN ('invited', 'accepted') AND ticket IS NOT NULL`,
			).run(now, UPGRADE_OWED_PREEXISTING, UPGRADE_OWED, oldRoom);
			const moved = Number(db.prepare('UPDATE ledger SET scope = ? WHERE scope = ?').run(newRoom, oldRoom).changes);
			return { mappings, rows: merged + moved };
		});
	}

	async listMappings(filter: MappingFilter): Promise<RoomMapping[]> {
		const where = mappingWhere(filter, () => '?');
		const rows = this.database()
			.prepare(`SELECT event, room, item, variation FROM mapping ${where.sql}`)
			.all(...where.values) as Array<Record<string, string>>;
		return rows.map((row) => ({
			event: row.event,
			room: row.room,
			item: row.item || null,
			variation: row.variation || null,
		}));
	}

	async stats(event: string, now: number): Promise<EventStats> {
		const db = this.database();
		const live = db
			.prepare(
				`SELECT ${STATS_SELECT} FROM ledger WHERE event = ? AND (expires_at IS NULL OR expires_at > ?)`,
			)
			.get(event, now) as unknown as EventCounts;
		const summary = db
			.prepare('SELECT seen, invited, accepted, invalid, failed, withdrawn FROM summary WHERE event = ?')
			.get(event) as Partial<EventCounts> | undefined;
		const stats: EventStats = { event, ...EMPTY_COUNTS, held: Number(live.seen) };
		addCounts(stats, live);
		if (summary) addCounts(stats, summary);
		return stats;
	}

	async getCursor(event: string, name: string): Promise<string | null> {
		const row = this.database()
			.prepare('SELECT value FROM cursor WHERE event = ? AND name = ?')
			.get(event, name) as { value: string } | undefined;
		return row?.value ?? null;
	}

	async setCursor(event: string, name: string, value: string, now: number): Promise<void> {
		this.database()
			.prepare(
				'INSERT INTO cursor (event, name, value, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (event, name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
			)
			.run(event, name, value, now);
	}

	async purgeEvent(
		event: string,
		options: { mappings: boolean },
		now: number,
	): Promise<PurgeCounts> {
		const db = this.database();
		const counts = this.transaction(() => {
			const ledger = this.deleteFolding('event = ?', [event], now);
			const cursors = Number(db.prepare('DELETE FROM cursor WHERE event = ?').run(event).changes);
			const mappings = options.mappings
				? Number(db.prepare(`DELETE FROM mapping WHERE event = ? OR event LIKE ? ESCAPE '!'`).run(event, `${likeEscape(event)}/%`).changes)
				: 0;
			return { ledger, cursors, mappings };
		});
		this.checkpoint();
		return counts;
	}

	async forget(person: PersonHashes, now: number): Promise<number> {
		const where = personWhere(person);
		const deleted = this.transaction(() => this.deleteFolding(where.sql, where.values, now));
		this.checkpoint();
		return deleted;
	}

	async lookup(person: PersonHashes, now: number): Promise<HeldRow[]> {
		const where = personWhere(person);
		const rows = this.database()
			.prepare(
				`SELECT * FROM ledger WHERE (${where.sql}) AND (expires_at IS NULL OR expires_at > ?) ORDER BY event, scope`,
			)
			.all(...where.values, now) as unknown as LedgerRowRecord[];
		return rows.map((row) => toHeldRow(row, person));
	}

	async sweepExpired(now: number): Promise<number> {
		const deleted = this.transaction(() =>
			this.deleteFolding('expires_at IS NOT NULL AND expires_at <= ?', [now], now),
		);
		if (deleted > 0) this.checkpoint();
		return deleted;
	}

	async grants(query: GrantQuery, now: number): Promise<GrantRow[]> {
		const where = grantWhere(
			query,
			() => '?',
			(_first, count) => Array.from({ length: count }, () => '?').join(', '),
		);
		const rows = this.database()
			.prepare(
				`SELECT * FROM ledger WHERE ${where.sql} AND (expires_at IS NULL OR expires_at > ?) ORDER BY event, scope, subject`,
			)
			.all(...where.values, now) as unknown as LedgerRowRecord[];
		return rows.map(toGrantRow);
	}

	async transition(rows: StoredKey[], transition: Transition): Promise<boolean[]> {
		const from = transitionFrom(transition);
		const outcomeClause =
			from.outcomes === null
				? ''
				: ` AND (${[from.outcomes.length ? `outcome IN (${from.outcomes.map(() => '?').join(', ')})` : '', from.nullOutcome ? 'outcome IS NULL' : ''].filter(Boolean).join(' OR ') || '0'})`;
		const sets = ['state = ?', 'lease_until = ?', 'updated_at = ?'];
		const setValues: Array<string | number | null> = [transition.toState, transition.leaseUntil, transition.now];
		if (transition.toOutcome !== undefined) {
			sets.push('outcome = ?');
			setValues.push(transition.toOutcome);
		}
		if (transition.toReason !== undefined) {
			sets.push('reason = ?');
			setValues.push(transition.toReason);
		}
		const statement = this.database().prepare(
			`UPDATE ledger SET ${sets.join(', ')} WHERE event = ? AND scope = ? AND subject = ?
			AND state IN (${from.states.map(() => '?').join(', ')})${outcomeClause}
			AND (expires_at IS NULL OR expires_at > ?)`,
		);
		return this.transaction(() =>
			rows.map(
				(row) =>
					Number(
						statement.run(
							...setValues,
							row.event,
							row.scope,
							row.subject,
							...from.states,
							...(from.outcomes ?? []),
							transition.now,
						).changes,
					) === 1,
			),
		);
	}

	async existing(keys: StoredKey[], now: number): Promise<boolean[]> {
		const statement = this.database().prepare(
			'SELECT 1 AS found FROM ledger WHERE event = ? AND scope = ? AND subject = ? AND (expires_at IS NULL OR expires_at > ?)',
		);
		return keys.map((key) => statement.get(key.event, key.scope, key.subject, now) !== undefined);
	}

	/**
	 * Moves the write-ahead log into the file and truncates it, so deleted rows survive in neither
	 * (with secure_delete, their pages are zeroed). Skipped silently while another process reads.
	 */
	private checkpoint(): void {
		if (this.options.path === ':memory:') return;
		this.database().exec('PRAGMA wal_checkpoint(TRUNCATE)');
	}

	/** Deletes matching ledger rows after adding their counts to the summary; inside a transaction. */
	private deleteFolding(where: string, values: Array<string | number>, now: number): number {
		const db = this.database();
		const groups = db
			.prepare(
				`SELECT event, state, outcome, count(*) AS n FROM ledger WHERE ${where} GROUP BY event, state, outcome`,
			)
			.all(...values) as unknown as GroupRow[];
		if (groups.length === 0) return 0;
		for (const [event, counts] of foldGroups(groups)) {
			this.prepared().summaryAdd.run(
				event,
				counts.seen,
				counts.invited,
				counts.accepted,
				counts.invalid,
				counts.failed,
				counts.withdrawn,
				now,
			);
		}
		return Number(db.prepare(`DELETE FROM ledger WHERE ${where}`).run(...values).changes);
	}

	private transaction<T>(work: () => T): T {
		const db = this.database();
		try {
			db.exec('BEGIN IMMEDIATE');
		} catch (error) {
			throw wrap(error, 'lock');
		}
		try {
			const result = work();
			db.exec('COMMIT');
			return result;
		} catch (error) {
			try {
				db.exec('ROLLBACK');
			} catch {
				// The transaction is already gone; the original error matters.
			}
			throw wrap(error, 'write');
		}
	}

	private database(): DatabaseSyncType {
		if (!this.db || !this.db.isOpen)
			throw new LedgerBackendError('The embedded store is closed', 'CLOSED');
		return this.db;
	}

	private prepared(): Statements {
		this.database();
		return this.statements!;
	}
}

function personWhere(person: PersonHashes): { sql: string; values: string[] } {
	const clauses: string[] = [];
	const values: string[] = [];
	const add = (column: string, hashes: string[]) => {
		if (hashes.length === 0) return;
		clauses.push(`${column} IN (${hashes.map(() => '?').join(', ')})`);
		values.push(...hashes);
	};
	add('mxid', person.mxid);
	add('ord', person.order);
	add('subject', person.subject);
	let sql = clauses.length ? `(${clauses.join(' OR ')})` : '0';
	if (person.events) {
		sql += person.events.length ? ` AND event IN (${person.events.map(() => '?').join(', ')})` : ' AND 0';
		values.push(...person.events);
	}
	return { sql, values };
}

function wrap(error: unknown, stage: 'open' | 'lock' | 'write'): LedgerBackendError {
	if (error instanceof LedgerBackendError) return error;
	const err = error as { errcode?: number; errstr?: string; code?: string };
	const busy = err?.errcode === 5 || err?.errcode === 6;
	if (busy)
		return new LedgerBackendError(
			'The embedded store is locked by another process; try again',
			'SQLITE_BUSY',
		);
	const detail = err?.errstr ?? err?.code ?? 'unknown error';
	const what =
		stage === 'open' ? 'Could not open the embedded store' : 'The embedded store refused the write';
	return new LedgerBackendError(
		`${what} (${detail})`,
		stage === 'open' ? 'OPEN_FAILED' : 'WRITE_FAILED',
	);
}
