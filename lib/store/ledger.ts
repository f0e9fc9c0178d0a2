import { canonicalMatrixId, canonicalOrderCode, SubjectHasher } from './hashing';
import { parseRoomRef } from '../matrix/ids';
import { Sealer } from './sealing';
import {
	LedgerInputError,
	type ClaimStatus,
	type EventStats,
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
} from './types';

/**
 * The ledger as nodes use it: validates input, hashes everything personal, de-duplicates and
 * orders batches (a fixed order keeps concurrent writers from deadlocking), then calls the backend.
 */

export interface LedgerOptions {
	/** HMAC secret from the credential. */
	secret: string;
	/**
	 * The secret used before, during a rotation: rows written under it are still found, claimed and
	 * settled under their old keys (so changing the secret never re-invites or double-counts).
	 */
	previousSecret?: string;
	/** Rows expire this many days after their last change; null/0 keeps them until purged. */
	retentionDays?: number | null;
	/** Clock, for tests. */
	now?: () => number;
}

export interface LedgerEntryInput {
	event: unknown;
	scope?: unknown;
	subject: unknown;
	matrixId?: unknown;
	orderCode?: unknown;
}

export interface ClaimResult {
	status: ClaimStatus;
	/** True when this call won the key (status new or reclaimed). */
	claimed: boolean;
	attempts: number;
	outcome: Outcome | null;
	reason: string | null;
}

export interface RoomQuery {
	event: unknown;
	item?: unknown;
	variation?: unknown;
	/** The date of an event series the ticket is for (pretix sub-event id). */
	subevent?: unknown;
	/** The parent position when the ticket is an add-on. */
	addonTo?: unknown;
}

export interface PersonInput {
	matrixId?: unknown;
	orderCode?: unknown;
}

/**
 * Longer than Matrix Invite's default time budget (600 s) plus the run around it: a slow but live run
 * must never lose its claim to another run while it is still inviting.
 */
