/**
 * The ledger contract. `Ledger` (ledger.ts) validates input and turns subjects, Matrix IDs and
 * order codes into keyed hashes; a `LedgerBackend` only ever sees those hashes, never plaintext.
 * Every backend (sqlite.ts, postgres.ts, redis.ts) must pass test/unit/store/contract.test.ts.
 */

export type BackendKind = 'embedded' | 'postgres' | 'redis';

/**
 * invited and accepted count as invited; accepted is recorded when the attendee joined; withdrawn:
 * a ticket's grant was taken back (the ticket was canceled, or its Matrix ID answer changed).
 */
export type Outcome = 'invited' | 'invalid' | 'failed' | 'accepted' | 'withdrawn';

/** claimed: leased to a run; done: settled; retry: failed and may be claimed again. */
export type RowState = 'claimed' | 'done' | 'retry';

export interface StoredKey {
	event: string;
	scope: string;
	/** Keyed hash of the subject. */
	subject: string;
}

export interface StoredClaim extends StoredKey {
	/** Keyed hash of the attendee's Matrix ID, when given (enables forget/lookup by Matrix ID). */
	mxid: string | null;
	/** Keyed hash of the order code, when given. */
	order: string | null;
	/** Keyed hash of the ticket position that led to this row (ticket grants only). */
	ticket?: string | null;
	/**
	 * The Matrix ID, encrypted under the ledger secret (ticket grants only): withdrawing a grant
	 * after the answer changed must name the old ID, which no hash can give back. Deleted with the row.
	 */
	sealed?: string | null;
}

/**
 * new / reclaimed: this call won the key (reclaimed = an expired lease or a retryable failure).
 * leased: another run holds an unexpired lease. done: settled earlier (see outcome).
 * duplicate: the same key appeared earlier in the same call.
 */
export type ClaimStatus = 'new' | 'reclaimed' | 'leased' | 'done' | 'duplicate';

export interface BackendClaimResult {
	status: Exclude<ClaimStatus, 'duplicate'>;
	attempts: number;
	outcome: Outcome | null;
	reason: string | null;
}

export interface ClaimTiming {
	now: number;
	leaseUntil: number;
	/** Retention: when the row may be deleted, or null to keep until purged. */
	expiresAt: number | null;
}

export type SettleKind = 'complete' | 'fail' | 'release';

export interface Settlement {
	kind: SettleKind;
	/** fail + retryable only: the row may be claimed again from this time on (0: at once). */
	retryAt?: number;
	/** complete: invited | invalid | accepted; fail: failed; release: null. */
	outcome: Outcome | null;
	reason: string | null;
	/** fail only: the row may be claimed again by a later run. */
	retryable: boolean;
	now: number;
	expiresAt: number | null;
}

export interface RoomMapping {
	event: string;
	room: string;
	/** pretix item id filter, or null for every item. */
	item: string | null;
	/** pretix variation id filter, or null for every variation. */
	variation: string | null;
}

/** What `moveRoom` changed: the old room's mappings and ledger rows, now the new room's. */
export interface RoomMove {
	/** Mappings of the old room removed; each now exists for the new room (once). */
	mappings: number;
	/** Ledger rows of the old room now under the new room (or merged into its row for the same key). */
	rows: number;
}

/**
 * Reason of a ticket grant that was live (invited or accepted) in a room that has since been
 * upgraded: the row now names the replacement room, but nobody invited the person there yet. Such a
 * row is in state `retry` (claimable: a batch or webhook invites the person into the new room) and
 * keeps its outcome (the ticket still grants the room: a revocation still withdraws it). The
 * `:preexisting` form keeps that the membership predates any ticket (never withdrawn by one).
 */
export const UPGRADE_OWED = 'roomUpgrade';
export const UPGRADE_OWED_PREEXISTING = 'roomUpgrade:preexisting';

export interface MappingFilter {
	room?: string;
	event?: string;
	/** When given (also null), only mappings with exactly this item filter. */
	item?: string | null;
	variation?: string | null;
}

export interface EventCounts {
	/** Rows (subject × scope) ever claimed or recorded for the event. */
	seen: number;
	/** Claimed and not settled yet. */
	pending: number;
	/** invited or accepted. */
	invited: number;
	accepted: number;
	invalid: number;
	failed: number;
	/** Grants taken back (ticket canceled, answer changed). */
	withdrawn: number;
}

export interface EventStats extends EventCounts {
	event: string;
	/** Rows currently held (the rest are in the personal-data-free summary after purge/forget/expiry). */
	held: number;
}

export interface PurgeCounts {
	ledger: number;
	cursors: number;
	mappings: number;
}

export interface PersonHashes {
	mxid: string[];
	order: string[];
	subject: string[];
	/** Only rows of these events (a room moderator's scope); undefined: every event. */
	events?: string[];
}

export interface HeldRow {
	event: string;
	scope: string;
	state: RowState;
	outcome: Outcome | null;
	reason: string | null;
	attempts: number;
	createdAt: number;
	updatedAt: number;
	expiresAt: number | null;
	matchedBy: Array<'matrixId' | 'orderCode' | 'subject'>;
}

/** Which ledger rows a `grants` query returns (all given conditions must hold). */
export interface GrantQuery {
	event?: string;
	/** Rows of any of these ticket hashes. */
	tickets?: string[];
	scope?: string;
	mxid?: string;
}

