import Redis, { type RedisOptions } from 'ioredis';

import { toGrantRow, toHeldRow, transitionFrom, type LedgerRowRecord } from './sql';
import {
	addCounts,
	countRow,
	EMPTY_COUNTS,
	LedgerBackendError,
	networkProblem,
	type BackendClaimResult,
	type ClaimTiming,
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
 * Redis backend for several n8n processes. Each batch chunk is one Lua script, so every key's
 * check-and-mark is atomic; chunks travel in one pipeline. Keys (under the configured prefix):
 *   r:<event>:<scope>:<subjectHash>  hash  one ledger row
 *   e:<event>                        set   row keys of the event     events  set  events
 *   ps:/pm:/po:/pt:<hash>            set   row keys per subject / Matrix-ID / order-code / ticket hash
 *   c:<event> hash cursors · s:<event> hash summary counts · maps hash room mappings
 * Event and scope are percent-encoded so `:` cannot break the layout. Scripts build keys from the
 * prefix, so this targets a standalone Redis (not Redis Cluster).
 */

export interface RedisStoreOptions {
	url?: string;
	host?: string;
	port?: number;
	username?: string;
	password?: string;
	db?: number;
	tls?: boolean;
	keyPrefix?: string;
	connectTimeoutMs?: number;
}

const CHUNK = 500;
/** Natively expiring rows a day after their retention time, in case no sweep ever runs. */
const BACKSTOP_MS = 24 * 3600 * 1000;

const LUA_INDEX = `
local function index(prefix, key, ev, subj, mx, od, tk, sl)
	redis.call('SADD', prefix .. 'e:' .. ev, key)
	redis.call('SADD', prefix .. 'events', ev)
	redis.call('SADD', prefix .. 'ps:' .. subj, key)
	if mx ~= '' then
		redis.call('HSET', key, 'm', mx)
		redis.call('SADD', prefix .. 'pm:' .. mx, key)
	end
	if od ~= '' then
		redis.call('HSET', key, 'o', od)
		redis.call('SADD', prefix .. 'po:' .. od, key)
	end
	if tk ~= '' then
		redis.call('HSET', key, 't', tk)
		redis.call('SADD', prefix .. 'pt:' .. tk, key)
	end
	if sl ~= '' then redis.call('HSET', key, 'sl', sl) end
end
local function retain(key, exp, backstop)
	if exp ~= '' then
		redis.call('HSET', key, 'ex', exp)
		redis.call('PEXPIREAT', key, tonumber(exp) + backstop)
	else
		redis.call('HDEL', key, 'ex')
		redis.call('PERSIST', key)
	end
end
`;

const LUA_CLAIM = `${LUA_INDEX}
local prefix, now, lease, exp, backstop = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4], tonumber(ARGV[5])
local out = {}
local n = (#ARGV - 5) / 7
for k = 0, n - 1 do
	local b = 6 + k * 7
	local ev, sc, subj, mx, od, tk, sl = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6]
	local key = prefix .. 'r:' .. ev .. ':' .. sc .. ':' .. subj
	local row = redis.call('HMGET', key, 'st', 'lu', 'ex', 'at', 'oc', 'rs')
	local st = row[1]
	local fresh = not st
	if st and row[3] and tonumber(row[3]) <= now then fresh = true end
	if fresh or ((st == 'retry' or st == 'claimed') and tonumber(row[2] or 0) <= now) then
		local attempts = 1
		if fresh then
			redis.call('DEL', key)
			redis.call('HSET', key, 'ca', now)
		else
			attempts = tonumber(row[4]) + 1
			redis.call('HDEL', key, 'oc', 'rs')
		end
		redis.call('HSET', key, 'st', 'claimed', 'lu', lease, 'at', attempts, 'ua', now)
		retain(key, exp, backstop)
		index(prefix, key, ev, subj, mx, od, tk, sl)
		if fresh then out[k + 1] = { 'new', attempts, '', '' } else out[k + 1] = { 'reclaimed', attempts, '', '' } end
	else
		local status = 'leased'
		if st == 'done' then status = 'done' end
		out[k + 1] = { status, tonumber(row[4]), row[5] or '', row[6] or '' }
	end
end
return out
`;

const LUA_SETTLE = `${LUA_INDEX}
local prefix, kind, state, outcome, reason, now, exp, backstop, retryAt = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], tonumber(ARGV[6]), ARGV[7], tonumber(ARGV[8]), ARGV[9]
local changed = 0
local n = (#ARGV - 9) / 7
for k = 0, n - 1 do
	local b = 10 + k * 7
	local ev, sc, subj, mx, od, tk, sl = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5], ARGV[b + 6]
	local key = prefix .. 'r:' .. ev .. ':' .. sc .. ':' .. subj
	if kind == 'release' then
		if redis.call('HGET', key, 'st') == 'claimed' then
			redis.call('HSET', key, 'lu', 0, 'ua', now)
			changed = changed + 1
		end
	else
		local cur = redis.call('HMGET', key, 'st', 'oc', 'ex')
		local expired = cur[3] and tonumber(cur[3]) <= now
		local oc = outcome
		if (not cur[1]) or expired then
			redis.call('DEL', key)
			redis.call('HSET', key, 'at', 1, 'ca', now)
		elseif cur[2] == 'accepted' and outcome == 'invited' then
			oc = 'accepted'
		end
		redis.call('HSET', key, 'st', state, 'oc', oc, 'lu', retryAt, 'ua', now)
		if reason ~= '' then redis.call('HSET', key, 'rs', reason) else redis.call('HDEL', key, 'rs') end
		retain(key, exp, backstop)
		index(prefix, key, ev, subj, mx, od, tk, sl)
		changed = changed + 1
	end
end
return changed
`;

/** Deletes rows (all given, or only expired ones) and adds their counts to the event summary. */
const LUA_DELETE = `
local prefix, now, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local deleted = 0
local n = (#ARGV - 3) / 3
for k = 0, n - 1 do
	local b = 4 + k * 3
	local key, ev, subj = ARGV[b], ARGV[b + 1], ARGV[b + 2]
	local row = redis.call('HMGET', key, 'st', 'oc', 'ex', 'm', 'o', 't')
	if row[1] then
		if mode == 'all' or (row[3] and tonumber(row[3]) <= now) then
			local s = prefix .. 's:' .. ev
			redis.call('HINCRBY', s, 'seen', 1)
			if row[2] == 'invited' or row[2] == 'accepted' then redis.call('HINCRBY', s, 'invited', 1) end
			if row[2] == 'accepted' then redis.call('HINCRBY', s, 'accepted', 1) end
			if row[2] == 'invalid' then redis.call('HINCRBY', s, 'invalid', 1) end
			if row[2] == 'failed' then redis.call('HINCRBY', s, 'failed', 1) end
			if row[2] == 'withdrawn' then redis.call('HINCRBY', s, 'withdrawn', 1) end
			redis.call('DEL', key)
			redis.call('SREM', prefix .. 'e:' .. ev, key)
			redis.call('SREM', prefix .. 'ps:' .. subj, key)
			if row[4] then redis.call('SREM', prefix .. 'pm:' .. row[4], key) end
			if row[5] then redis.call('SREM', prefix .. 'po:' .. row[5], key) end
			if row[6] then redis.call('SREM', prefix .. 'pt:' .. row[6], key) end
			deleted = deleted + 1
		end
	else
		redis.call('SREM', prefix .. 'e:' .. ev, key)
		redis.call('SREM', prefix .. 'ps:' .. subj, key)
	end
end
return deleted
`;

/**
 * A Transition: ARGV = prefix, now, toState, leaseUntil, setOutcome (0/1), toOutcome, setReason
 * (0/1), toReason, states (comma list), outcomes (comma list, '-' for none, '' = any), then
 * (event, scope, subject) triples. Returns 1/0 per row.
 */
const LUA_TRANSITION = `
local prefix, now, toState, lease = ARGV[1], tonumber(ARGV[2]), ARGV[3], ARGV[4]
local setOutcome, toOutcome, setReason, toReason = ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local states, outcomes = {}, nil
for s in string.gmatch(ARGV[9], '[^,]+') do states[s] = true end
if ARGV[10] ~= '' then
	outcomes = {}
	for o in string.gmatch(ARGV[10], '[^,]+') do outcomes[o] = true end
end
local out = {}
local n = (#ARGV - 10) / 3
for k = 0, n - 1 do
	local b = 11 + k * 3
	local key = prefix .. 'r:' .. ARGV[b] .. ':' .. ARGV[b + 1] .. ':' .. ARGV[b + 2]
	local row = redis.call('HMGET', key, 'st', 'oc', 'ex')
	local ok = row[1] and states[row[1]]
	if ok and row[3] and tonumber(row[3]) <= now then ok = false end
	if ok and outcomes then ok = outcomes[row[2] or '-'] end
	if ok then
		redis.call('HSET', key, 'st', toState, 'lu', lease, 'ua', now)
		if setOutcome == '1' then
			if toOutcome ~= '' then redis.call('HSET', key, 'oc', toOutcome) else redis.call('HDEL', key, 'oc') end
		end
		if setReason == '1' then
			if toReason ~= '' then redis.call('HSET', key, 'rs', toReason) else redis.call('HDEL', key, 'rs') end
		end
		out[k + 1] = 1
	else
		out[k + 1] = 0
	end
end
return out
`;

/**
 * A room upgrade: ARGV = prefix, old scope, new scope (both encoded), now, the two owed reasons
 * (UPGRADE_OWED, UPGRADE_OWED_PREEXISTING), then (old field, new field, new value) triples of the
 * old room's mappings. Live ticket grants become owed in the new room (see LedgerBackend.moveRoom). Rows have no per-room index, so the script walks
 * every event's row set: one atomic pass (a rare organizer action, not a hot path). A row already
 * under the new room's key stays and the old one goes (see sqlite.ts). Returns { mappings, rows }.
 */
const LUA_MOVE_ROOM = `
local prefix, oldSc, newSc, now, owed, owedPre = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6]
local maps = prefix .. 'maps'
local mappings, rows = 0, 0
local n = (#ARGV - 6) / 3
for k = 0, n - 1 do
	local b = 7 + k * 3
	if redis.call('HEXISTS', maps, ARGV[b]) == 1 then
		redis.call('HSETNX', maps, ARGV[b + 1], ARGV[b + 2])
		redis.call('HDEL', maps, ARGV[b])
		mappings = mappings + 1
	end
end
for _, ev in ipairs(redis.call('SMEMBERS', prefix .. 'events')) do
	local head = prefix .. 'r:' .. ev .. ':'
	local oldHead = head .. oldSc .. ':'
	local evSet = prefix .. 'e:' .. ev
	for _, key in ipairs(redis.call('SMEMBERS', evSet)) do
		local subj = string.sub(key, #oldHead + 1)
		if string.sub(key, 1, #oldHead) == oldHead and not string.find(subj, ':', 1, true) then
			local row = redis.call('HMGET', key, 'st', 'm', 'o', 't', 'oc', 'rs')
			local newKey = head .. newSc .. ':' .. subj
			local sets = { evSet, prefix .. 'ps:' .. subj }
			if row[2] then table.insert(sets, prefix .. 'pm:' .. row[2]) end
			if row[3] then table.insert(sets, prefix .. 'po:' .. row[3]) end
			if row[4] then table.insert(sets, prefix .. 'pt:' .. row[4]) end
			for _, set in ipairs(sets) do redis.call('SREM', set, key) end
			if row[1] then
				if redis.call('HEXISTS', newKey, 'st') == 1 then
					redis.call('DEL', key)
				else
					-- RENAME keeps the row's native expiry (its retention backstop).
					redis.call('RENAME', key, newKey)
					if row[1] == 'done' and row[4] and (row[5] == 'invited' or row[5] == 'accepted') then
						local reason = owed
						if row[6] == 'preexisting' then reason = owedPre end
						redis.call('HSET', newKey, 'st', 'retry', 'lu', 0, 'ua', now, 'rs', reason)
					end
					for _, set in ipairs(sets) do redis.call('SADD', set, newKey) end
				end
				rows = rows + 1
			end
		end
	end
end
return { mappings, rows }
`;

type ScriptClient = Redis & {
	ledgerMoveRoom(...args: Array<string | number>): Promise<[number, number]>;
	ledgerTransition(...args: Array<string | number>): Promise<number[]>;
	ledgerClaim(...args: Array<string | number>): Promise<Array<[string, number, string, string]>>;
	ledgerSettle(...args: Array<string | number>): Promise<number>;
	ledgerDelete(...args: Array<string | number>): Promise<number>;
};

export class RedisBackend implements LedgerBackend {
	readonly kind = 'redis' as const;
	private client: ScriptClient | null = null;
	private readonly prefix: string;

	constructor(private readonly options: RedisStoreOptions) {
		this.prefix = options.keyPrefix ?? 'pretix-matrix:';
	}

	async init(): Promise<void> {
		if (this.client) return;
		let connected = false;
		const common: RedisOptions = {
			lazyConnect: true,
			connectionName: 'n8n-nodes-pretix-matrix',
			connectTimeout: this.options.connectTimeoutMs ?? 5000,
			maxRetriesPerRequest: 1,
			// The first connect fails fast (clear error, no timers left behind); once connected, a
			// dropped connection is retried in the background while commands fail fast.
			retryStrategy: (times) => (connected ? Math.min(times * 200, 2000) : null),
		};
		const client = (
			this.options.url
				? new Redis(this.options.url, common)
				: new Redis({
						...common,
						host: this.options.host ?? '127.0.0.1',
						port: this.options.port ?? 6379,
						username: this.options.username || undefined,
						password: this.options.password || undefined,
						db: this.options.db ?? 0,
						tls: this.options.tls ? {} : undefined,
					})
		) as ScriptClient;
		// Errors surface through the failing command; an unhandled 'error' event would crash n8n.
		// The last one is kept because a failed connect() only reports "Connection is closed".
		let lastError: unknown;
		client.on('error', (error) => (lastError = error));
		client.defineCommand('ledgerClaim', { numberOfKeys: 0, lua: LUA_CLAIM });
		client.defineCommand('ledgerSettle', { numberOfKeys: 0, lua: LUA_SETTLE });
		client.defineCommand('ledgerDelete', { numberOfKeys: 0, lua: LUA_DELETE });
		client.defineCommand('ledgerTransition', { numberOfKeys: 0, lua: LUA_TRANSITION });
		client.defineCommand('ledgerMoveRoom', { numberOfKeys: 0, lua: LUA_MOVE_ROOM });
		try {
			await client.connect();
			await client.ping();
			connected = true;
		} catch (error) {
			// After a refused first connect the client has already ended; disconnect() would arm a timer.
			if (client.status !== 'end') client.disconnect();
			const cause = wrap(lastError ?? error);
			throw cause.code === 'UNKNOWN' ? wrap(error) : cause;
		}
		this.client = client;
	}

	async ping(): Promise<void> {
		await this.run((client) => client.ping());
	}

	async close(): Promise<void> {
		const client = this.client;
		this.client = null;
		if (!client) return;
		try {
			await client.quit();
		} catch {
			client.disconnect();
		}
	}

	async claim(rows: StoredClaim[], timing: ClaimTiming): Promise<BackendClaimResult[]> {
		const header = [
			this.prefix,
			timing.now,
			timing.leaseUntil,
			timing.expiresAt ?? '',
			BACKSTOP_MS,
		];
		const replies = await this.pipelined(rows, (pipeline, chunk) =>
			(pipeline as unknown as ScriptClient).ledgerClaim(
				...header,
				...chunk.flatMap((row) => this.rowArgs(row)),
			),
		);
		return (replies as Array<Array<[string, number, string, string]>>)
			.flat()
			.map(([status, attempts, outcome, reason]) => ({
				status: status as BackendClaimResult['status'],
				attempts: Number(attempts),
				outcome: (outcome || null) as Outcome | null,
				reason: reason || null,
			}));
	}

	async settle(rows: StoredClaim[], settlement: Settlement): Promise<number> {
		const state = settlement.kind === 'fail' && settlement.retryable ? 'retry' : 'done';
		const header = [
			this.prefix,
			settlement.kind,
			state,
			settlement.outcome ?? '',
			settlement.reason ?? '',
			settlement.now,
			settlement.expiresAt ?? '',
			BACKSTOP_MS,
			state === 'retry' ? (settlement.retryAt ?? 0) : 0,
		];
		const replies = await this.pipelined(rows, (pipeline, chunk) =>
			(pipeline as unknown as ScriptClient).ledgerSettle(
				...header,
				...chunk.flatMap((row) => this.rowArgs(row)),
			),
		);
		return (replies as number[]).reduce((sum, n) => sum + Number(n), 0);
	}

	async setMapping(mapping: RoomMapping, now: number): Promise<boolean> {
		const field = mappingField(mapping);
		const created = await this.run((client) =>
			client.hsetnx(this.key('maps'), field, JSON.stringify({ ...mapping, createdAt: now })),
		);
		return created === 1;
	}

	async unsetMappings(filter: MappingFilter): Promise<number> {
		const matching = (await this.allMappings()).filter(([, mapping]) =>
			matchesFilter(mapping, filter),
		);
		if (matching.length === 0) return 0;
		return this.run((client) => client.hdel(this.key('maps'), ...matching.map(([field]) => field)));
	}

	async moveRoom(oldRoom: string, newRoom: string, now: number): Promise<RoomMove> {
		// Mapping fields are JSON built here (Lua's cjson escapes `/`, so the script cannot build
		// them); the script re-checks each old field, so a mapping removed meanwhile is not revived.
		const raw = await this.run((client) => client.hgetall(this.key('maps')));
		const triples: string[] = [];
		for (const value of Object.values(raw)) {
			const stored = JSON.parse(value) as RoomMapping & { createdAt?: number };
			if (stored.room !== oldRoom) continue;
			const mapping: RoomMapping = { event: stored.event, room: stored.room, item: stored.item ?? null, variation: stored.variation ?? null };
			const moved = { ...mapping, room: newRoom };
			triples.push(mappingField(mapping), mappingField(moved), JSON.stringify({ ...moved, createdAt: stored.createdAt }));
		}
		const [mappings, rows] = await this.run((client) =>
			client.ledgerMoveRoom(this.prefix, encode(oldRoom), encode(newRoom), now, UPGRADE_OWED, UPGRADE_OWED_PREEXISTING, ...triples),
		);
		return { mappings: Number(mappings), rows: Number(rows) };
	}

	async listMappings(filter: MappingFilter): Promise<RoomMapping[]> {
		return (await this.allMappings())
			.filter(([, mapping]) => matchesFilter(mapping, filter))
			.map(([, mapping]) => mapping);
	}

	async stats(event: string, now: number): Promise<EventStats> {
		const keys = await this.run((client) => client.smembers(this.key('e:', event)));
		const stats: EventStats = { event, ...EMPTY_COUNTS, held: 0 };
		for (let i = 0; i < keys.length; i += CHUNK * 4) {
			const chunk = keys.slice(i, i + CHUNK * 4);
			const rows = await this.run((client) => {
				const pipeline = client.pipeline();
				for (const key of chunk) pipeline.hmget(key, 'st', 'oc', 'ex');
				return pipeline.exec();
			});
			for (const [error, value] of rows ?? []) {
				if (error) throw wrap(error);
				const [state, outcome, expires] = value as Array<string | null>;
				if (!state || (expires && Number(expires) <= now)) continue;
				countRow(stats, state, outcome);
				stats.held += 1;
			}
		}
		const summary = await this.run((client) => client.hgetall(this.key('s:', event)));
		addCounts(stats, summary as Record<string, string>);
		return stats;
	}

	async getCursor(event: string, name: string): Promise<string | null> {
		return this.run((client) => client.hget(this.key('c:', event), name));
	}

	async setCursor(event: string, name: string, value: string): Promise<void> {
		await this.run((client) => client.hset(this.key('c:', event), name, value));
	}

	async purgeEvent(
		event: string,
		options: { mappings: boolean },
		now: number,
	): Promise<PurgeCounts> {
		const keys = await this.run((client) => client.smembers(this.key('e:', event)));
		const ledger = await this.deleteRows(keys, now, 'all');
		const cursors = await this.run(async (client) => {
			const count = await client.hlen(this.key('c:', event));
			await client.del(this.key('c:', event));
			return count;
		});
		await this.run(async (client) => {
			if ((await client.scard(this.key('e:', event))) === 0)
				await client.srem(this.key('events'), encode(event));
		});
		// The event's own mappings and those of its dates (`<event>/<date id>`, event series).
		const mappingFields = options.mappings
			? (await this.allMappings())
					.filter(([, m]) => m.event === event || m.event.startsWith(`${event}/`))
					.map(([field]) => field)
			: [];
		const mappings = mappingFields.length
			? await this.run((client) => client.hdel(this.key('maps'), ...mappingFields))
			: 0;
		return { ledger, cursors, mappings };
	}

	async forget(person: PersonHashes, now: number): Promise<number> {
		const rows = await this.personRows(person);
		return this.deleteRows(
			rows.map((row) => row.key),
			now,
			'all',
		);
	}

	async lookup(person: PersonHashes, now: number): Promise<HeldRow[]> {
		const rows = await this.personRows(person);
		return rows
			.filter((row) => row.record.expires_at === null || Number(row.record.expires_at) > now)
			.map((row) => toHeldRow(row.record, person))
			.sort((a, b) => a.event.localeCompare(b.event) || a.scope.localeCompare(b.scope));
	}

	async sweepExpired(now: number): Promise<number> {
		const events = await this.run((client) => client.smembers(this.key('events')));
		let deleted = 0;
		for (const encodedEvent of events) {
			const keys = await this.run((client) => client.smembers(`${this.prefix}e:${encodedEvent}`));
			deleted += await this.deleteRows(keys, now, 'expired');
		}
		return deleted;
	}

	async grants(query: GrantQuery, now: number): Promise<GrantRow[]> {
		// Start from the narrowest index the query names, then check every condition on the row.
		let indexes: string[];
		if (query.tickets !== undefined) indexes = query.tickets.map((hash) => this.key('pt:') + hash);
		else if (query.mxid !== undefined) indexes = [this.key('pm:') + query.mxid];
		else if (query.event !== undefined) indexes = [this.key('e:', query.event)];
		else throw new LedgerBackendError('A grants query needs an event, tickets or a Matrix ID', 'INVALID_QUERY');
		const tickets = query.tickets ? new Set(query.tickets) : undefined;
		return (await this.rowsOf(indexes))
			.map((row) => row.record)
			.filter(
				(record) =>
					(query.event === undefined || record.event === query.event) &&
					(query.scope === undefined || record.scope === query.scope) &&
					(query.mxid === undefined || record.mxid === query.mxid) &&
					(tickets === undefined || (record.ticket != null && tickets.has(record.ticket))) &&
					(record.expires_at === null || Number(record.expires_at) > now),
			)
			.map(toGrantRow)
			.sort((a, b) => a.event.localeCompare(b.event) || a.scope.localeCompare(b.scope) || a.subject.localeCompare(b.subject));
	}

	async existing(keys: StoredKey[], now: number): Promise<boolean[]> {
		if (keys.length === 0) return [];
		const replies = await this.run((client) => {
			const pipeline = client.pipeline();
			for (const key of keys) pipeline.hmget(`${this.prefix}r:${encode(key.event)}:${encode(key.scope)}:${key.subject}`, 'st', 'ex');
			return pipeline.exec();
		});
		return keys.map((_key, n) => {
			const [error, value] = replies?.[n] ?? [new Error('missing reply'), null];
			if (error) throw wrap(error);
			const [state, expires] = value as Array<string | null>;
			return !!state && !(expires && Number(expires) <= now);
		});
	}

	async transition(rows: StoredKey[], transition: Transition): Promise<boolean[]> {
		const from = transitionFrom(transition);
		const outcomes =
			from.outcomes === null ? '' : [...from.outcomes, ...(from.nullOutcome ? ['-'] : [])].join(',') || ',';
		const header = [
			this.prefix,
			transition.now,
			transition.toState,
			transition.leaseUntil,
			transition.toOutcome === undefined ? '0' : '1',
			transition.toOutcome ?? '',
			transition.toReason === undefined ? '0' : '1',
			transition.toReason ?? '',
			from.states.join(','),
			outcomes,
		];
		const replies = await this.pipelined(rows, (pipeline, chunk) =>
			(pipeline as unknown as ScriptClient).ledgerTransition(
				...header,
				...chunk.flatMap((row) => [encode(row.event), encode(row.scope), row.subject]),
			),
		);
		return (replies as number[][]).flat().map((n) => Number(n) === 1);
	}

	private async personRows(
		person: PersonHashes,
	): Promise<Array<{ key: string; record: LedgerRowRecord }>> {
		const indexes = [
			...person.mxid.map((hash) => this.key('pm:') + hash),
			...person.order.map((hash) => this.key('po:') + hash),
			...person.subject.map((hash) => this.key('ps:') + hash),
		];
		// Index sets may hold keys re-used by someone else after expiry: check the row itself.
		return (await this.rowsOf(indexes)).filter(
			({ record }) =>
				(person.events === undefined || person.events.includes(record.event)) &&
				((record.mxid !== null && person.mxid.includes(record.mxid)) ||
					(record.ord !== null && person.order.includes(record.ord)) ||
					person.subject.includes(record.subject)),
		);
	}

	/** The rows whose keys are in any of the given index sets, read in one pipeline. */
	private async rowsOf(indexes: string[]): Promise<Array<{ key: string; record: LedgerRowRecord }>> {
		const keys = indexes.length ? await this.run((client) => client.sunion(...indexes)) : [];
		const parsedKeys = keys.flatMap((key) => {
			const parsed = this.parseRowKey(key);
			return parsed ? [{ key, parsed }] : [];
		});
		if (parsedKeys.length === 0) return [];
		const hashes = await this.run((client) => {
			const pipeline = client.pipeline();
			for (const { key } of parsedKeys) pipeline.hgetall(key);
			return pipeline.exec();
		});
		const rows: Array<{ key: string; record: LedgerRowRecord }> = [];
		parsedKeys.forEach(({ key, parsed }, i) => {
			const [error, value] = hashes?.[i] ?? [new Error('missing reply'), null];
			if (error) throw wrap(error);
			const hash = value as Record<string, string>;
			if (!hash.st) return;
			rows.push({
				key,
				record: {
					event: parsed.event,
					scope: parsed.scope,
					subject: parsed.subject,
					mxid: hash.m ?? null,
					ord: hash.o ?? null,
					ticket: hash.t ?? null,
					sealed: hash.sl ?? null,
					lease_until: hash.lu ?? 0,
					state: hash.st,
					outcome: hash.oc ?? null,
					reason: hash.rs ?? null,
					attempts: hash.at ?? 0,
					created_at: hash.ca ?? 0,
					updated_at: hash.ua ?? 0,
					expires_at: hash.ex ?? null,
				},
			});
		});
		return rows;
	}

	private async deleteRows(keys: string[], now: number, mode: 'all' | 'expired'): Promise<number> {
		const args = keys.flatMap((key) => {
			const parsed = this.parseRowKey(key);
			return parsed ? [[key, encode(parsed.event), parsed.subject]] : [];
		});
		const replies = await this.pipelined(args, (pipeline, chunk) =>
			(pipeline as unknown as ScriptClient).ledgerDelete(this.prefix, now, mode, ...chunk.flat()),
		);
		return (replies as number[]).reduce((sum, n) => sum + Number(n), 0);
	}

	private parseRowKey(key: string): { event: string; scope: string; subject: string } | null {
		if (!key.startsWith(this.prefix + 'r:')) return null;
		const parts = key.slice(this.prefix.length + 2).split(':');
		if (parts.length !== 3) return null;
		try {
			return {
				event: decodeURIComponent(parts[0]),
				scope: decodeURIComponent(parts[1]),
				subject: parts[2],
			};
		} catch {
			return null;
		}
	}

	private rowArgs(row: StoredClaim): string[] {
		return [
			encode(row.event),
			encode(row.scope),
			row.subject,
			row.mxid ?? '',
			row.order ?? '',
			row.ticket ?? '',
			row.sealed ?? '',
		];
	}

	private async allMappings(): Promise<Array<[string, RoomMapping]>> {
		const all = await this.run((client) => client.hgetall(this.key('maps')));
		return Object.entries(all).map(([field, value]) => {
			const parsed = JSON.parse(value) as RoomMapping;
			return [
				field,
				{
					event: parsed.event,
					room: parsed.room,
					item: parsed.item ?? null,
					variation: parsed.variation ?? null,
				},
			];
		});
	}

	/** Runs one script per chunk of `items`, all chunks in one pipeline; returns the replies in order. */
	private async pipelined<T>(
		items: T[],
		add: (pipeline: ReturnType<Redis['pipeline']>, chunk: T[]) => unknown,
	): Promise<unknown[]> {
		if (items.length === 0) return [];
		const results = await this.run((client) => {
			const pipeline = client.pipeline();
			for (let i = 0; i < items.length; i += CHUNK) add(pipeline, items.slice(i, i + CHUNK));
			return pipeline.exec();
		});
		if (!results)
			throw new LedgerBackendError(
				'The Redis store dropped the batch (connection lost)',
				'ECONNRESET',
			);
		return results.map(([error, value]) => {
			if (error) throw wrap(error);
			return value;
		});
	}

	private key(kind: string, event?: string): string {
		return this.prefix + kind + (event === undefined ? '' : encode(event));
	}

	private async run<T>(work: (client: ScriptClient) => Promise<T>): Promise<T> {
		if (!this.client) throw new LedgerBackendError('The Redis store is closed', 'CLOSED');
		try {
			return await work(this.client);
		} catch (error) {
			throw wrap(error);
		}
	}
}

function encode(value: string): string {
	return encodeURIComponent(value);
}

function mappingField(mapping: RoomMapping): string {
	return JSON.stringify([mapping.room, mapping.event, mapping.item ?? '', mapping.variation ?? '']);
}

function matchesFilter(mapping: RoomMapping, filter: MappingFilter): boolean {
	if (filter.room !== undefined && mapping.room !== filter.room) return false;
	if (filter.event !== undefined && mapping.event !== filter.event) return false;
	if (filter.item !== undefined && mapping.item !== filter.item) return false;
	if (filter.variation !== undefined && mapping.variation !== filter.variation) return false;
	return true;
}

/** Codes only: Redis replies may echo arguments. */
function wrap(error: unknown): LedgerBackendError {
	if (error instanceof LedgerBackendError) return error;
	const err = error as { code?: string; message?: string; name?: string };
	const code = typeof err?.code === 'string' ? err.code : '';
	const message = err?.message ?? '';
	const network = networkProblem(code);
	if (network) return new LedgerBackendError(`The Redis store is unreachable (${network})`, code);
	if (
		err?.name === 'MaxRetriesPerRequestError' ||
		/Connection is closed|Stream isn't writeable|enableOfflineQueue/i.test(message)
	) {
		return new LedgerBackendError(
			'The Redis store is unreachable (connection closed)',
			'ECONNRESET',
		);
	}
	if (/^(NOAUTH|WRONGPASS)/.test(message))
		return new LedgerBackendError('Redis refused the login (NOAUTH/WRONGPASS)', 'AUTH');
	if (/timed? ?out/i.test(message))
		return new LedgerBackendError('The Redis store did not answer in time (timeout)', 'ETIMEDOUT');
	const redisCode = /^([A-Z]{3,})\b/.exec(message)?.[1];
	if (redisCode)
		return new LedgerBackendError(
			`The Redis store refused the operation (${redisCode})`,
			redisCode,
		);
	return new LedgerBackendError('The Redis store failed (unknown error)', 'UNKNOWN');
}