export const DEFAULT_LEASE_SECONDS = 900;
const MAX_LEASE_SECONDS = 7 * 24 * 3600;
const DAY_MS = 24 * 3600 * 1000;
const SWEEP_INTERVAL_MS = 10 * 60 * 1000;
const REASON = /^[A-Za-z0-9_.:-]{1,100}$/;
// Control characters in names would break logs and key layouts.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export class Ledger {
	readonly backend: LedgerBackend;
	private readonly hasher: SubjectHasher;
	private readonly sealer: Sealer;
	private readonly previousSealer?: Sealer;
	/** The previous secret's hasher, to name a row's key as it was written before a rotation. */
	private readonly previousHasher?: SubjectHasher;
	private readonly retentionMs: number | null;
	private readonly now: () => number;
	private lastSweep = 0;

	constructor(backend: LedgerBackend, options: LedgerOptions) {
		this.backend = backend;
		this.hasher = new SubjectHasher(options.secret, { previousSecret: options.previousSecret });
		this.sealer = new Sealer(options.secret);
		this.previousSealer = this.hasher.rotating && options.previousSecret ? new Sealer(options.previousSecret) : undefined;
		this.previousHasher = this.hasher.rotating && options.previousSecret ? SubjectHasher.unchecked(options.previousSecret) : undefined;
		const days = Number(options.retentionDays ?? 0);
		if (!Number.isFinite(days) || days < 0)
			throw new LedgerInputError('Retention days must be zero or a positive number');
		this.retentionMs = days > 0 ? days * DAY_MS : null;
		this.now = options.now ?? Date.now;
	}

	get kind() {
		return this.backend.kind;
	}

	async claim(
		entries: LedgerEntryInput[],
		options: { leaseSeconds?: number } = {},
	): Promise<ClaimResult[]> {
		const leaseSeconds = options.leaseSeconds ?? DEFAULT_LEASE_SECONDS;
		if (!Number.isFinite(leaseSeconds) || leaseSeconds < 1 || leaseSeconds > MAX_LEASE_SECONDS) {
			throw new LedgerInputError(
				`The lease must be between 1 second and ${MAX_LEASE_SECONDS} seconds`,
			);
		}
		const rows = await this.resolveKeys(entries.map((entry, index) => this.toStored(entry, index)), entries);
		await this.maybeSweep();
		const now = this.now();
		const { unique, positions } = uniqueSorted(rows);
		const results = await this.backend.claim(unique, {
			now,
			leaseUntil: now + Math.round(leaseSeconds * 1000),
			expiresAt: this.expiresAt(now),
		});
		const seenInCall = new Set<number>();
		return positions.map((position) => {
			const result = results[position];
			if (seenInCall.has(position)) {
				return {
					status: 'duplicate',
					claimed: false,
					attempts: result.attempts,
					outcome: null,
					reason: null,
				};
			}
			seenInCall.add(position);
			return { ...result, claimed: result.status === 'new' || result.status === 'reclaimed' };
		});
	}

	/** Throws the LedgerInputError a claim of this entry would throw; writes nothing. */
	validate(entry: LedgerEntryInput): void {
		this.toStored(entry, 0);
	}

	async complete(
		entries: LedgerEntryInput[],
		outcome: 'invited' | 'invalid' | 'accepted',
		reason?: unknown,
	): Promise<number> {
		if (outcome !== 'invited' && outcome !== 'invalid' && outcome !== 'accepted') {
			throw new LedgerInputError('The outcome must be invited, invalid or accepted');
		}
		return this.settle(entries, {
			kind: 'complete',
			outcome,
			reason: this.reason(reason),
			retryable: false,
		});
	}

	async fail(
		entries: LedgerEntryInput[],
		reason: unknown,
		options: { retryable?: boolean } = {},
	): Promise<number> {
		return this.settle(entries, {
			kind: 'fail',
			outcome: 'failed',
			reason: this.reason(reason),
			retryable: options.retryable === true,
		});
	}

	/** Gives claimed keys back so the next claim wins them at once (nothing is recorded). */
	async release(entries: LedgerEntryInput[]): Promise<number> {
		return this.settle(entries, { kind: 'release', outcome: null, reason: null, retryable: false });
	}

	async setMapping(input: {
		event: unknown;
		room: unknown;
		item?: unknown;
		variation?: unknown;
	}): Promise<{ created: boolean; mapping: RoomMapping }> {
		const mapping: RoomMapping = {
			event: text(input.event, 'event', 200),
			room: roomText(input.room),
			item: filterValue(input.item, 'item'),
			variation: filterValue(input.variation, 'variation'),
		};
		const created = await this.backend.setMapping(mapping, this.now());
		return { created, mapping };
	}

	/** Without a room, removes the event's mappings; without an event, every mapping of the room. */
	async unsetMappings(input: {
		event?: unknown;
		room?: unknown;
		item?: unknown;
		variation?: unknown;
	}): Promise<number> {
		const filter = this.mappingFilter(input);
		if (filter.event === undefined && filter.room === undefined) {
			throw new LedgerInputError('Give an event, a room, or both, to remove mappings');
		}
		return this.backend.unsetMappings(filter);
	}

	async listMappings(input: { event?: unknown; room?: unknown } = {}): Promise<RoomMapping[]> {
		const mappings = await this.backend.listMappings(this.mappingFilter(input));
		return mappings.sort(compareMappings);
	}

	/**
	 * A room upgrade (m.room.tombstone names the replacement room): the old room's mappings and
	 * ledger rows follow it to the new room, so people invited into the old room are not invited
	 * again and a later withdrawal kicks them from the room they are in now. Every row of the old
	 * room moves, whichever event it belongs to: an upgrade replaces the room for everyone in it, and
	 * a row left behind would both re-invite its holder into the new room and withdraw them from a
	 * dead one. Both rooms must be room IDs (a tombstone names room IDs; an alias moves by itself).
	 */
	async moveRoom(input: { oldRoom: unknown; newRoom: unknown }): Promise<RoomMove & { oldRoom: string; newRoom: string }> {
		const oldRoom = roomIdText(input.oldRoom, 'old room');
		const newRoom = roomIdText(input.newRoom, 'new room');
		if (oldRoom === newRoom) throw new LedgerInputError('The old and the new room are the same room');
		const moved = await this.backend.moveRoom(oldRoom, newRoom, this.now());
		return { oldRoom, newRoom, ...moved };
	}

	/**
	 * The rooms an attendee belongs in. A mapping's event is `<organizer>/<event>` (every date) or
	 * `<organizer>/<event>/<date id>` (one date of an event series). A mapping without item filter
	 * matches the event's tickets but not their add-ons (a workshop booked with a ticket is the same
	 * person); a filtered one matches positions of that item (add-ons included) and variation. No
	 * match means no rooms: never all of the event's rooms.
	 */
	async resolveRooms(input: RoomQuery): Promise<string[]> {
		return (await this.roomResolver())(input);
	}

	/** Like resolveRooms for many attendees: each event's mappings are read once. */
	async roomResolver(): Promise<(input: RoomQuery) => Promise<string[]>> {
		const cache = new Map<string, Promise<RoomMapping[]>>();
		const mappingsOf = (event: string) => {
			let found = cache.get(event);
			if (!found) cache.set(event, (found = this.backend.listMappings({ event })));
			return found;
		};
		return async (input) => {
			const event = text(input.event, 'event', 200);
			const item = filterValue(input.item, 'item');
			const variation = filterValue(input.variation, 'variation');
			const subevent = filterValue(input.subevent, 'date (sub-event)');
			const isAddon = filterValue(input.addonTo, 'add-on parent') !== null;
			const mappings = [...(await mappingsOf(event)), ...(subevent ? await mappingsOf(`${event}/${subevent}`) : [])];
			const rooms = new Set<string>();
			for (const mapping of mappings.sort(compareMappings)) {
				if (mapping.item === null && isAddon) continue;
				if (mapping.item !== null && mapping.item !== item) continue;
				if (mapping.variation !== null && mapping.variation !== variation) continue;
				rooms.add(mapping.room);
			}
			return [...rooms];
		};
	}

	async stats(event: unknown): Promise<EventStats> {
		await this.maybeSweep();
		return this.backend.stats(text(event, 'event', 200), this.now());
	}

	async getCursor(event: unknown, name: unknown = 'default'): Promise<string | null> {
		return this.backend.getCursor(text(event, 'event', 200), text(name, 'cursor name', 100));
	}

	async setCursor(event: unknown, name: unknown, value: unknown): Promise<void> {
		if (typeof value !== 'string' || value.length > 10_000) {
			throw new LedgerInputError('The cursor value must be text of at most 10000 characters');
		}
		await this.backend.setCursor(
			text(event, 'event', 200),
			text(name, 'cursor name', 100),
			value,
			this.now(),
		);
	}

	/** Deletes the event's ledger rows and cursors (and mappings if asked); the counts stay as a summary. */
	async purgeEvent(event: unknown, options: { mappings?: boolean } = {}): Promise<PurgeCounts> {
		return this.backend.purgeEvent(
			text(event, 'event', 200),
			{ mappings: options.mappings === true },
			this.now(),
		);
	}

	/** GDPR erasure: every row recorded for this Matrix ID or order code (or with it as subject). */
	async forget(person: PersonInput, scope: { events?: unknown[] } = {}): Promise<number> {
		return this.backend.forget(this.scoped(this.personHashes(person), scope), this.now());
	}

	/** GDPR access: what is held for this Matrix ID or order code. */
	async lookup(person: PersonInput, scope: { events?: unknown[] } = {}): Promise<HeldRow[]> {
		return this.backend.lookup(this.scoped(this.personHashes(person), scope), this.now());
	}

	/** A person query limited to some events (a room moderator's); undefined events: all. */
	private scoped(hashes: PersonHashes, scope: { events?: unknown[] }): PersonHashes {
		if (scope.events === undefined) return hashes;
		if (!Array.isArray(scope.events)) throw new LedgerInputError('The events to look in must be a list');
		return { ...hashes, events: scope.events.map((event) => text(event, 'event', 200)) };
	}

	async sweepExpired(): Promise<number> {
		this.lastSweep = this.now();
		return this.backend.sweepExpired(this.lastSweep);
	}

	ping(): Promise<void> {
		return this.backend.ping();
	}

	/** The clock the ledger runs on (ms). */
	time(): number {
		return this.now();
	}

	/** When a row changed now may be deleted (retention), or null. */
	retentionFrom(now: number): number | null {
		return this.expiresAt(now);
	}

	/**
	 * A ticket grant row (tickets.ts): scope = room, subject = `<ticket>:<Matrix ID>`, with the keyed
	 * hashes of the ticket, Matrix ID and order code, and the Matrix ID sealed for a later withdrawal.
	 */
	grantRow(input: {
		event: string;
		scope: string;
		subject: string;
		ticket: string;
		userId: string | null;
		orderCode?: string | null;
	}): StoredClaim {
		const row = this.toStored(
			{
				event: input.event,
				scope: input.scope,
				subject: input.subject,
				matrixId: input.userId ?? undefined,
				orderCode: input.orderCode ?? undefined,
			},
			0,
		);
		return {
			...row,
			ticket: this.ticketHash(input.ticket),
			sealed: input.userId ? this.sealer.seal(input.userId) : null,
		};
	}

	ticketHash(ticket: string): string {
		// Tickets share the subject key under their own namespace, so a ticket hash never equals
		// the hash of a subject.
		return this.hasher.subject(`ticket\u0000${ticket}`);
	}

	/** The ticket's hash under the current secret and, during a rotation, the previous one. */
	ticketHashes(ticket: string): string[] {
		return this.hasher.subjects(`ticket\u0000${ticket}`);
	}

	matrixIdHash(userId: string): string {
		return this.hasher.matrixId(userId);
	}

	matrixIdHashes(userId: string): string[] {
		return this.hasher.matrixIds(userId);
	}

	/**
	 * A ledger row for an entry (its subject, Matrix ID and order code as keyed hashes), as claim and
	 * settle store it; for the self-service rows of codes.ts. Throws LedgerInputError on bad input.
	 */
	entryRow(entry: LedgerEntryInput): StoredClaim {
		return this.toStored(entry, 0);
	}

	/** Encrypts a value under the ledger secret for a row's `sealed` column (unseal reads it back). */
	seal(value: string): string {
		return this.sealer.seal(value);
	}

	/** The Matrix ID sealed in a grant row, or null when it cannot be read under these secrets. */
	unseal(sealed: string | null): string | null {
		if (!sealed) return null;
		return this.sealer.unseal(sealed) ?? this.previousSealer?.unseal(sealed) ?? null;
	}

	/**
	 * During a rotation: each row whose key exists only under the previous secret is used under that
	 * old key (the ledger keeps one row per key, whichever secret wrote it). `plainSubjects[i]` is the
	 * subject text of `rows[i]`. Without a previous secret the rows come back unchanged.
	 */
	async resolveKeys(rows: StoredClaim[], plainSubjects: Array<{ subject?: unknown } | string>): Promise<StoredClaim[]> {
		const previous = this.previousHasher;
		if (!previous || rows.length === 0) return rows;
		const now = this.now();
		const old = rows.map((row, i) => {
			const plain = plainSubjects[i];
			const text = typeof plain === 'string' ? plain : String(plain?.subject ?? '');
			return { ...row, subject: previous.subject(text) };
		});
		const [currentExists, oldExists] = await Promise.all([this.backend.existing(rows, now), this.backend.existing(old, now)]);
		return rows.map((row, i) => (!currentExists[i] && oldExists[i] ? old[i] : row));
	}

	close(): Promise<void> {
		return this.backend.close();
	}

	private async settle(
		entries: LedgerEntryInput[],
		settlement: Omit<Settlement, 'now' | 'expiresAt'>,
	): Promise<number> {
		const rows = await this.resolveKeys(entries.map((entry, index) => this.toStored(entry, index)), entries);
		const { unique } = uniqueSorted(rows);
		const now = this.now();
		return this.backend.settle(unique, { ...settlement, now, expiresAt: this.expiresAt(now) });
	}

	/** Retention is enforced even if nobody runs a purge: expired rows go at most every 10 minutes. */
	private async maybeSweep(): Promise<void> {
		if (this.retentionMs === null) return;
		const now = this.now();
		if (now - this.lastSweep < SWEEP_INTERVAL_MS) return;
		this.lastSweep = now;
		await this.backend.sweepExpired(now);
	}

	private expiresAt(now: number): number | null {
		return this.retentionMs === null ? null : now + this.retentionMs;
	}

	private reason(reason: unknown): string | null {
		if (reason === undefined || reason === null || reason === '') return null;
		if (typeof reason !== 'string' || !REASON.test(reason)) {
			throw new LedgerInputError(
				'The reason must be a short code (letters, digits, _ . : -), not free text',
			);
		}
		return reason;
	}

	private toStored(entry: LedgerEntryInput, index: number): StoredClaim {
		if (!entry || typeof entry !== 'object')
			throw new LedgerInputError('Each entry needs an event and a subject', index);
		const subject = entry.subject;
		if (subject === undefined || subject === null || subject === '') {
			throw new LedgerInputError('The subject is missing', index);
		}
		if (typeof subject !== 'string' && !(typeof subject === 'number' && Number.isFinite(subject))) {
			throw new LedgerInputError('The subject must be text or a number', index);
		}
		const subjectText = String(subject);
		if (subjectText.length > 2048)
			throw new LedgerInputError('The subject is longer than 2048 characters', index);
		return {
			event: text(entry.event, 'event', 200, index),
			scope:
				entry.scope === undefined || entry.scope === null
					? ''
					: text(entry.scope, 'scope', 300, index, true),
			subject: this.hasher.subject(subjectText),
			mxid: optionalText(entry.matrixId, 'Matrix ID', index, (value) =>
				this.hasher.matrixId(value),
			),
			order: optionalText(entry.orderCode, 'order code', index, (value) =>
				this.hasher.orderCode(value),
			),
		};
	}

	private personHashes(person: PersonInput): PersonHashes {
		const hashes: PersonHashes = { mxid: [], order: [], subject: [] };
		const matrixId = optionalText(person?.matrixId, 'Matrix ID', undefined, (value) => value);
		const orderCode = optionalText(person?.orderCode, 'order code', undefined, (value) => value);
		if (matrixId === null && orderCode === null)
			throw new LedgerInputError('Give a Matrix ID or an order code');
		// Every hash a value may be stored under (during a rotation: the previous secret's too).
		if (matrixId !== null) {
			hashes.mxid.push(...this.hasher.matrixIds(matrixId));
			// The Matrix ID may itself have been the subject, as typed or normalised.
			for (const candidate of new Set([matrixId, matrixId.trim(), canonicalMatrixId(matrixId)])) {
				hashes.subject.push(...this.hasher.subjects(candidate));
			}
		}
		if (orderCode !== null) {
			hashes.order.push(...this.hasher.orderCodes(orderCode));
			for (const candidate of new Set([orderCode, canonicalOrderCode(orderCode)])) {
				hashes.subject.push(...this.hasher.subjects(candidate));
			}
		}
		return hashes;
	}

	private mappingFilter(input: {
		event?: unknown;
		room?: unknown;
		item?: unknown;
		variation?: unknown;
	}): MappingFilter {
		const filter: MappingFilter = {};
		if (input.event !== undefined && input.event !== null && input.event !== '')
			filter.event = text(input.event, 'event', 200);
		if (input.room !== undefined && input.room !== null && input.room !== '')
			filter.room = roomText(input.room);
		if ('item' in input && input.item !== undefined) filter.item = filterValue(input.item, 'item');
		if ('variation' in input && input.variation !== undefined)
			filter.variation = filterValue(input.variation, 'variation');
		return filter;
	}
}

