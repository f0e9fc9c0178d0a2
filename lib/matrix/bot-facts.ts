/**
 * What a bot learns about itself and its rooms, kept across the executions of one n8n process so
 * that a burst of webhook runs (each an execution of its own, each inviting one attendee) does not
 * ask the homeserver the same questions every time: who the bot is (`/whoami`), which room an alias
 * names, and whether the bot is joined to a room with the power to invite.
 *
 * Only facts about the bot and its rooms are kept — never an attendee's Matrix ID or membership
 * (those are read per run) and no power-level content (its `users` map names people): a room entry
 * is the single bit "the bot could invite here", with the time it was read. Every fact expires
 * (BOT_FACT_TTL_MS); a stale one costs no correctness: an invite the server refuses because the bot
 * left or lost power is classified from the answer (`roomBlocked`) exactly as a pre-check would have
 * been, and the run then forgets the room.
 */

/** How long a fact about the bot or its rooms is trusted without reading it again. */
export const BOT_FACT_TTL_MS = 60_000;
/** A whole cache (one bot credential) unused for this long is dropped. */
export const BOT_FACTS_IDLE_MS = 10 * 60_000;

interface Fact<T> {
	value: T;
	readAt: number;
}

export class BotFacts {
	private me?: Fact<string>;
	private readonly aliases = new Map<string, Fact<string>>();
	private readonly mayInvite = new Map<string, Fact<true>>();

	constructor(
		private readonly now: () => number = Date.now,
		private readonly ttlMs = BOT_FACT_TTL_MS,
	) {}

	private fresh<T>(fact: Fact<T> | undefined): T | undefined {
		return fact && this.now() - fact.readAt < this.ttlMs ? fact.value : undefined;
	}

	/** The bot's own user ID, if read recently. */
	self(): string | undefined {
		return this.fresh(this.me);
	}

	rememberSelf(userId: string): void {
		this.me = { value: userId, readAt: this.now() };
	}

	roomIdOf(alias: string): string | undefined {
		const roomId = this.fresh(this.aliases.get(alias));
		if (roomId === undefined) this.aliases.delete(alias);
		return roomId;
	}

	rememberAlias(alias: string, roomId: string): void {
		this.aliases.set(alias, { value: roomId, readAt: this.now() });
	}

	/** The bot was joined to the room with enough power to invite, a moment ago. */
	botMayInvite(roomId: string): boolean {
		const known = this.fresh(this.mayInvite.get(roomId)) === true;
		if (!known) this.mayInvite.delete(roomId);
		return known;
	}

	rememberBotMayInvite(roomId: string): void {
		this.mayInvite.set(roomId, { value: true, readAt: this.now() });
	}

	/** The server refused the bot in the room (not joined, no power): read it again next time. */
	forgetRoom(roomId: string): void {
		this.mayInvite.delete(roomId);
		for (const [alias, fact] of this.aliases) if (fact.value === roomId) this.aliases.delete(alias);
	}

	/** The token was rejected: nothing learned under it holds. */
	forgetAll(): void {
		this.me = undefined;
		this.aliases.clear();
		this.mayInvite.clear();
	}
}

const shared = new Map<string, { facts: BotFacts; usedAt: number }>();

/**
 * The facts runs with this key (bot credential and homeserver) share in this process, like the
 * invite scheduler (`sharedScheduler`): a fresh cache after BOT_FACTS_IDLE_MS unused.
 */
export function sharedBotFacts(key: string, at = Date.now()): BotFacts {
	for (const [k, entry] of shared) if (at - entry.usedAt > BOT_FACTS_IDLE_MS) shared.delete(k);
	let entry = shared.get(key);
	if (!entry) {
		entry = { facts: new BotFacts(), usedAt: at };
		shared.set(key, entry);
	}
	entry.usedAt = at;
	return entry.facts;
}
