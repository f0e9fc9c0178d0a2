import type { Ledger } from './ledger';
import { LedgerInputError, UPGRADE_OWED, UPGRADE_OWED_PREEXISTING, type GrantRow, type StoredClaim, type StoredKey } from './types';

/**
 * Tickets decide who is in. The ledger remembers which ticket position led to which invite (a
 * grant: event × room × `<ticket>:<Matrix ID>`), so that
 *   - a ticket that grants access invites its Matrix ID into the ticket's rooms, once;
 *   - a revoked ticket withdraws only what it granted, and only when no other live grant (another
 *     ticket of the same person, in any event) holds the same Matrix ID in the same room, and never
 *     a membership that existed before any ticket granted it;
 *   - a pending ticket (unpaid, awaiting approval, unknown data) changes nothing, ever;
 *   - a changed answer withdraws the old ID's grant and invites the new ID.
 * `planTickets` decides and claims; the workflow acts on Matrix; `recordTicketOutcomes` settles.
 */

export type TicketAccess = 'granted' | 'pending' | 'revoked';

export interface TicketInput {
	/** Ledger event key, e.g. `<organizer>/<event>`. */
	event: unknown;
	/** The pretix position id (a ticket). */
	ticket: unknown;
	orderCode?: unknown;
	access: unknown;
	/** Why the ticket has (no) access, e.g. `orderCanceled` (lib/pretix/access.ts). */
	accessReason?: unknown;
	/** The valid, normalised Matrix ID; empty when the answer is missing or unusable. */
	userId?: unknown;
	/** Why there is no usable Matrix ID (an MXID Validate reason code). */
	invalidReason?: unknown;
	/** The raw answer, so an invalid one is reported once per ticket and answer. */
	answer?: unknown;
	/** Rooms this ticket maps to now. */
	rooms: unknown;
}

export type StepAction = 'invite' | 'withdraw' | 'report' | 'skip';

/** One thing to do (or not) for one ticket and room; carries what recording it needs. */
export interface TicketStep {
	action: StepAction;
	/** Why, as a short code: newGrant, reinvite, ticketRevoked, answerChanged, coveredByOtherTicket, … */
	reason: string;
	event: string;
	ticket: string;
	room: string | null;
	/** invite: the ticket's Matrix ID; withdraw: the Matrix ID the grant was given to. */
	userId: string | null;
	orderCode: string | null;
	/** withdraw only: also remove the user when they already joined (else only the pending invite). */
	removeMember?: boolean;
	/** Why the ticket has or lacks access (from the input). */
	access: TicketAccess;
	accessReason: string | null;
	/** report only: the reason code of the unusable Matrix ID. */
	invalidReason?: string | null;
	/** invite only: this ledger's invite made the membership before (a re-check of an existing grant). */
	ours?: boolean;
	/** invite only: the membership predates any ticket (kept so through a room upgrade): recorded as such. */
	preexisting?: boolean;
	/**
	 * invite only, a room upgrade's re-invite (planUpgradeInvites): the ledger keys (subject hashes)
	 * of the person's grants this invite settles. Such a step has no plaintext ticket or subject.
	 */
	upgradeRows?: Array<{ event: string; subject: string; preexisting: boolean }>;
	/** The ledger key of the step (plaintext; hashed again when recording). */
	scope: string;
	subject: string;
}

export interface PlanOptions {
	leaseSeconds: number;
	/** Changed or invalid answers: also remove the old ID when it already joined (default: invite only). */
	removeChangedMember?: boolean;
	/** Invite again people whose invite is recorded but who left or declined (the invite is re-checked). */
	reinviteLeft?: boolean;
	/** Invite again even when the ledger says this ticket was handled or withdrawn (organizer's choice). */
	force?: boolean;
	/** Report unusable Matrix IDs of tickets with access once (default true). */
	reportInvalid?: boolean;
	/**
	 * Decide without claiming or changing anything: what a real plan would do now (for an ETA
	 * before a big batch). Withdrawals are listed without the check for other tickets.
	 */
	dryRun?: boolean;
}

/** Ledger scope of the "unusable Matrix ID reported" rows: one per ticket and answer. */
export const INVALID_SCOPE = '#invalid';
/**
 * Ledger scope of seat claims: a ticket's Matrix ID set by its holder through the claim flow
 * (`claimSeats`), sealed in the row. Plan uses it instead of the pretix answer, so a later run
 * never takes back what the holder claimed.
 */
export const CLAIM_SCOPE = '#claim';
/** Ledger scope of registration tokens bound to tickets (codes.ts); never a grant. */
export const TICKET_TOKEN_SCOPE = '#regtoken';
/** Rows of these scopes carry a ticket hash but grant no room. */
const NOT_GRANTS = new Set([INVALID_SCOPE, CLAIM_SCOPE, TICKET_TOKEN_SCOPE]);
const WITHDRAWING = 'withdrawing';
/**
 * Reason of a grant whose Matrix ID was already invited or joined when the ticket granted it, with
 * no grant of ours explaining that: such a membership is never withdrawn by a ticket.
 */
const PREEXISTING = 'preexisting';
/** An unreachable homeserver of an invitee is not tried again for this long. */
export const UNREACHABLE_BACKOFF_MS = 3600_000;

const INVITE_OK = new Set(['invited', 'alreadyInvited', 'alreadyJoined']);
const INVITE_RETRY = new Set(['gaveUp', 'serverUnreachable']);
const WITHDRAW_DONE = new Set(['withdrawn', 'removed', 'notInRoom', 'banned']);

/**
 * A live grant of a room that was upgraded: the row names the replacement room, where nobody
 * invited the person yet (Ledger.moveRoom). The ticket still grants the room.
 */