function uniqueSorted(rows: StoredClaim[]): { unique: StoredClaim[]; positions: number[] } {
	const keyOf = (row: StoredClaim) => `${row.event}\u0000${row.scope}\u0000${row.subject}`;
	const byKey = new Map<string, StoredClaim>();
	for (const row of rows) {
		const key = keyOf(row);
		const existing = byKey.get(key);
		if (!existing) byKey.set(key, { ...row });
		else {
			// Later duplicates may add the person hashes the first one lacked.
			existing.mxid ??= row.mxid;
			existing.order ??= row.order;
		}
	}
	const keys = [...byKey.keys()].sort();
	const index = new Map(keys.map((key, i) => [key, i]));
	return {
		unique: keys.map((key) => byKey.get(key)!),
		positions: rows.map((row) => index.get(keyOf(row))!),
	};
}

/**
 * A mapping's room: a matrix.to or matrix: room link is kept as the room ID or alias it names, so
 * a room mapped by link is found, listed and unmapped by its ID like any other.
 */
function roomText(value: unknown): string {
	const room = text(value, 'room', 300);
	const parsed = parseRoomRef(room);
	return parsed.ok ? parsed.room : room;
}

/** A room ID (`!opaque:server`, or a link naming one), as a room upgrade names both rooms. */
function roomIdText(value: unknown, what: string): string {
	const room = text(value, what, 300);
	const parsed = parseRoomRef(room);
	const id = parsed.ok ? parsed.room : room;
	if (!id.startsWith('!')) throw new LedgerInputError(`The ${what} must be a room ID (!…:server)`);
	return id;
}

