import { randomInt } from 'node:crypto';

import { parseRoomRef } from '../matrix/ids';
import type { Ledger } from './ledger';
import { planTickets, TICKET_TOKEN_SCOPE, type TicketAccess, type TicketStep } from './tickets';
import { LedgerInputError, type GrantRow, type StoredClaim } from './types';

/**
 * Self-service rows of the ledger, all under an event (so the event's purge deletes them) and all
 * keyed by HMAC like every other row:
 *   - invite codes (`#invitecode`): a code grants a set of rooms, with a use limit and an expiry;
 *     each redemption is a row of the code's use scope, and the invites are ticket grants of their own;
 *   - attempt throttles (`#throttle`): how often a sender or an order code was tried lately;
 *   - registration tokens bound to tickets (`#regtoken`): the token sealed, so a cancellation can
 *     delete it at the homeserver.
 * The code itself is never stored: only its keyed hash (to find it) and, sealed, what it grants.
 */

export const INVITE_CODE_SCOPE = '#invitecode';
export const THROTTLE_SCOPE = '#throttle';
export { TICKET_TOKEN_SCOPE };

/** Letters and digits nobody confuses (no 0/O, 1/I/L); 12 of them are about 59 bits. */
const CODE_ALPHABET = 'ABCDEFGHJKMNPQRSTUVWXYZ23456789';
const CODE_LENGTH = 12;
const MAX_ROOMS = 50;
const MAX_USES = 100_000;
const ROOM = /^[!#][^\s:]+:[^\s]+$|^![A-Za-z0-9_-]{20,}$/;

export type InviteCodeStatus = 'active' | 'revoked' | 'expired' | 'usedUp';

export interface InviteCodeInfo {
	/** A short public id of the code (a prefix of its keyed hash), for lists and `revoke`. */
	id: string;
	event: string;
	rooms: string[];
	/** Redemptions allowed in all; null: unlimited. */
	usesAllowed: number | null;
	uses: number;
	/** ms since the epoch, or null. */
	expiresAt: number | null;
	createdAt: number;
	status: InviteCodeStatus;
}

interface Sealed {
	v: 1;
	rooms: string[];
	usesAllowed: number | null;
	expiresAt: number | null;
	createdAt: number;
}

/** The code as people type it: letters and digits, case and separators ignored. */
export function canonicalCode(code: unknown): string {
	return String(code ?? '')
		.toUpperCase()
		.replace(/[^A-Z0-9]/g, '');
}

/** XXXX-XXXX-XXXX */
export function formatCode(canonical: string): string {
	return canonical.match(/.{1,4}/g)?.join('-') ?? canonical;
}

function codeTicket(canonical: string): string {
	return `invitecode:${canonical}`;
}

function useScope(id: string): string {
	return `${INVITE_CODE_SCOPE}:${id}`;
}

function idOf(row: GrantRow | StoredClaim): string {
	return String(row.ticket ?? '').slice(0, 10);
}

function checkRooms(rooms: unknown): string[] {
	const list = (Array.isArray(rooms) ? rooms : String(rooms ?? '').split(/[\s,]+/)).map((r) => String(r ?? '').trim()).filter(Boolean);
	// A matrix.to or matrix: link is stored as the room it names, so the same room is one room.
	const unique = [
		...new Set(
			list.map((room) => {
				const parsed = parseRoomRef(room);
				if (!parsed.ok || parsed.room.length > 255 || !ROOM.test(parsed.room))
					throw new LedgerInputError('Each room must be a room ID (!…), an alias (#name:server) or a matrix.to / matrix: link to one');
				return parsed.room;
			}),
		),
	];
	if (unique.length === 0) throw new LedgerInputError('Name at least one room (room ID or alias)');
	if (unique.length > MAX_ROOMS) throw new LedgerInputError(`An invite code grants at most ${MAX_ROOMS} rooms`);
	return unique;
}

function checkUses(uses: unknown): number | null {
	if (uses === undefined || uses === null || uses === '') return null;
	const n = Number(uses);
	if (!Number.isSafeInteger(n) || n < 1 || n > MAX_USES) throw new LedgerInputError(`The uses must be a whole number from 1 to ${MAX_USES} (or none for unlimited)`);
	return n;
}

function infoOf(ledger: Ledger, row: GrantRow, uses: number, now: number): InviteCodeInfo | null {
	const raw = ledger.unseal(row.sealed);
	if (!raw) return null;
	let sealed: Sealed;
	try {
		sealed = JSON.parse(raw) as Sealed;
	} catch {
		return null;
	}
	const status: InviteCodeStatus =
		row.reason === 'revoked' ? 'revoked' : sealed.expiresAt !== null && sealed.expiresAt <= now ? 'expired' : sealed.usesAllowed !== null && uses >= sealed.usesAllowed ? 'usedUp' : 'active';
	return { id: idOf(row), event: row.event, rooms: sealed.rooms, usesAllowed: sealed.usesAllowed, uses, expiresAt: sealed.expiresAt, createdAt: sealed.createdAt, status };
}

async function usesOf(ledger: Ledger, row: GrantRow, now: number): Promise<GrantRow[]> {
	return ledger.backend.grants({ event: row.event, scope: useScope(idOf(row)) }, now);
}

/** Creates a code for `rooms` under `event`; returns the code (shown once, never stored) and its info. */
export async function createInviteCode(
	ledger: Ledger,
	input: { event: unknown; rooms: unknown; usesAllowed?: unknown; expiresAt?: unknown },
): Promise<{ code: string; info: InviteCodeInfo }> {
	const now = ledger.time();
	const rooms = checkRooms(input.rooms);
	const usesAllowed = checkUses(input.usesAllowed);
	let expiresAt: number | null = null;
	if (input.expiresAt !== undefined && input.expiresAt !== null && input.expiresAt !== '') {
		expiresAt = typeof input.expiresAt === 'number' ? input.expiresAt : Date.parse(String(input.expiresAt));
		if (!Number.isFinite(expiresAt) || expiresAt <= now) throw new LedgerInputError('The expiry must be a point in time in the future');
	}
	for (let attempt = 0; attempt < 5; attempt++) {
		const canonical = Array.from({ length: CODE_LENGTH }, () => CODE_ALPHABET[randomInt(CODE_ALPHABET.length)]).join('');
		const base = ledger.grantRow({ event: String(input.event ?? ''), scope: INVITE_CODE_SCOPE, subject: codeTicket(canonical), ticket: codeTicket(canonical), userId: null });
		const sealed: Sealed = { v: 1, rooms, usesAllowed, expiresAt, createdAt: now };
		const row: StoredClaim = { ...base, sealed: ledger.seal(JSON.stringify(sealed)) };
		const [claim] = await ledger.backend.claim([row], { now, leaseUntil: now + 60_000, expiresAt: ledger.retentionFrom(now) });
		// Another code with the same letters (about 1 in 10^17): draw again.
		if (claim.status !== 'new') continue;
		await ledger.backend.settle([row], { kind: 'complete', outcome: null, reason: 'active', retryable: false, now, expiresAt: ledger.retentionFrom(now) });
		const info: InviteCodeInfo = { id: idOf(row), event: row.event, rooms, usesAllowed, uses: 0, expiresAt, createdAt: now, status: 'active' };
		return { code: formatCode(canonical), info };
	}
	throw new LedgerInputError('Could not draw an unused invite code; try again');
}

/** The code's row (any event), or null. */
async function findCodeRow(ledger: Ledger, code: unknown): Promise<GrantRow | null> {
	const canonical = canonicalCode(code);
	if (canonical.length !== CODE_LENGTH) return null;
	const rows = await ledger.backend.grants({ tickets: ledger.ticketHashes(codeTicket(canonical)) }, ledger.time());
	return rows.find((row) => row.scope === INVITE_CODE_SCOPE && row.state === 'done') ?? null;
}

/** What a code grants and how it stands, without redeeming it; null for an unknown code. */
export async function inspectInviteCode(ledger: Ledger, code: unknown): Promise<InviteCodeInfo | null> {
	const row = await findCodeRow(ledger, code);
	if (!row) return null;
	const now = ledger.time();
	return infoOf(ledger, row, (await usesOf(ledger, row, now)).length, now);
}

/** The codes of these events, newest first. */
export async function listInviteCodes(ledger: Ledger, events: unknown[]): Promise<InviteCodeInfo[]> {
	const now = ledger.time();
	const out: InviteCodeInfo[] = [];
	for (const event of [...new Set(events.map((e) => String(e ?? '')).filter(Boolean))]) {
		for (const row of await ledger.backend.grants({ event, scope: INVITE_CODE_SCOPE }, now)) {
			if (row.state !== 'done') continue;
			const info = infoOf(ledger, row, (await usesOf(ledger, row, now)).length, now);
			if (info) out.push(info);
		}
	}
	return out.sort((a, b) => b.createdAt - a.createdAt || a.id.localeCompare(b.id));
}

/**
 * Revokes a code, given as the code or as its id, among the codes of `events` (null, for bot
 * admins: the code in any event, an id among `idEvents`). Returns the code's info as revoked, or null
 * when nothing matched. Redemptions made before stay.
 */
export async function revokeInviteCode(ledger: Ledger, codeOrId: unknown, events: unknown[] | null, idEvents: unknown[] = []): Promise<InviteCodeInfo | null> {
	const now = ledger.time();
	let row = await findCodeRow(ledger, codeOrId);
	if (row && events !== null && !events.map(String).includes(row.event)) row = null;
	if (!row) {
		const id = String(codeOrId ?? '').trim();
		if (id.length >= 6) {
			for (const event of [...new Set((events ?? idEvents).map(String))]) {
				const match = (await ledger.backend.grants({ event, scope: INVITE_CODE_SCOPE }, now)).filter((r) => r.state === 'done' && idOf(r).startsWith(id));
				if (match.length === 1) row = match[0];
			}
		}
	}
	if (!row) return null;
	await ledger.backend.transition([row], { fromStates: ['done'], toState: 'done', toReason: 'revoked', leaseUntil: 0, now });
	return infoOf(ledger, { ...row, reason: 'revoked' }, (await usesOf(ledger, row, now)).length, now);
}

export type RedeemStatus = 'redeemed' | 'again' | 'unknown' | 'revoked' | 'expired' | 'usedUp';

export interface RedeemResult {
	status: RedeemStatus;
	/** The code's info (not for unknown codes). */
	code: InviteCodeInfo | null;
	/** Redeemed (or again): one ticket step per room, as Ticket → Plan gives them (invite or skip). */
	steps: TicketStep[];
}

/**
 * Redeems a code for `userId`: counts one use (a person redeeming again uses none, and gets the
 * rooms that failed before tried again), then plans one invite per room of the code, recorded like
 * any ticket grant (Ticket → Record). The use limit holds under concurrency: each use is a row of
 * its own number, and only one redemption can create each.
 */
export async function redeemInviteCode(ledger: Ledger, input: { code: unknown; userId: unknown; leaseSeconds: number }): Promise<RedeemResult> {
	const userId = typeof input.userId === 'string' ? input.userId.trim() : '';
	if (!/^@[^:\s]+:\S+$/.test(userId) || userId.length > 255) throw new LedgerInputError('The Matrix ID of the person redeeming is missing or malformed');
	const row = await findCodeRow(ledger, input.code);
	if (!row) return { status: 'unknown', code: null, steps: [] };
	const now = ledger.time();
	const uses = await usesOf(ledger, row, now);
	const info = infoOf(ledger, row, uses.length, now);
	if (!info) return { status: 'unknown', code: null, steps: [] };
	if (info.status === 'revoked' || info.status === 'expired') return { status: info.status, code: info, steps: [] };
	const own = new Set(ledger.matrixIdHashes(userId));
	const before = uses.some((use) => use.mxid !== null && own.has(use.mxid));
	let status: RedeemStatus = 'again';
	if (!before) {
		const timing = { now, leaseUntil: now + 60_000, expiresAt: ledger.retentionFrom(now) };
		const scope = useScope(info.id);
		const take = async (subject: string): Promise<StoredClaim | null> => {
			const use = ledger.entryRow({ event: row.event, scope, subject, matrixId: userId });
			const [claim] = await ledger.backend.claim([use], timing);
			return claim.status === 'new' ? use : null;
		};
		let taken: StoredClaim | null = null;
		if (info.usesAllowed === null) taken = await take(`user:${userId}`);
		else for (let n = uses.length + 1; n <= info.usesAllowed && !taken; n++) taken = await take(`use:${n}`);
		if (taken) {
			await ledger.backend.settle([taken], { kind: 'complete', outcome: null, reason: 'redeemed', retryable: false, now, expiresAt: ledger.retentionFrom(now) });
			status = 'redeemed';
			info.uses += 1;
			if (info.usesAllowed !== null && info.uses >= info.usesAllowed) info.status = 'usedUp';
		} else if (info.usesAllowed !== null) return { status: 'usedUp', code: { ...info, status: 'usedUp' }, steps: [] };
		// Unlimited and not taken: this person's use exists already (redeemed at the same moment).
	}
	const [steps] = await planTickets(ledger, [{ event: row.event, ticket: `invitecode:${info.id}:${userId}`, access: 'granted', userId, rooms: info.rooms }], { leaseSeconds: input.leaseSeconds, reportInvalid: false });
	return { status, code: info, steps };
}

// ----------------------------------------------------------------------------------- throttles

export interface ThrottleKey {
	kind: 'sender' | 'order';
	value: unknown;
}

export interface ThrottleResult {
	allowed: boolean;
	/** The most attempts any key has in its window (this one included). */
	attempts: number;
}

/**
 * Counts one attempt for every key in every event and says whether all are within `limit`. A key's
 * window slides: it is forgotten `windowSeconds` after its last attempt, so someone who keeps
 * trying stays blocked. Senders are stored as Matrix-ID hashes, order codes as order hashes (both
 * found by Lookup/Forget), and deleted with the event.
 */
export async function countAttempt(ledger: Ledger, input: { events: unknown[]; keys: ThrottleKey[]; limit: number; windowSeconds: number }): Promise<ThrottleResult> {
	const limit = Number(input.limit);
	const windowMs = Math.round(Number(input.windowSeconds) * 1000);
	if (!Number.isSafeInteger(limit) || limit < 1) throw new LedgerInputError('The attempt limit must be a whole number of 1 or more');
	if (!Number.isFinite(windowMs) || windowMs < 1000) throw new LedgerInputError('The throttle window must be at least one second');
	const events = [...new Set(input.events.map((e) => String(e ?? '').trim()).filter(Boolean))];
	const rows: StoredClaim[] = [];
	for (const event of events) {
		for (const key of input.keys) {
			const value = String(key.value ?? '').trim();
			if (!value) continue;
			const normalized = key.kind === 'order' ? value.toUpperCase() : value;
			rows.push(ledger.entryRow({ event, scope: THROTTLE_SCOPE, subject: `${key.kind}:${normalized}`, matrixId: key.kind === 'sender' ? value : undefined, orderCode: key.kind === 'order' ? value : undefined }));
		}
	}
	if (rows.length === 0) return { allowed: true, attempts: 0 };
	const now = ledger.time();
	const unique = [...new Map(rows.map((row) => [`${row.event}\u0000${row.subject}`, row])).values()].sort((a, b) => `${a.event}\u0000${a.subject}`.localeCompare(`${b.event}\u0000${b.subject}`));
	// The lease ends at once, so the next attempt counts on the same row (attempts + 1); an expired
	// row starts over at 1.
	const claims = await ledger.backend.claim(unique, { now, leaseUntil: now, expiresAt: now + windowMs });
	// Not left as "claimed": the counters are no work in progress (statistics count those).
	await ledger.backend.transition(unique, { fromStates: ['claimed'], toState: 'retry', leaseUntil: 0, now });
	const attempts = Math.max(...claims.map((claim) => claim.attempts));
	return { allowed: attempts <= limit, attempts };
}

// ------------------------------------------------------------------ registration tokens of tickets

export interface TicketTokenInput {
	event: unknown;
	ticket: unknown;
	orderCode?: unknown;
	access: unknown;
	/** The attendee has no Matrix account (empty answer, or the configured "no account" answer). */
	needsAccount: unknown;
}

export interface TicketTokenStep {
	/** create: make (or, with `token`, send again) a token; delete: delete `token`; skip: nothing. */
	action: 'create' | 'delete' | 'skip';
	/** newTicket, resend, reactivated, ticketRevoked, hasAccount, already:<reason>, inProgress, ticketPending, … */
	reason: string;
	event: string;
	ticket: string;
	orderCode: string | null;
	/** create (resend) and delete: the token. */
	token: string | null;
}

function tokenRow(ledger: Ledger, event: string, ticket: string, orderCode: string | null): StoredClaim {
	return ledger.grantRow({ event, scope: TICKET_TOKEN_SCOPE, subject: `regtoken:${ticket}`, ticket, userId: null, orderCode });
}

/**
 * Decides per ticket: a ticket with access whose holder needs an account gets one token (claimed
 * here, so one run creates it); a ticket that lost access — or whose holder now has an account —
 * gets its token deleted; the rest nothing. Returns one step per input.
 */
export async function planTicketTokens(ledger: Ledger, inputs: TicketTokenInput[], options: { leaseSeconds: number }): Promise<TicketTokenStep[]> {
	const now = ledger.time();
	const leaseUntil = now + Math.round(options.leaseSeconds * 1000);
	const checked = inputs.map((input, index) => {
		if (!input || typeof input !== 'object') throw new LedgerInputError('Each item needs a ticket', index);
		const access = input.access;
		if (access !== 'granted' && access !== 'pending' && access !== 'revoked') throw new LedgerInputError('The access must be granted, pending or revoked (the Pretix nodes set it)', index);
		const text = (value: unknown, what: string, max: number) => {
			const t = typeof value === 'number' ? String(value) : typeof value === 'string' ? value.trim() : '';
			if (!t) throw new LedgerInputError(`The ${what} is missing`, index);
			if (t.length > max) throw new LedgerInputError(`The ${what} is longer than ${max} characters`, index);
			return t;
		};
		const orderCode = typeof input.orderCode === 'string' && input.orderCode.trim() ? input.orderCode.trim() : null;
		return { event: text(input.event, 'event', 200), ticket: text(input.ticket, 'ticket (position id)', 100), orderCode, access: access as TicketAccess, needsAccount: input.needsAccount === true || input.needsAccount === 'true' };
	});
	const hashes = [...new Set(checked.flatMap((c) => ledger.ticketHashes(c.ticket)))];
	const rows = hashes.length ? await ledger.backend.grants({ tickets: hashes }, now) : [];
	const steps: TicketTokenStep[] = [];
	for (const c of checked) {
		const mine = new Set(ledger.ticketHashes(c.ticket));
		const existing = rows.find((row) => row.scope === TICKET_TOKEN_SCOPE && row.event === c.event && row.ticket !== null && mine.has(row.ticket));
		const step = (action: TicketTokenStep['action'], reason: string, token: string | null = null): TicketTokenStep => ({ action, reason, event: c.event, ticket: c.ticket, orderCode: c.orderCode, token });
		const sent = existing && existing.state === 'done' && existing.reason === 'tokenSent';
		if (c.access === 'pending') {
			steps.push(step('skip', 'ticketPending'));
		} else if (c.access === 'revoked' || !c.needsAccount) {
			if (!sent) {
				steps.push(step('skip', c.access === 'revoked' ? 'nothingToDelete' : 'hasAccount'));
				continue;
			}
			const [marked] = await ledger.backend.transition([existing], { fromStates: ['done'], toState: 'claimed', toReason: 'deleting', leaseUntil, now });
			const token = ledger.unseal(existing.sealed);
			if (!marked) steps.push(step('skip', 'inProgress'));
			else if (!token) {
				await ledger.backend.transition([existing], { fromStates: ['claimed'], toState: 'done', toReason: 'tokenUnreadable', leaseUntil: 0, now });
				steps.push(step('skip', 'tokenUnreadable'));
			} else steps.push(step('delete', c.access === 'revoked' ? 'ticketRevoked' : 'hasAccount', token));
		} else {
			let reason = 'newTicket';
			if (existing && existing.state === 'done' && existing.reason === 'tokenDeleted') {
				// The ticket grants access again (reactivated): a new token.
				await ledger.backend.transition([existing], { fromStates: ['done'], toState: 'retry', toReason: 'reactivated', leaseUntil: 0, now });
				reason = 'reactivated';
			}
			const row = existing ? { ...tokenRow(ledger, c.event, c.ticket, c.orderCode), subject: existing.subject } : tokenRow(ledger, c.event, c.ticket, c.orderCode);
			const [claim] = await ledger.backend.claim([row], { now, leaseUntil, expiresAt: ledger.retentionFrom(now) });
			if (claim.status === 'new' || claim.status === 'reclaimed') {
				// A token created before whose e-mail failed is sent again, not made anew.
				const token = existing?.reason === 'mailFailed' ? ledger.unseal(existing.sealed) : null;
				steps.push(step('create', token ? 'resend' : reason, token));
			} else steps.push(step('skip', claim.status === 'done' ? `already:${claim.reason ?? 'done'}` : 'inProgress'));
		}
	}
	return steps;
}

export interface TicketTokenRecord {
	step: TicketTokenStep;
	/**
	 * create: `sent` (token made and mailed), `mailFailed` (made, not mailed: sent again next time),
	 * `failed` (not made). delete: `deleted` or `missing` (gone already), `failed` (tried again next time).
	 */
	status: unknown;
	/** create: the token that was made. */
	token?: unknown;
}

/** Settles what planTicketTokens claimed. Returns what the ledger now says per step. */
export async function recordTicketTokens(ledger: Ledger, records: TicketTokenRecord[]): Promise<Array<{ recorded: string }>> {
	const now = ledger.time();
	const out: Array<{ recorded: string }> = [];
	for (const [index, { step, status, token }] of records.entries()) {
		if (!step || typeof step !== 'object' || typeof step.action !== 'string') throw new LedgerInputError('The item has no token step (the output of Ticket Token → Plan)', index);
		if (step.action === 'skip') {
			out.push({ recorded: 'skipped' });
			continue;
		}
		const base = tokenRow(ledger, step.event, step.ticket, step.orderCode);
		const [row] = await ledger.resolveKeys([base], [`regtoken:${step.ticket}`]);
		const expiresAt = ledger.retentionFrom(now);
		if (step.action === 'create') {
			const made = typeof token === 'string' && token ? token : step.token;
			if ((status === 'sent' || status === 'mailFailed') && made) {
				const sealed = { ...row, sealed: ledger.seal(made) };
				if (status === 'sent') await ledger.backend.settle([sealed], { kind: 'complete', outcome: null, reason: 'tokenSent', retryable: false, now, expiresAt });
				else await ledger.backend.settle([sealed], { kind: 'fail', outcome: null, reason: 'mailFailed', retryable: true, retryAt: 0, now, expiresAt });
				out.push({ recorded: status === 'sent' ? 'sent' : 'mailFailed' });
			} else {
				await ledger.backend.settle([row], { kind: 'fail', outcome: null, reason: 'createFailed', retryable: true, retryAt: 0, now, expiresAt });
				out.push({ recorded: 'failed' });
			}
			continue;
		}
		if (status === 'deleted' || status === 'missing') {
			await ledger.backend.transition([row], { fromStates: ['claimed'], toState: 'done', toReason: 'tokenDeleted', leaseUntil: 0, now });
			out.push({ recorded: 'deleted' });
		} else {
			await ledger.backend.transition([row], { fromStates: ['claimed'], toState: 'done', toReason: 'tokenSent', leaseUntil: 0, now });
			out.push({ recorded: 'stillThere' });
		}
	}
	return out;
}

/** The tokens sent for tickets of these events (still live in the ledger), to check their use. */
export async function listTicketTokens(ledger: Ledger, events: unknown[]): Promise<Array<{ event: string; token: string }>> {
	const now = ledger.time();
	const out: Array<{ event: string; token: string }> = [];
	for (const event of [...new Set(events.map((e) => String(e ?? '')).filter(Boolean))]) {
		for (const row of await ledger.backend.grants({ event, scope: TICKET_TOKEN_SCOPE }, now)) {
			if (row.state !== 'done' || row.reason !== 'tokenSent') continue;
			const token = ledger.unseal(row.sealed);
			if (token) out.push({ event, token });
		}
	}
	return out;
}