export function isOwedAfterUpgrade(row: GrantRow): boolean {
	return row.state === 'retry' && (row.outcome === 'invited' || row.outcome === 'accepted') && (row.reason === UPGRADE_OWED || row.reason === UPGRADE_OWED_PREEXISTING);
}

/** The membership predates any ticket (also when the row was carried over by a room upgrade). */
function isPreexisting(row: GrantRow): boolean {
	return row.reason === PREEXISTING || row.reason === UPGRADE_OWED_PREEXISTING;
}

/** A settled grant that gives its room now: invited, accepted, or owed in an upgraded room's replacement. */
function grantsRoom(row: GrantRow): boolean {
	return (row.state === 'done' && (row.outcome === 'invited' || row.outcome === 'accepted')) || isOwedAfterUpgrade(row);
}

function isLive(row: GrantRow, now: number): boolean {
	if (row.state === 'done' || isOwedAfterUpgrade(row)) return grantsRoom(row);
	// An invite in flight (another run holds the claim) counts: its grant is about to exist.
	return row.state === 'claimed' && row.reason !== WITHDRAWING && row.leaseUntil > now;
}

function isGrantRow(row: GrantRow): boolean {
	return !NOT_GRANTS.has(row.scope);
}

/** The Matrix ID the ticket's holder claimed in this event, or null. */
function claimedUserId(ledger: Ledger, rows: GrantRow[], event: string): string | null {
	const claim = rows.find((row) => row.scope === CLAIM_SCOPE && row.event === event && row.state === 'done');
	return claim ? ledger.unseal(claim.sealed) : null;
}

function textOf(value: unknown, what: string, index: number, max = 300): string {
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	if (typeof value !== 'string' || value.trim() === '') throw new LedgerInputError(`The ${what} is missing`, index);
	if (value.length > max) throw new LedgerInputError(`The ${what} is longer than ${max} characters`, index);
	return value.trim();
}