function text(
	value: unknown,
	what: string,
	max: number,
	index?: number,
	allowEmpty = false,
): string {
	if (typeof value === 'number' && Number.isFinite(value)) value = String(value);
	if (typeof value !== 'string') throw new LedgerInputError(`The ${what} must be text`, index);
	if (!allowEmpty && value.length === 0)
		throw new LedgerInputError(`The ${what} is missing`, index);
	if (value.length > max)
		throw new LedgerInputError(`The ${what} is longer than ${max} characters`, index);
	if (CONTROL.test(value))
		throw new LedgerInputError(`The ${what} contains control characters`, index);
	return value;
}

function optionalText(
	value: unknown,
	what: string,
	index: number | undefined,
	map: (value: string) => string,
): string | null {
	if (value === undefined || value === null || value === '') return null;
	if (typeof value !== 'string') throw new LedgerInputError(`The ${what} must be text`, index);
	if (value.trim() === '') return null;
	if (value.length > 2048)
		throw new LedgerInputError(`The ${what} is longer than 2048 characters`, index);
	return map(value);
}

function filterValue(value: unknown, what: string): string | null {
	if (value === undefined || value === null || value === '') return null;
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	if (typeof value === 'string' && value.length <= 50 && !CONTROL.test(value))
		return value.trim() || null;
	throw new LedgerInputError(`The ${what} filter must be an id (text or number)`);
}

function compareMappings(a: RoomMapping, b: RoomMapping): number {
	return (
		a.event.localeCompare(b.event) ||
		a.room.localeCompare(b.room) ||
		(a.item ?? '').localeCompare(b.item ?? '') ||
		(a.variation ?? '').localeCompare(b.variation ?? '')
	);
}
