/**
 * The command listener with matrix-js-sdk really syncing against the fake homeserver.
 * (Under jest the ESM-only SDK needs NODE_OPTIONS=--experimental-vm-modules.)
 */
import {
	CommandListener,
	type CommandEvent,
	type ListenerOptions,
	type ListenerState,
} from '../../../lib/matrix/listener';
import { trackHandles } from '../../fakes/matrix/handles';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, 20));
	}
}

describe('CommandListener', () => {
	let hs: FakeHomeserver;
	let bot: ReturnType<FakeHomeserver['createUser']>;
	let mod: ReturnType<FakeHomeserver['createUser']>;
	let guest: ReturnType<FakeHomeserver['createUser']>;
	let roomId: string;
	const listeners: CommandListener[] = [];

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		bot = hs.createUser('bot');
		mod = hs.createUser('mod');
		guest = hs.createUser('guest');
		roomId = hs.createRoom({
			creator: mod.userId,
			members: [bot.userId, guest.userId],
			alias: '#orga:localhost',
		});
		hs.setPowerLevel(roomId, mod.userId, 50);
	});
	afterEach(async () => {
		for (const l of listeners.splice(0)) await l.close();
		await hs.stop();
	});

	async function listen(options: Partial<ListenerOptions> = {}) {
		const emitted: CommandEvent[] = [];
		const states: ListenerState[] = [];
		const listener = new CommandListener({
			homeserverUrl: hs.url,
			accessToken: bot.accessToken,
			onCommand: (c) => void emitted.push(c),
			onState: (s) => void states.push(s),
			...options,
		});
		listeners.push(listener);
		await listener.start();
		expect(await listener.waitUntilPrepared(10_000)).toBe(true);
		return { listener, emitted, states };
	}

	test('emits each permitted command once and ignores everything else', async () => {
		hs.say(mod.userId, roomId, '!status from before the start', { ts: Date.now() - 60_000 });
		const { emitted, states } = await listen({ replyToRefused: true, helpOnUnknown: true });
		const editTarget = hs.say(mod.userId, roomId, 'hello');
		hs.say(mod.userId, roomId, '!purge', { replaces: editTarget });
		hs.say(mod.userId, roomId, '!stats', { msgtype: 'm.notice' });
		hs.say(mod.userId, roomId, 'just chatting');
		hs.say(mod.userId, roomId, `!${'x'.repeat(10_000)}`);
		hs.say(mod.userId, roomId, '!');
		hs.say(mod.userId, roomId, '!frobnicate now');
		hs.say(guest.userId, roomId, '!purge everything');
		hs.say(guest.userId, roomId, '!stats'); // refused again: no second refusal notice
		const wanted = hs.say(mod.userId, roomId, '!batchinvite #room:localhost "two words" 3');
		await until(() => emitted.length >= 1);
		await until(
			() =>
				hs.timeline(roomId, 'm.room.message').filter((e) => e.sender === bot.userId).length >= 2,
		);
		expect(emitted).toEqual([
			{
				command: 'batchinvite',
				args: ['#room:localhost', 'two words', '3'],
				text: '#room:localhost "two words" 3',
				roomId,
				sender: mod.userId,
				role: 'moderator',
				moderatorLevel: 50,
				eventId: wanted,
				timestamp: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
			},
		]);
		const replies = hs.timeline(roomId, 'm.room.message').filter((e) => e.sender === bot.userId);
		expect(replies.map((e) => e.content.body)).toEqual([
			expect.stringContaining('Unknown command. Available commands: !status'),
			'Sorry, you are not allowed to use bot commands here.',
		]);
		expect(
			replies.every(
				(e) =>
					e.content.msgtype === 'm.notice' &&
					(e.content['m.relates_to'] as any)['m.in_reply_to'].event_id,
			),
		).toBe(true);
		// matrix-js-sdk's sync and the listener's own requests identify the package alike.
		const agents = new Set(hs.requests().map((r) => r.userAgent));
		expect(hs.requests().some((r) => r.path.endsWith('/sync'))).toBe(true);
		expect([...agents]).toEqual([expect.stringMatching(/^n8n-nodes-pretix-matrix\/\d+\.\d+\.\d+/)]);
		// spec "User and room mentions": the listener's own replies ping nobody either.
		expect(replies.map((e) => e.content['m.mentions'])).toEqual([{}, {}]);
		// Its own notices never loop back in, and state carries the sync token and seen ids.
		await new Promise((r) => setTimeout(r, 200));
		expect(emitted).toHaveLength(1);
		expect(
			hs.timeline(roomId, 'm.room.message').filter((e) => e.sender === bot.userId),
		).toHaveLength(2);
		const last = states[states.length - 1];
		expect(last.syncToken).toMatch(/^s\d+$/);
		expect(last.seenEventIds).toContain(wanted);
	});

	test('allowlist mode and a room filter', async () => {
		const other = hs.createRoom({ creator: mod.userId, members: [bot.userId, guest.userId] });
		const { emitted } = await listen({
			permissionMode: 'allowlist',
			allowlist: [guest.userId],
			rooms: ['#orga:localhost'],
		});
		hs.say(mod.userId, roomId, '!status');
		hs.say(guest.userId, other, '!status');
		const ok = hs.say(guest.userId, roomId, '!help');
		await until(() => emitted.length >= 1);
		await new Promise((r) => setTimeout(r, 200));
		expect(emitted.map((e) => [e.command, e.eventId])).toEqual([['help', ok]]);
	});

	test('spec appendix (matrix.to, Matrix URI scheme): the room filter takes room links; a user link is ignored with an ID-free warning', async () => {
		const other = hs.createRoom({ creator: mod.userId, members: [bot.userId, guest.userId] });
		const third = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		hs.setPowerLevel(other, mod.userId, 50);
		hs.setPowerLevel(third, mod.userId, 50);
		const errors: string[] = [];
		const { emitted } = await listen({
			rooms: [
				'https://matrix.to/#/%23orga%3Alocalhost?via=localhost',
				`matrix:roomid/${other.slice(1)}?via=localhost`,
				`https://matrix.to/#/${mod.userId}`,
			],
			onError: (error) => void errors.push(error.message),
		});
		const inAlias = hs.say(mod.userId, roomId, '!status');
		const inId = hs.say(mod.userId, other, '!status');
		hs.say(mod.userId, third, '!status');
		await until(() => emitted.length >= 2);
		await new Promise((r) => setTimeout(r, 200));
		expect(emitted.map((e) => e.eventId).sort()).toEqual([inAlias, inId].sort());
		expect(errors).toEqual(['A room in the room filter is ignored: The link points to a user, not to a room']);
	});

	test('after a restart, seen event ids stop a replayed command (the sync token resumes)', async () => {
		const first = await listen();
		const tokenBefore = first.states[first.states.length - 1].syncToken;
		const command = hs.say(mod.userId, roomId, '!status');
		await until(() => first.emitted.length === 1);
		const persisted = first.states[first.states.length - 1];
		await first.listener.close();
		// Replay: resume from the token *before* the command, as Synapse's stale cache would.
		const startOfFirst = Date.now() - 60_000;
		const replayState = { ...persisted, syncToken: tokenBefore };
		const second = await listen({ state: replayState, now: () => startOfFirst });
		const fresh = hs.say(mod.userId, roomId, '!stats');
		await until(() => second.emitted.length >= 1);
		await new Promise((r) => setTimeout(r, 200));
		expect(second.emitted.map((e) => e.eventId)).toEqual([fresh]);
		// Control: without the seen ids the same replay would have emitted the old command.
		const third = await listen({
			state: { ...replayState, seenEventIds: [] },
			now: () => startOfFirst,
		});
		await until(() => third.emitted.length >= 2);
		expect(third.emitted.map((e) => e.eventId)).toEqual([command, fresh]);
	});

	// Templates split the commands between listeners (status-reply: status, stats, help; invite
	// codes: invitecode; …): only the listener of a command may refuse it, else one typed command
	// would draw a refusal from every listener with replyToRefused.
	test('a listener refuses only its own commands: another listener\'s command from a guest draws no notice', async () => {
		const { emitted } = await listen({ commands: ['status', 'stats', 'help'], replyToRefused: true, helpOnUnknown: false });
		const botNotices = () => hs.timeline(roomId, 'm.room.message').filter((e) => e.sender === bot.userId);
		hs.say(guest.userId, roomId, '!claim https://pretix.example/org/ev/order/ABC12/secret/');
		hs.say(guest.userId, roomId, '!batchinvite');
		const own = hs.say(guest.userId, roomId, '!status');
		await until(() => botNotices().length >= 1);
		await new Promise((r) => setTimeout(r, 400));
		expect(botNotices()).toHaveLength(1);
		expect((botNotices()[0].content['m.relates_to'] as any)['m.in_reply_to'].event_id).toBe(own);
		// Nobody else touched: the moderator's own command still runs, other commands emit nothing.
		const mine = hs.say(mod.userId, roomId, '!stats');
		hs.say(mod.userId, roomId, '!claim x');
		await until(() => emitted.length >= 1);
		await new Promise((r) => setTimeout(r, 300));
		expect(emitted.map((e) => [e.command, e.eventId])).toEqual([['stats', mine]]);
	});

	test('a refusal answered 429 is retried after retry_after_ms and posted once; only delivered refusals silence the next', async () => {
		const errors: string[] = [];
		await listen({ replyToRefused: true, onError: (e) => void errors.push(e.message) });
		const botNotices = () =>
			hs.timeline(roomId, 'm.room.message').filter((e) => e.sender === bot.userId);
		hs.failNext(2, {
			status: 429,
			path: /\/send\//,
			body: { errcode: 'M_LIMIT_EXCEEDED', error: 'Too Many Requests', retry_after_ms: 150 },
		});
		const first = hs.say(guest.userId, roomId, '!purge');
		await until(() => botNotices().length === 1);
		expect((botNotices()[0].content['m.relates_to'] as any)['m.in_reply_to'].event_id).toBe(first);
		const sends = hs.requests().filter((r) => /\/send\//.test(r.path));
		expect(sends.map((r) => r.status)).toEqual([429, 429, 200]);
		// Delivered: the next refusal within the minute stays silent.
		hs.say(guest.userId, roomId, '!stats');
		await new Promise((r) => setTimeout(r, 400));
		expect(botNotices()).toHaveLength(1);
		// A refusal that could not be delivered (403: the bot may not post) does not count.
		const other = hs.createUser('other');
		hs.setMembership(roomId, other.userId, 'join');
		hs.failNext(1, {
			status: 403,
			path: /\/send\//,
			body: { errcode: 'M_FORBIDDEN', error: 'no' },
		});
		hs.say(other.userId, roomId, '!purge');
		await until(() =>
			errors.some((e) =>
				/A reply could not be delivered \(homeserver answered 403 M_FORBIDDEN\)/.test(e),
			),
		);
		const again = hs.say(other.userId, roomId, '!purge');
		await until(() => botNotices().length === 2);
		expect((botNotices()[1].content['m.relates_to'] as any)['m.in_reply_to'].event_id).toBe(again);
		expect(errors.join('\n')).not.toMatch(/@|!/);
	});

	test('spec "Threading": commands in a thread carry its root, and the listener\'s own replies stay in the thread', async () => {
		const { emitted } = await listen({ replyToRefused: true, helpOnUnknown: true });
		const root = hs.say(mod.userId, roomId, 'Questions about the event');
		const refused = hs.say(guest.userId, roomId, '!purge', { thread: root });
		const unknown = hs.say(mod.userId, roomId, '!frobnicate', { thread: root });
		const known = hs.say(mod.userId, roomId, '!status', { thread: root });
		await until(() => emitted.length === 1);
		expect(emitted[0]).toMatchObject({ eventId: known, threadId: root });
		const replies = () => hs.timeline(roomId, 'm.room.message').filter((e) => e.sender === bot.userId);
		await until(() => replies().length === 2);
		const thread = (answered: string) => ({
			rel_type: 'm.thread',
			event_id: root,
			is_falling_back: true,
			'm.in_reply_to': { event_id: answered },
		});
		expect(replies().map((e) => e.content['m.relates_to'])).toEqual(
			expect.arrayContaining([thread(refused), thread(unknown)]),
		);
	});

	test('a help reply through 502s is retried within the budget and posted once', async () => {
		await listen({ helpOnUnknown: true });
		hs.failNext(3, { status: 502, path: /\/send\// });
		hs.say(mod.userId, roomId, '!frobnicate');
		await until(() => hs.timeline(roomId, 'm.room.message').some((e) => e.sender === bot.userId));
		await new Promise((r) => setTimeout(r, 200));
		const replies = hs.timeline(roomId, 'm.room.message').filter((e) => e.sender === bot.userId);
		expect(replies.map((e) => String(e.content.body).slice(0, 16))).toEqual(['Unknown command.']);
	});

	test('commands typed while down: run after the restart when young, answered once as missed when old, never twice', async () => {
		const first = await listen();
		await first.listener.close();
		const persisted = first.states[first.states.length - 1];
		expect(persisted.syncToken).toBeTruthy();
		const minutes = (n: number) => Date.now() - n * 60_000;
		const young = hs.say(mod.userId, roomId, '!status', { ts: minutes(2) });
		const old = hs.say(mod.userId, roomId, '!stats', { ts: minutes(30) });
		hs.say(mod.userId, roomId, '!frobnicate', { ts: minutes(30) }); // unknown and old: nothing
		const second = await listen({ state: persisted, helpOnUnknown: true });
		const botNotices = () =>
			hs.timeline(roomId, 'm.room.message').filter((e) => e.sender === bot.userId);
		await until(() => second.emitted.length === 1 && botNotices().length === 1);
		await new Promise((r) => setTimeout(r, 300));
		expect(second.emitted.map((e) => e.eventId)).toEqual([young]);
		expect(
			botNotices().map((e) => [
				e.content.body,
				(e.content['m.relates_to'] as any)['m.in_reply_to'].event_id,
			]),
		).toEqual([
			[
				'This command was missed while the bot was offline (older than 10 minutes); please repeat it.',
				old,
			],
		]);
		// Another restart from the state the second listener persisted: nothing is run or answered again.
		await second.listener.close();
		const third = await listen({
			state: second.states[second.states.length - 1],
			helpOnUnknown: true,
		});
		await new Promise((r) => setTimeout(r, 500));
		expect(third.emitted).toEqual([]);
		expect(botNotices()).toHaveLength(1);
	});

	test('Max Command Age is configurable; a fresh start (no sync token) still skips history', async () => {
		const first = await listen();
		await first.listener.close();
		const persisted = first.states[first.states.length - 1];
		const typed = hs.say(mod.userId, roomId, '!status', { ts: Date.now() - 2 * 60_000 });
		const fresh = await listen();
		await new Promise((r) => setTimeout(r, 400));
		expect(fresh.emitted).toEqual([]);
		await fresh.listener.close();
		const strict = await listen({ state: persisted, maxCommandAgeMs: 60_000 });
		await until(() => hs.timeline(roomId, 'm.room.message').some((e) => e.sender === bot.userId));
		expect(strict.emitted).toEqual([]);
		const notice = hs.timeline(roomId, 'm.room.message').find((e) => e.sender === bot.userId)!;
		expect(notice.content.body).toBe(
			'This command was missed while the bot was offline (older than 1 minutes); please repeat it.',
		);
		expect((notice.content['m.relates_to'] as any)['m.in_reply_to'].event_id).toBe(typed);
	});

	test('reconnects when the homeserver goes down and comes back', async () => {
		const errors: string[] = [];
		const { emitted } = await listen({ onError: (e) => void errors.push(e.message) });
		await hs.setDown('refuse');
		await new Promise((r) => setTimeout(r, 1_500));
		await hs.setDown(false);
		const eventId = hs.say(mod.userId, roomId, '!status');
		await until(() => emitted.length === 1, 25_000);
		expect(emitted[0].eventId).toBe(eventId);
		expect(errors).toEqual(['Lost the connection to the homeserver; reconnecting']);
	}, 40_000);

	test('waits with backoff for a homeserver that is down at start; close() during the wait is clean', async () => {
		await hs.setDown('refuse');
		const errors: string[] = [];
		const emitted: CommandEvent[] = [];
		const listener = new CommandListener({
			homeserverUrl: hs.url,
			accessToken: bot.accessToken,
			onCommand: (c) => void emitted.push(c),
			onError: (e) => void errors.push(e.message),
		});
		listeners.push(listener);
		const started = listener.start();
		await new Promise((r) => setTimeout(r, 1_200));
		await hs.setDown(false);
		await started;
		expect(await listener.waitUntilPrepared(10_000)).toBe(true);
		hs.say(mod.userId, roomId, '!status');
		await until(() => emitted.length === 1);
		expect(errors[0]).toBe('The homeserver is not reachable yet; retrying with backoff');
		await listener.close();

		await hs.setDown('refuse');
		const handles = trackHandles();
		const waiting = new CommandListener({
			homeserverUrl: hs.url,
			accessToken: bot.accessToken,
			onCommand: () => undefined,
		});
		const pending = waiting.start();
		await new Promise((r) => setTimeout(r, 300));
		await waiting.close();
		await expect(pending).rejects.toThrow('closed before it connected');
		expect(await handles.settled()).toEqual([]);
		handles.stop();
		await hs.setDown(false);
	}, 30_000);

	test('auto-joins only rooms a bot admin invited it to: a creator of their own room is nobody (issue 12, attack 1)', async () => {
		const { listener } = await listen({ autoJoin: true, allowlist: [mod.userId] });
		const fromAdmin = hs.createRoom({ creator: mod.userId });
		// The outsider creates a room (power 100 there) and invites the bot.
		const fromOutsider = hs.createRoom({ creator: guest.userId });
		hs.setMembership(fromAdmin, bot.userId, 'invite', { sender: mod.userId });
		hs.setMembership(fromOutsider, bot.userId, 'invite', { sender: guest.userId });
		await until(() => hs.membership(fromAdmin, bot.userId) === 'join');
		await new Promise((r) => setTimeout(r, 300));
		expect(hs.membership(fromOutsider, bot.userId)).toBe('invite');
		expect(listener.ownUserId).toBe(bot.userId);
	});

	test('roles: a bot admin anywhere, a moderator only where they are one, nobody else (issue 12)', async () => {
		const admin = hs.createUser('admin');
		const other = hs.createRoom({ creator: bot.userId, members: [mod.userId, guest.userId], powerLevels: { users: { [bot.userId]: 100, [guest.userId]: 50 } } });
		hs.setMembership(roomId, admin.userId, 'join');
		const { emitted } = await listen({ allowlist: [admin.userId] });
		// The room's moderator, the moderator of another room, and a bot admin type in this room.
		hs.say(mod.userId, roomId, '!status');
		hs.say(guest.userId, roomId, '!status');
		hs.say(admin.userId, roomId, '!status');
		// In the other room the roles swap: guest moderates it, mod does not.
		hs.say(mod.userId, other, '!status');
		hs.say(guest.userId, other, '!status');
		await until(() => emitted.length === 3);
		await new Promise((r) => setTimeout(r, 500));
		expect(emitted.map((c) => [c.roomId === roomId ? 'this' : 'other', c.sender, c.role]).sort()).toEqual(
			[
				['other', guest.userId, 'moderator'],
				['this', admin.userId, 'admin'],
				['this', mod.userId, 'moderator'],
			].sort(),
		);
	});

	test('a bad token is refused at start; close leaves no timers or sockets', async () => {
		const bad = new CommandListener({
			homeserverUrl: hs.url,
			accessToken: 'syt_nope',
			onCommand: () => undefined,
		});
		await expect(bad.start()).rejects.toThrow(/401 M_UNKNOWN_TOKEN/);
		const handles = trackHandles();
		const { listener, emitted } = await listen();
		hs.say(mod.userId, roomId, '!status');
		await until(() => emitted.length === 1);
		await listener.close();
		await hs.stop();
		expect(await handles.settled()).toEqual([]);
		handles.stop();
		hs = await startFakeHomeserver({ rateLimits: false });
	});
});