function optional(value: unknown): string | null {
	if (typeof value === 'number' && Number.isFinite(value)) return String(value);
	return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

interface CheckedInput {
	index: number;
	event: string;
	ticket: string;
	orderCode: string | null;
	access: TicketAccess;
	accessReason: string | null;
	userId: string | null;
	invalidReason: string | null;
	answer: string;
	rooms: string[];
}

function check(input: TicketInput, index: number): CheckedInput {
	if (!input || typeof input !== 'object') throw new LedgerInputError('Each item needs a ticket', index);
	const access = input.access;
	if (access !== 'granted' && access !== 'pending' && access !== 'revoked') {
		throw new LedgerInputError('The access must be granted, pending or revoked (the Pretix nodes set it)', index);
	}
	const rooms = Array.isArray(input.rooms) ? input.rooms : input.rooms === undefined || input.rooms === null || input.rooms === '' ? [] : [input.rooms];
	return {
		index,
		event: textOf(input.event, 'event', index, 200),
		ticket: textOf(input.ticket, 'ticket (position id)', index, 100),
		orderCode: optional(input.orderCode),
		access,
		accessReason: optional(input.accessReason),
		userId: optional(input.userId),
		invalidReason: optional(input.invalidReason),
		answer: typeof input.answer === 'string' ? input.answer.slice(0, 1000) : '',
		rooms: [...new Set(rooms.map((room, n) => textOf(room, `room ${n + 1}`, index)))],
	};
}

function keyOf(row: StoredKey): string {
	return `${row.event}\u0000${row.scope}\u0000${row.subject}`;
}

/**
 * Decides, for every input ticket, what to do, and takes the claims that make it safe: invite
 * steps hold a lease on their grant, withdraw steps on the grant they take back, report steps on
 * their report row. Returns the steps in input order (several per ticket: one per room).
 */
export async function planTickets(ledger: Ledger, inputs: TicketInput[], options: PlanOptions): Promise<TicketStep[][]> {
	const checked = inputs.map(check);
	const now = ledger.time();
	const leaseUntil = now + Math.round(options.leaseSeconds * 1000);
	const byTicketHash = new Map<string, GrantRow[]>();
	// During a secret rotation a ticket has two hashes; its rows are found under either.
	const ticketHashes = [...new Set(checked.flatMap((c) => ledger.ticketHashes(c.ticket)))];
	if (ticketHashes.length) {
		for (const row of await ledger.backend.grants({ tickets: ticketHashes }, now)) {
			if (!row.ticket) continue;
			byTicketHash.set(row.ticket, [...(byTicketHash.get(row.ticket) ?? []), row]);
		}
	}
	const grantsOfTicket = (ticket: string) => ledger.ticketHashes(ticket).flatMap((hash) => byTicketHash.get(hash) ?? []);
	const steps: TicketStep[][] = checked.map(() => []);
	const base = (c: CheckedInput) => ({
		event: c.event,
		ticket: c.ticket,
		orderCode: c.orderCode,
		access: c.access,
		accessReason: c.accessReason,
	});

	interface Pending {
		input: CheckedInput;
		row: StoredClaim;
		step: TicketStep;
	}
	const invites: Pending[] = [];
	const reports: Pending[] = [];
	const withdrawals: Array<{ input: CheckedInput; grant: GrantRow; because: string; removeMember: boolean }> = [];

	for (const c of checked) {
		const grants = grantsOfTicket(c.ticket).filter((g) => isGrantRow(g) && g.event === c.event);
		// Owed grants (an upgraded room's) count: a revocation must withdraw them before they are re-invited.
		const live = grants.filter(grantsRoom);
		if (c.access === 'pending') {
			steps[c.index].push({ ...base(c), action: 'skip', reason: 'ticketPending', room: null, userId: null, scope: '', subject: '' });
			continue;
		}
		if (c.access === 'revoked') {
			for (const grant of live) withdrawals.push({ input: c, grant, because: 'ticketRevoked', removeMember: true });
			if (live.length === 0) steps[c.index].push({ ...base(c), action: 'skip', reason: 'nothingGranted', room: null, userId: null, scope: '', subject: '' });
			continue;
		}
		// A seat its holder claimed keeps the claimed Matrix ID, whatever pretix's answer says now.
		const claimed = claimedUserId(ledger, grantsOfTicket(c.ticket), c.event);
		if (claimed) {
			c.userId = claimed;
			c.invalidReason = null;
		}
		if (c.userId) {
			const own = new Set(ledger.matrixIdHashes(c.userId));
			for (const grant of live) {
				if (!grant.mxid || !own.has(grant.mxid)) withdrawals.push({ input: c, grant, because: 'answerChanged', removeMember: options.removeChangedMember === true });
			}
			if (c.rooms.length === 0) steps[c.index].push({ ...base(c), action: 'skip', reason: 'noRooms', room: null, userId: c.userId, scope: '', subject: '' });
			for (const room of c.rooms) {
				const subject = `${c.ticket}:${c.userId}`;
				const row = ledger.grantRow({ event: c.event, scope: room, subject, ticket: c.ticket, userId: c.userId, orderCode: c.orderCode });
				// Re-checked grants (reinviteLeft, force) keep knowing the membership was ours.
				const same = live.find((g) => g.scope === room && g.subject === row.subject);
				const ours = !!same && !isPreexisting(same);
				const owed = !!same && isOwedAfterUpgrade(same);
				invites.push({
					input: c,
					row,
					step: {
						...base(c),
						action: 'invite',
						reason: owed ? UPGRADE_OWED : 'newGrant',
						room,
						userId: c.userId,
						scope: room,
						subject,
						...(ours ? { ours } : {}),
						...(owed && same && isPreexisting(same) ? { preexisting: true } : {}),
					},
				});
			}
			continue;
		}
		for (const grant of live) withdrawals.push({ input: c, grant, because: 'answerInvalid', removeMember: options.removeChangedMember === true });
		if (options.reportInvalid === false) {
			steps[c.index].push({ ...base(c), action: 'skip', reason: 'invalidMatrixId', room: null, userId: null, invalidReason: c.invalidReason, scope: '', subject: '' });
			continue;
		}
		const subject = `${c.ticket}:${c.answer}`;
		const row = ledger.grantRow({ event: c.event, scope: INVALID_SCOPE, subject, ticket: c.ticket, userId: null, orderCode: c.orderCode });
		reports.push({ input: c, row, step: { ...base(c), action: 'report', reason: 'invalidMatrixId', room: null, userId: null, invalidReason: c.invalidReason ?? 'invalid', scope: INVALID_SCOPE, subject } });
	}

	// Invites. With force / reinviteLeft, rows already settled are made claimable again first; the
	// claim below still lets exactly one run win each of them.
	// During a rotation, rows written under the previous secret keep their old keys.
	const resolvedInvites = await ledger.resolveKeys(invites.map((p) => p.row), invites.map((p) => p.step.subject));
	invites.forEach((p, n) => (p.row = resolvedInvites[n]));
	const resolvedReports = await ledger.resolveKeys(reports.map((p) => p.row), reports.map((p) => p.step.subject));
	reports.forEach((p, n) => (p.row = resolvedReports[n]));
	// A dry run predicts each claim from the rows as they are, and changes nothing.
	const existing = new Map<string, GrantRow>();
	for (const rows of byTicketHash.values()) for (const row of rows) existing.set(keyOf(row), row);
	const reopenable = (row: GrantRow | undefined) =>
		!!row && (row.state === 'done' || row.state === 'retry') && (options.force ? ['invited', 'accepted', 'withdrawn', 'failed'] : ['invited', 'accepted']).includes(String(row.outcome));
	const claim = async (rows: StoredClaim[], reopen: boolean) => {
		if (!options.dryRun) return ledger.backend.claim(rows, { now, leaseUntil, expiresAt: ledger.retentionFrom(now) });
		return rows.map((row) => {
			const found = existing.get(keyOf(row));
			if (!found) return { status: 'new' as const, attempts: 1, outcome: null, reason: null };
			if (reopen && reopenable(found)) return { status: 'reclaimed' as const, attempts: 2, outcome: null, reason: null };
			if (found.state === 'done') return { status: 'done' as const, attempts: 1, outcome: found.outcome, reason: found.reason };
			if (found.leaseUntil <= now) return { status: 'reclaimed' as const, attempts: 2, outcome: null, reason: null };
			return { status: 'leased' as const, attempts: 1, outcome: found.outcome, reason: found.reason };
		});
	};
	if (invites.length && (options.force || options.reinviteLeft) && !options.dryRun) {
		const fromOutcomes = options.force ? (['invited', 'accepted', 'withdrawn', 'failed'] as const) : (['invited', 'accepted'] as const);
		const reopened = await ledger.backend.transition(
			invites.map((p) => p.row),
			{ fromStates: ['done', 'retry'], fromOutcomes: [...fromOutcomes], toState: 'retry', toReason: options.force ? 'forced' : 'recheck', leaseUntil: 0, now },
		);
		invites.forEach((p, n) => {
			if (reopened[n]) p.step.reason = options.force ? 'forced' : 'recheck';
		});
	}
	if (invites.length) {
		const claims = await claim(dedupe(invites.map((p) => p.row)), options.force === true || options.reinviteLeft === true);
		const byKey = new Map(dedupe(invites.map((p) => p.row)).map((row, n) => [keyOf(row), claims[n]]));
		const taken = new Set<string>();
		for (const p of invites) {
			const claim = byKey.get(keyOf(p.row))!;
			const won = (claim.status === 'new' || claim.status === 'reclaimed') && !taken.has(keyOf(p.row));
			if (won) {
				taken.add(keyOf(p.row));
				if (claim.status === 'reclaimed' && p.step.reason === 'newGrant') p.step.reason = 'retry';
				steps[p.input.index].push(p.step);
			} else {
				const reason =
					claim.status === 'done'
						? `already:${claim.reason ?? claim.outcome ?? 'done'}`
						: claim.reason && claim.reason !== WITHDRAWING && claim.reason !== UPGRADE_OWED && claim.reason !== UPGRADE_OWED_PREEXISTING
							? `backoff:${claim.reason}`
							: 'inProgress';
				steps[p.input.index].push({ ...p.step, action: 'skip', reason });
			}
		}
	}

	if (reports.length) {
		const unique = dedupe(reports.map((p) => p.row));
		const claims = await claim(unique, false);
		const byKey = new Map(unique.map((row, n) => [keyOf(row), claims[n]]));
		const taken = new Set<string>();
		for (const p of reports) {
			const claim = byKey.get(keyOf(p.row))!;
			const won = (claim.status === 'new' || claim.status === 'reclaimed') && !taken.has(keyOf(p.row));
			if (won) taken.add(keyOf(p.row));
			steps[p.input.index].push(won ? p.step : { ...p.step, action: 'skip', reason: claim.status === 'done' ? 'alreadyReported' : 'inProgress' });
		}
	}

	// Withdrawals: mark the grant first, then look for other grants of the same person in the same
	// room. Two runs withdrawing two tickets of one person at once both mark before they look, so at
	// least one of them sees the other's mark and the person does not keep a room no ticket grants.
	for (const w of withdrawals) {
		const { input: c, grant } = w;
		const stepBase = { ...base(c), room: grant.scope, scope: grant.scope, subject: '', removeMember: w.removeMember };
		if (options.dryRun) {
			const userId = ledger.unseal(grant.sealed);
			steps[c.index].push({ ...stepBase, action: 'withdraw', reason: w.because, userId, subject: userId ? `${c.ticket}:${userId}` : '' });
			continue;
		}
		const [marked] = await ledger.backend.transition([grant], {
			// An owed grant (upgraded room) sits in retry until someone invites it.
			fromStates: [isOwedAfterUpgrade(grant) ? 'retry' : 'done'],
			fromOutcomes: ['invited', 'accepted'],
			toState: 'claimed',
			toReason: WITHDRAWING,
			leaseUntil,
			now,
		});
		if (!marked) {
			steps[c.index].push({ ...stepBase, action: 'skip', reason: 'inProgress', userId: null });
			continue;
		}
		const userId = ledger.unseal(grant.sealed) ?? (c.userId && grant.mxid && ledger.matrixIdHashes(c.userId).includes(grant.mxid) ? c.userId : null);
		const subject = userId ? `${c.ticket}:${userId}` : '';
		const settleAs = async (reason: string) =>
			ledger.backend.transition([grant], { fromStates: ['claimed'], toState: 'retry', toOutcome: 'withdrawn', toReason: reason, leaseUntil: 0, now });
		const others = (await grantsOfPerson(ledger, grant.scope, grant.mxid, userId, now)).filter((g) => keyOf(g) !== keyOf(grant));
		if (others.some((g) => isLive(g, now))) {
			await settleAs('coveredByOtherTicket');
			steps[c.index].push({ ...stepBase, action: 'skip', reason: 'coveredByOtherTicket', userId, subject });
		} else if (isPreexisting(grant)) {
			// The person was in the room (or invited by someone else) before any ticket: not ours to take.
			await settleAs(PREEXISTING);
			steps[c.index].push({ ...stepBase, action: 'skip', reason: 'membershipNotGranted', userId, subject });
		} else if (!userId) {
			await settleAs('unnamed');
			steps[c.index].push({ ...stepBase, action: 'skip', reason: 'matrixIdUnknown', userId: null, subject });
		} else {
			steps[c.index].push({ ...stepBase, action: 'withdraw', reason: w.because, userId, subject });
		}
	}
	return steps;
}

/** Every grant row of one person in one room, whichever secret (during a rotation) hashed the ID. */
async function grantsOfPerson(ledger: Ledger, scope: string, mxid: string | null, userId: string | null, now: number): Promise<GrantRow[]> {
	const hashes = new Set([...(mxid ? [mxid] : []), ...(userId ? ledger.matrixIdHashes(userId) : [])]);
	const rows = new Map<string, GrantRow>();
	for (const hash of hashes) for (const row of await ledger.backend.grants({ scope, mxid: hash }, now)) rows.set(keyOf(row), row);
	return [...rows.values()];
}

function dedupe(rows: StoredClaim[]): StoredClaim[] {
	const seen = new Map<string, StoredClaim>();
	for (const row of rows) if (!seen.has(keyOf(row))) seen.set(keyOf(row), row);
	return [...seen.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
}

export interface RecordInput {
	step: TicketStep;
	/** The Matrix result status (Matrix Invite's `matrix.status`), or `sent`/`failed` for reports. */
	status: unknown;
}

export interface RecordResult {
	/** What the ledger now says: invited, failed, retry, withdrawn, stillGranted, reported, unreported. */
	recorded: string;
	/** A withdrawal raced with a new grant of the same person and room: that grant will be invited again. */
	reinviteQueued?: boolean;
}

/** Settles the claims `planTickets` took, from what happened on Matrix. */
export async function recordTicketOutcomes(ledger: Ledger, inputs: RecordInput[]): Promise<RecordResult[]> {
	const now = ledger.time();
	const results: RecordResult[] = [];
	for (const [index, { step, status }] of inputs.entries()) {
		if (!step || typeof step !== 'object' || typeof step.action !== 'string') throw new LedgerInputError('The item has no plan step (the output of Plan)', index);
		const code = typeof status === 'string' ? status : '';
		if (step.action === 'skip') {
			results.push({ recorded: 'skipped' });
			continue;
		}
		if (step.action === 'invite' && step.upgradeRows !== undefined) {
			results.push(await recordUpgradeInvite(ledger, step, code, index, now));
			continue;
		}
		const [row] = await ledger.resolveKeys(
			[
				ledger.grantRow({
					event: step.event,
					scope: step.scope,
					subject: step.subject,
					ticket: step.ticket,
					userId: step.action === 'report' ? null : step.userId,
					orderCode: step.orderCode,
				}),
			],
			[step.subject],
		);
		const settle = (kind: 'complete' | 'fail' | 'release', outcome: 'invited' | 'invalid' | 'failed' | null, reason: string | null, retryable = false, retryAt = 0) =>
			ledger.backend.settle([row], { kind, outcome, reason, retryable, retryAt, now, expiresAt: ledger.retentionFrom(now) });
		if (step.action === 'report') {
			if (code === 'sent') await settle('complete', 'invalid', step.invalidReason ?? 'invalid');
			else await settle('release', null, null);
			results.push({ recorded: code === 'sent' ? 'reported' : 'unreported' });
			continue;
		}
		if (step.action === 'invite') {
			if (INVITE_OK.has(code)) {
				let reason = code;
				if (code !== 'invited' && row.mxid && !step.ours) {
					// "Already there" is our doing only when another live grant of ours explains it (and
					// that one was ours); otherwise the membership existed before any ticket granted it.
					const others = (await grantsOfPerson(ledger, step.scope, row.mxid, step.userId, now)).filter((g) => keyOf(g) !== keyOf(row) && isLive(g, now));
					if (others.length === 0 || others.some(isPreexisting)) reason = PREEXISTING;
				}
				// Carried over from an upgraded room where it predated any ticket: it still does.
				if (step.preexisting === true) reason = PREEXISTING;
				await settle('complete', 'invited', reason);
				results.push({ recorded: 'invited' });
			} else if (INVITE_RETRY.has(code)) {
				await settle('fail', 'failed', code, true, code === 'serverUnreachable' ? now + UNREACHABLE_BACKOFF_MS : 0);
				results.push({ recorded: 'retry' });
			} else {
				await settle('fail', 'failed', /^[A-Za-z0-9_.:-]{1,100}$/.test(code) ? code : 'unknown');
				results.push({ recorded: 'failed' });
			}
			continue;
		}
		// withdraw
		if (WITHDRAW_DONE.has(code)) {
			await ledger.backend.transition([row], { fromStates: ['claimed'], toState: 'retry', toOutcome: 'withdrawn', toReason: code, leaseUntil: 0, now });
			// A new grant of the same person and room that was settled while we withdrew was told
			// "already invited" by our own pending invite: make it claimable so it is invited again.
			const raced = (await grantsOfPerson(ledger, step.scope, row.mxid, step.userId, now)).filter(
				(g) => keyOf(g) !== keyOf(row) && g.state === 'done' && (g.outcome === 'invited' || g.outcome === 'accepted'),
			);
			if (raced.length) {
				await ledger.backend.transition(raced, { fromStates: ['done'], fromOutcomes: ['invited', 'accepted'], toState: 'retry', toReason: 'reinviteAfterWithdraw', leaseUntil: 0, now });
			}
			results.push({ recorded: 'withdrawn', reinviteQueued: raced.length > 0 || undefined });
		} else {
			// Not withdrawn (no power, server down): the grant stays, so the next run tries again.
			await ledger.backend.transition([row], { fromStates: ['claimed'], toState: 'done', toReason: /^[A-Za-z0-9_.:-]{1,80}$/.test(code) ? `withdrawFailed:${code}` : 'withdrawFailed', leaseUntil: 0, now });
			results.push({ recorded: 'stillGranted' });
		}
	}
	return results;
}

/**
 * Room upgrades (issue 18): after Ledger.moveRoom, the grants that were live in the old room are
 * owed in the replacement room. This invites each person who had access there — a live ticket
 * grant, invited or accepted; not a withdrawn ticket, not someone merely present — once:
 *   - the owed rows are claimed in one atomic step (retry → claimed, per row; a tombstone seen
 *     twice or by two workers finds them claimed or done and plans nothing);
 *   - a person with several grants in the room (two tickets, two events) gets one step;
 *   - the Matrix ID comes from the row's seal (the only place the ledger keeps it readable);
 *     rows it cannot unseal stay owed, for a batch that knows the ID from pretix.
 * A webhook or batch that reaches an owed row first invites the person itself (Plan reclaims it).
 */
export interface UpgradeInvitePlan {
	/** One invite step per person (userId set), to go through Matrix Invite and Record. */
	steps: TicketStep[];
	/** Owed grants whose Matrix ID the ledger cannot name (left owed for a batch). */
	unnamed: number;
	/** Owed grants another run holds or retries later (left to it). */
	inProgress: number;
}

/** The ticket grants of a room, for the events mapped to it (every backend lists a room's rows per event). */
async function grantsOfRoom(ledger: Ledger, input: unknown, now: number): Promise<{ room: string; rows: GrantRow[] }> {
	const room = textOf(input, 'room', 0);
	if (!room.startsWith('!')) throw new LedgerInputError('The room must be a room ID (!…:server)');
	const events = [...new Set((await ledger.listMappings({ room })).map((m) => m.event))].sort();
	const rows: GrantRow[] = [];
	for (const event of events) rows.push(...(await ledger.backend.grants({ event, scope: room }, now)).filter((r) => r.ticket !== null && isGrantRow(r)));
	return { room, rows };
}

/** How many people are owed an invite into an upgraded room's replacement (reads only). */
export async function countUpgradeOwed(ledger: Ledger, room: unknown): Promise<number> {
	const { rows } = await grantsOfRoom(ledger, room, ledger.time());
	return new Set(rows.filter(isOwedAfterUpgrade).map((r) => r.mxid ?? r.subject)).size;
}

export async function planUpgradeInvites(ledger: Ledger, input: { room: unknown; leaseSeconds: number }): Promise<UpgradeInvitePlan> {
	const now = ledger.time();
	const leaseUntil = now + Math.round(input.leaseSeconds * 1000);
	const { room, rows } = await grantsOfRoom(ledger, input.room, now);
	// Rows of the upgrade still under way: owed, or claimed (by a planner like this one, or a batch).
	const upgrading = rows.filter((r) => (r.outcome === 'invited' || r.outcome === 'accepted') && (r.reason === UPGRADE_OWED || r.reason === UPGRADE_OWED_PREEXISTING) && r.state !== 'done');
	// A claim whose lease ran out (its run died) is left to the batch, whose claim takes it over
	// atomically; re-taking it here could let two planners both win it.
	const ready = upgrading.filter((r) => isOwedAfterUpgrade(r) && r.leaseUntil <= now);
	const named = ready.map((row) => ({ row, userId: ledger.unseal(row.sealed) })).filter((n): n is { row: GrantRow; userId: string } => n.userId !== null);
	named.sort((a, b) => keyOf(a.row).localeCompare(keyOf(b.row)));
	// One call for all rows: a concurrent planner wins all of a person's rows or none of them.
	const won = named.length
		? await ledger.backend.transition(named.map((n) => n.row), {
				fromStates: ['retry'],
				fromOutcomes: ['invited', 'accepted'],
				toState: 'claimed',
				leaseUntil,
				now,
			})
		: [];
	const byPerson = new Map<string, Array<{ row: GrantRow; userId: string }>>();
	named.forEach((n, i) => {
		if (!won[i]) return;
		const person = ledger.matrixIdHash(n.userId);
		byPerson.set(person, [...(byPerson.get(person) ?? []), n]);
	});
	const steps: TicketStep[] = [...byPerson.values()].map((grants) => ({
		action: 'invite',
		reason: UPGRADE_OWED,
		event: grants[0].row.event,
		ticket: '',
		room,
		userId: grants[0].userId,
		orderCode: null,
		access: 'granted',
		accessReason: null,
		scope: room,
		subject: '',
		upgradeRows: grants.map(({ row }) => ({ event: row.event, subject: row.subject, preexisting: row.reason === UPGRADE_OWED_PREEXISTING })),
	}));
	return { steps, unnamed: ready.length - named.length, inProgress: upgrading.length - ready.length + (named.length - won.filter(Boolean).length) };
}

/** Settles the rows of one upgrade re-invite from what Matrix Invite answered. */
async function recordUpgradeInvite(ledger: Ledger, step: TicketStep, code: string, index: number, now: number): Promise<RecordResult> {
	const rows = step.upgradeRows;
	if (!Array.isArray(rows) || rows.length === 0 || typeof step.scope !== 'string' || !step.scope.startsWith('!')) {
		throw new LedgerInputError('The room-upgrade step has no ledger rows (the output of Plan Upgrade Invites)', index);
	}
	const keyOfRow = (r: unknown): StoredKey & { preexisting: boolean } => {
		const row = r as { event?: unknown; subject?: unknown; preexisting?: unknown };
		if (typeof row?.event !== 'string' || typeof row.subject !== 'string' || row.subject.length > 200 || row.event.length > 200) {
			throw new LedgerInputError('A ledger row of the room-upgrade step is not readable', index);
		}
		return { event: row.event, scope: step.scope, subject: row.subject, preexisting: row.preexisting === true };
	};
	const keys = rows.map(keyOfRow);
	const transition = (subset: StoredKey[], to: { toState: 'done' | 'retry'; toOutcome?: 'invited' | 'failed'; toReason: string; leaseUntil?: number }) =>
		subset.length ? ledger.backend.transition(subset, { fromStates: ['claimed'], leaseUntil: to.leaseUntil ?? 0, now, toState: to.toState, toOutcome: to.toOutcome, toReason: to.toReason }) : Promise.resolve([]);
	const plain = keys.filter((k) => !k.preexisting);
	const preexisting = keys.filter((k) => k.preexisting);
	if (INVITE_OK.has(code)) {
		// Our invite (or the person's own follow of the tombstone) made this membership: a later
		// revocation withdraws it — unless it predated any ticket in the old room.
		await transition(plain, { toState: 'done', toOutcome: 'invited', toReason: code });
		await transition(preexisting, { toState: 'done', toOutcome: 'invited', toReason: PREEXISTING });
		return { recorded: 'invited' };
	}
	if (INVITE_RETRY.has(code)) {
		// Still owed: the next upgrade run, batch or webhook invites the person.
		const retryAt = code === 'serverUnreachable' ? now + UNREACHABLE_BACKOFF_MS : 0;
		await transition(plain, { toState: 'retry', toReason: UPGRADE_OWED, leaseUntil: retryAt });
		await transition(preexisting, { toState: 'retry', toReason: UPGRADE_OWED_PREEXISTING, leaseUntil: retryAt });
		return { recorded: 'retry' };
	}
	await transition(keys, { toState: 'done', toOutcome: 'failed', toReason: /^[A-Za-z0-9_.:-]{1,100}$/.test(code) ? code : 'unknown' });
	return { recorded: 'failed' };
}

export interface RunEntry {
	step: TicketStep | undefined;
	/** What Record said (RecordResult.recorded), when the step went through Record. */
	recorded?: unknown;
	/** The ticket's number inside its order (for the organizers' list). */
	positionNumber?: unknown;
}

export interface TicketRunSummary {
	/** Distinct tickets the run looked at. */
	tickets: number;
	invited: number;
	/** Invited before (by an earlier run, a webhook or a batch). */
	alreadyInvited: number;
	withdrawn: number;
	/** A revoked ticket whose person keeps the room through another ticket or an earlier membership. */
	kept: number;
	/** Unpaid, awaiting approval, not yet valid: nothing happens until they are. */
	pending: number;
	/** Tickets with an unusable Matrix ID (reported now or earlier). */
	invalid: number;
	/** Steps another run is doing, or waiting for a retry (e.g. an unreachable homeserver). */
	inProgress: number;
	/** Tickets of products no room is mapped to. */
	noRooms: number;
	failed: number;
	/** For the organizers' room only: which tickets have an unusable Matrix ID, by order code. */
	invalidTickets: Array<{ orderCode: string | null; position: number | null; reason: string | null }>;
	failedTickets: Array<{ orderCode: string | null; position: number | null; reason: string }>;
}

/** Counts what a run of Plan → Matrix → Record did, for a reply; lists only order codes, never IDs. */
export function summarizeTicketRun(entries: RunEntry[]): TicketRunSummary {
	const summary: TicketRunSummary = { tickets: 0, invited: 0, alreadyInvited: 0, withdrawn: 0, kept: 0, pending: 0, invalid: 0, inProgress: 0, noRooms: 0, failed: 0, invalidTickets: [], failedTickets: [] };
	const tickets = new Set<string>();
	const invalid = new Set<string>();
	for (const { step, recorded, positionNumber } of entries) {
		if (!step || typeof step !== 'object' || typeof step.action !== 'string') continue;
		const ticketKey = `${step.event}\u0000${step.ticket}`;
		tickets.add(ticketKey);
		const position = Number.isInteger(Number(positionNumber)) && positionNumber !== null && positionNumber !== '' ? Number(positionNumber) : null;
		const fail = (reason: string) => {
			summary.failed++;
			summary.failedTickets.push({ orderCode: step.orderCode, position, reason });
		};
		if (step.action === 'invite') {
			if (recorded === 'invited') summary.invited++;
			else if (recorded === 'retry' || recorded === 'failed') fail(`invite:${recorded}`);
		} else if (step.action === 'withdraw') {
			if (recorded === 'withdrawn') summary.withdrawn++;
			else if (recorded === 'stillGranted') fail('withdraw:notDone');
		} else if (step.action === 'report' || step.reason === 'alreadyReported' || step.reason === 'invalidMatrixId') {
			if (!invalid.has(ticketKey)) {
				invalid.add(ticketKey);
				summary.invalid++;
				summary.invalidTickets.push({ orderCode: step.orderCode, position, reason: step.invalidReason ?? null });
			}
			if (step.action === 'report' && recorded === 'unreported') fail('report:notSent');
		} else if (step.reason.startsWith('already:')) summary.alreadyInvited++;
		else if (step.reason === 'coveredByOtherTicket' || step.reason === 'membershipNotGranted') summary.kept++;
		else if (step.reason === 'ticketPending') summary.pending++;
		else if (step.reason === 'inProgress' || step.reason.startsWith('backoff:')) summary.inProgress++;
		else if (step.reason === 'noRooms') summary.noRooms++;
	}
	summary.tickets = tickets.size;
	return summary;
}

/**
 * Adds up the summaries of the chunks of one run (each from summarizeTicketRun over its own
 * tickets; a ticket's steps never span two chunks, so counts add up exactly). Items that are not
 * summaries are ignored.
 */
export function combineTicketSummaries(parts: unknown[]): TicketRunSummary {
	const total: TicketRunSummary = { tickets: 0, invited: 0, alreadyInvited: 0, withdrawn: 0, kept: 0, pending: 0, invalid: 0, inProgress: 0, noRooms: 0, failed: 0, invalidTickets: [], failedTickets: [] };
	const counts = ['tickets', 'invited', 'alreadyInvited', 'withdrawn', 'kept', 'pending', 'invalid', 'inProgress', 'noRooms', 'failed'] as const;
	for (const part of parts) {
		const summary = part as Partial<TicketRunSummary> | null;
		if (!summary || typeof summary !== 'object' || typeof summary.tickets !== 'number' || !Array.isArray(summary.failedTickets)) continue;
		for (const key of counts) total[key] += Number(summary[key]) || 0;
		if (Array.isArray(summary.invalidTickets)) total.invalidTickets.push(...summary.invalidTickets);
		total.failedTickets.push(...summary.failedTickets);
	}
	return total;
}

export interface SeatInput {
	/** Ledger event key, e.g. `<organizer>/<event>`. */
	event: unknown;
	/** The pretix position id. */
	ticket: unknown;
	orderCode?: unknown;
	access: unknown;
	/** The parent position when the ticket is an add-on (it goes with its parent). */
	addonTo?: unknown;
	/** Whether pretix already has a usable Matrix ID for the ticket (such seats are taken last). */
	answered?: unknown;
}

export type SeatStatus =
	/** The sender now holds this seat. */
	| 'claimed'
	/** The sender held it already (claimed before, or invited with this ID). */
	| 'alreadyYours'
	/** moveSeat: the seat went from another account to the sender. */
	| 'moved'
	/** Another account holds every seat of the order the sender could take. */
	| 'takenByOther'
	/** The ticket no longer grants access (canceled, expired, blocked). */
	| 'noAccess'
	/** Not yet: unpaid, awaiting approval, not valid yet. */
	| 'pending'
	/** Another seat of the order went to the sender; this one stays as it is. */
	| 'notChosen';

export interface SeatResult {
	status: SeatStatus;
}

export interface ClaimOptions {
	/** A seat another account holds moves to the sender (the other account's invite is withdrawn by Plan). Default: refused. */
	moveSeat?: boolean;
}

/**
 * One account per seat: the sender claims one seat of an order they proved they hold (the order's
 * secret). Among the order's tickets that grant access, the sender keeps a seat they hold already,
 * else takes the first free one (tickets without a usable pretix answer first), with its add-ons.
 * A seat is held by the account that claimed it, or else by the Matrix ID its live grants were
 * given to. Claims are ledger rows (`#claim`, the ID sealed): the first of two accounts claiming a
 * free seat at once wins it. Returns one result per input, in order.
 */
export async function claimSeats(ledger: Ledger, inputs: SeatInput[], userId: unknown, options: ClaimOptions = {}): Promise<SeatResult[]> {
	const sender = textOf(userId, 'Matrix ID of the sender', 0, 255);
	const own = new Set(ledger.matrixIdHashes(sender));
	const seats = inputs.map((input, index) => {
		if (!input || typeof input !== 'object') throw new LedgerInputError('Each item needs a ticket', index);
		const access = input.access;
		if (access !== 'granted' && access !== 'pending' && access !== 'revoked') throw new LedgerInputError('The access must be granted, pending or revoked (the Pretix nodes set it)', index);
		return {
			index,
			event: textOf(input.event, 'event', index, 200),
			ticket: textOf(input.ticket, 'ticket (position id)', index, 100),
			orderCode: optional(input.orderCode),
			access: access as TicketAccess,
			addonTo: optional(input.addonTo),
			answered: input.answered === true,
		};
	});
	const results: SeatResult[] = seats.map((seat) => ({ status: seat.access === 'revoked' ? 'noAccess' : seat.access === 'pending' ? 'pending' : 'notChosen' }));
	const now = ledger.time();
	const hashes = [...new Set(seats.flatMap((seat) => ledger.ticketHashes(seat.ticket)))];
	const rows = hashes.length ? await ledger.backend.grants({ tickets: hashes }, now) : [];
	const rowsOf = (seat: (typeof seats)[number]) => {
		const mine = new Set(ledger.ticketHashes(seat.ticket));
		return rows.filter((row) => row.ticket !== null && mine.has(row.ticket) && row.event === seat.event);
	};
	/** 'sender', 'other' or null (free). */
	const holderOf = (seat: (typeof seats)[number]): 'sender' | 'other' | null => {
		const ticketRows = rowsOf(seat);
		const claim = ticketRows.find((row) => row.scope === CLAIM_SCOPE && row.state === 'done');
		if (claim) return claim.mxid && own.has(claim.mxid) ? 'sender' : 'other';
		const live = ticketRows.filter((row) => isGrantRow(row) && grantsRoom(row));
		if (live.length === 0) return null;
		return live.every((row) => row.mxid && own.has(row.mxid)) ? 'sender' : 'other';
	};
	// Parents only: add-ons follow the seat they belong to.
	const parents = seats.filter((seat) => seat.access === 'granted' && !(seat.addonTo && seats.some((other) => other.ticket === seat.addonTo)));
	const write = async (seat: (typeof seats)[number], exclusive: boolean): Promise<boolean> => {
		const row = ledger.grantRow({ event: seat.event, scope: CLAIM_SCOPE, subject: `claim:${seat.ticket}`, ticket: seat.ticket, userId: sender, orderCode: seat.orderCode });
		const [resolved] = await ledger.resolveKeys([row], [`claim:${seat.ticket}`]);
		if (exclusive) {
			const [claim] = await ledger.backend.claim([resolved], { now, leaseUntil: now + 60_000, expiresAt: ledger.retentionFrom(now) });
			if (claim.status !== 'new' && claim.status !== 'reclaimed') return false;
		}
		await ledger.backend.settle([resolved], { kind: 'complete', outcome: null, reason: 'claimed', retryable: false, now, expiresAt: ledger.retentionFrom(now) });
		return true;
	};
	const chosen = async (seat: (typeof seats)[number], status: SeatStatus) => {
		results[seat.index] = { status };
		for (const addon of seats.filter((other) => other.addonTo === seat.ticket && other.access === 'granted')) {
			if (status !== 'alreadyYours') await write(addon, false);
			results[addon.index] = { status };
		}
	};
	const holders = parents.map((seat) => ({ seat, holder: holderOf(seat) }));
	const held = holders.find((h) => h.holder === 'sender');
	if (held) {
		await chosen(held.seat, 'alreadyYours');
		return results;
	}
	const free = holders.filter((h) => h.holder === null).sort((a, b) => Number(a.seat.answered) - Number(b.seat.answered));
	for (const { seat } of free) {
		if (await write(seat, true)) {
			await chosen(seat, 'claimed');
			return results;
		}
		// Another account won this seat a moment ago: try the next one.
	}
	const taken = holders.filter((h) => h.holder === 'other');
	if (taken.length && options.moveSeat) {
		await write(taken[0].seat, false);
		await chosen(taken[0].seat, 'moved');
		return results;
	}
	for (const { seat } of holders) results[seat.index] = { status: 'takenByOther' };
	for (const seat of seats) if (seat.addonTo && results[seat.index].status === 'notChosen' && seat.access === 'granted') results[seat.index] = { status: 'takenByOther' };
	return results;
}