/** A ledger row as the ticket planner needs it. */
export interface GrantRow extends StoredKey {
	ticket: string | null;
	mxid: string | null;
	order: string | null;
	sealed: string | null;
	state: RowState;
	outcome: Outcome | null;
	reason: string | null;
	leaseUntil: number;
	updatedAt: number;
}

/**
 * A conditional state change: only rows whose current state (and outcome, when `fromOutcomes` is
 * given) match move, atomically per row. Fields left undefined keep their value.
 */
export interface Transition {
	fromStates: RowState[];
	fromOutcomes?: Array<Outcome | null>;
	toState: RowState;
	toOutcome?: Outcome | null;
	toReason?: string | null;
	/** claimed: the lease; retry: not claimable before. */
	leaseUntil: number;
	now: number;
}

export interface LedgerBackend {
	readonly kind: BackendKind;
	/** Creates tables / loads scripts; idempotent, safe to run from several processes at once. */
	init(): Promise<void>;
	ping(): Promise<void>;
	close(): Promise<void>;
	/** Rows arrive de-duplicated and sorted; one result per row, in order. */
	claim(rows: StoredClaim[], timing: ClaimTiming): Promise<BackendClaimResult[]>;
	/** Returns how many rows were changed (complete/fail upsert; release only touches claimed rows). */
	settle(rows: StoredClaim[], settlement: Settlement): Promise<number>;
	/** True when the mapping was new. */
	setMapping(mapping: RoomMapping, now: number): Promise<boolean>;
	unsetMappings(filter: MappingFilter): Promise<number>;
	listMappings(filter: MappingFilter): Promise<RoomMapping[]>;
	/**
	 * A room upgrade (m.room.tombstone): in one atomic step, every mapping of `oldRoom` becomes one of
	 * `newRoom` and every ledger row whose scope is `oldRoom` moves to scope `newRoom`. Where the new
	 * room already has the same mapping or a row under the same key, that one stays and the old one
	 * goes. Moved ticket grants (rows with a ticket hash) that were live — done, invited or accepted —
	 * become owed in the new room: state `retry`, lease 0, reason UPGRADE_OWED (UPGRADE_OWED_PREEXISTING
	 * when their reason was `preexisting`), outcome kept. Running it again changes nothing.
	 */
	moveRoom(oldRoom: string, newRoom: string, now: number): Promise<RoomMove>;
	stats(event: string, now: number): Promise<EventStats>;
	getCursor(event: string, name: string): Promise<string | null>;
	setCursor(event: string, name: string, value: string, now: number): Promise<void>;
	purgeEvent(event: string, options: { mappings: boolean }, now: number): Promise<PurgeCounts>;
	/** Deletes every row matching any hash; their counts move into the summary. */
	forget(person: PersonHashes, now: number): Promise<number>;
	lookup(person: PersonHashes, now: number): Promise<HeldRow[]>;
	/** Deletes rows past their retention time (counts move into the summary). */
	sweepExpired(now: number): Promise<number>;
	/** Rows matching the query that are not past their retention time. */
	grants(query: GrantQuery, now: number): Promise<GrantRow[]>;
	/** Applies the transition to each row; true where the row matched and moved. */
	transition(rows: StoredKey[], transition: Transition): Promise<boolean[]>;
	/** Whether a row is stored under each key (expired rows count as absent). */
	existing(keys: StoredKey[], now: number): Promise<boolean[]>;
}

export const EMPTY_COUNTS: Readonly<EventCounts> = {
	seen: 0,
	pending: 0,
	invited: 0,
	accepted: 0,
	invalid: 0,
	failed: 0,
	withdrawn: 0,
};

/** How one ledger row contributes to the aggregate counts. */
export function countRow(counts: EventCounts, state: string, outcome: string | null): void {
	counts.seen += 1;
	if (state === 'claimed') counts.pending += 1;
	if (outcome === 'invited' || outcome === 'accepted') counts.invited += 1;
	if (outcome === 'accepted') counts.accepted += 1;
	if (outcome === 'invalid') counts.invalid += 1;
	if (outcome === 'failed') counts.failed += 1;
	if (outcome === 'withdrawn') counts.withdrawn += 1;
}

export function addCounts(target: EventCounts, source: Partial<EventCounts>): void {
	for (const key of Object.keys(EMPTY_COUNTS) as Array<keyof EventCounts>) {
		target[key] += Number(source[key] ?? 0);
	}
}

const NETWORK_WORDS: Record<string, string> = {
	ECONNREFUSED: 'connection refused',
	ECONNRESET: 'connection reset',
	ENOTFOUND: 'host name not found',
	EAI_AGAIN: 'host name lookup failed',
	ETIMEDOUT: 'timed out',
	EHOSTUNREACH: 'host unreachable',
	ENETUNREACH: 'network unreachable',
	EPIPE: 'connection broken',
};

/**
 * Words for a network error code. Messages say these instead of the raw code because n8n replaces
 * any error message that contains e.g. "ECONNREFUSED" with a generic sentence naming no backend.
 */
export function networkProblem(code: string): string | undefined {
	return NETWORK_WORDS[code];
}

/** Backend trouble (unreachable, closed, query failed). Messages never carry stored values. */
export class LedgerBackendError extends Error {
	readonly code: string;

	constructor(message: string, code: string) {
		super(message);
		this.name = 'LedgerBackendError';
		this.code = code;
	}
}

/** Bad input to a ledger operation; `index` is the offending entry of a batch, when known. */
export class LedgerInputError extends Error {
	readonly index: number | undefined;

	constructor(message: string, index?: number) {
		super(message);
		this.name = 'LedgerInputError';
		this.index = index;
	}
}
