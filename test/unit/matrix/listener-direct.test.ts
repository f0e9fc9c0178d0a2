/**
 * The listener's `directMessages` option (self-service commands), with matrix-js-sdk syncing
 * against the fake homeserver: direct-message invites from anyone are joined (the invite carries
 * `is_direct`, as Synapse's handlers/room.py `create_room` puts it on invites of an `is_direct`
 * room), anyone may command the bot where it is alone with them, and nowhere else.
 */
import { CommandListener, type CommandEvent, type ListenerOptions } from '../../../lib/matrix/listener';
import { startFakeHomeserver, type FakeHomeserver } from '../../fakes/matrix';

async function until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
	const deadline = Date.now() + timeoutMs;
	while (!check()) {
		if (Date.now() > deadline) throw new Error('condition not reached in time');
		await new Promise((r) => setTimeout(r, 20));
	}
}

describe('CommandListener with directMessages', () => {
	let hs: FakeHomeserver;
	let bot: ReturnType<FakeHomeserver['createUser']>;
	let attendee: ReturnType<FakeHomeserver['createUser']>;
	const listeners: CommandListener[] = [];

	beforeEach(async () => {
		hs = await startFakeHomeserver({ rateLimits: false });
		bot = hs.createUser('bot');
		attendee = hs.createUser('attendee');
	});
	afterEach(async () => {
		for (const l of listeners.splice(0)) await l.close();
		await hs.stop();
	});

	async function listen(options: Partial<ListenerOptions> = {}) {
		const emitted: CommandEvent[] = [];
		const listener = new CommandListener({ homeserverUrl: hs.url, accessToken: bot.accessToken, commands: ['claim'], onCommand: (c) => void emitted.push(c), ...options });
		listeners.push(listener);
		await listener.start();
		expect(await listener.waitUntilPrepared(10_000)).toBe(true);
		return emitted;
	}

	/** The attendee opens a DM as Element does: createRoom with is_direct and the bot invited. */
	async function openDirectMessage(): Promise<string> {
		const response = await fetch(`${hs.url}/_matrix/client/v3/createRoom`, {
			method: 'POST',
			headers: { Authorization: `Bearer ${attendee.accessToken}`, 'Content-Type': 'application/json' },
			body: JSON.stringify({ is_direct: true, invite: [bot.userId], preset: 'trusted_private_chat' }),
		});
		return ((await response.json()) as { room_id: string }).room_id;
	}

	test('joins a direct-message invite from anyone and takes their commands there, as role member, direct', async () => {
		const emitted = await listen({ directMessages: true });
		const dm = await openDirectMessage();
		expect(hs.timeline(dm).find((e) => e.type === 'm.room.member' && e.state_key === bot.userId)?.content).toMatchObject({ membership: 'invite', is_direct: true });
		await until(() => hs.membership(dm, bot.userId) === 'join');
		// Not even a moderator of their own DM: only the direct-message rule lets the attendee in.
		hs.setPowerLevel(dm, attendee.userId, 0);
		hs.say(attendee.userId, dm, '!claim ABC12 secret');
		await until(() => emitted.length === 1);
		expect(emitted[0]).toMatchObject({ command: 'claim', args: ['ABC12', 'secret'], sender: attendee.userId, roomId: dm, role: 'member', direct: true });
	});

	test('a room with a third member is no direct message: the attendee is refused there; commands of moderators say direct: false', async () => {
		const mod = hs.createUser('mod');
		const group = hs.createRoom({ creator: mod.userId, members: [bot.userId, attendee.userId] });
		hs.setPowerLevel(group, mod.userId, 50);
		const emitted = await listen({ directMessages: true, replyToRefused: true });
		hs.say(attendee.userId, group, '!claim ABC12 secret');
		await until(() => hs.timeline(group, 'm.room.message').some((e) => e.sender === bot.userId));
		expect(emitted).toEqual([]);
		hs.say(mod.userId, group, '!claim XYZ98 other');
		await until(() => emitted.length === 1);
		expect(emitted[0]).toMatchObject({ sender: mod.userId, role: 'moderator', direct: false });
	});

	test('an event room where only the sender and the bot have joined is no DM: it has an alias (or is public)', async () => {
		const mod = hs.createUser('mod');
		const eventRoom = hs.createRoom({ creator: mod.userId, alias: '#summit:localhost', members: [bot.userId] });
		const open = hs.createRoom({ creator: mod.userId, preset: 'public_chat', members: [bot.userId] });
		const emitted = await listen({ directMessages: true });
		hs.say(mod.userId, eventRoom, '!claim A B');
		hs.say(mod.userId, open, '!claim C D');
		await until(() => emitted.length === 2);
		expect(emitted.map((c) => [c.args[0], c.role, c.direct])).toEqual([
			['A', 'moderator', false],
			['C', 'moderator', false],
		]);
	});

	test('without the option: no join of a stranger\'s DM invite, and no direct flag on commands', async () => {
		await listen({ autoJoin: true });
		const dm = await openDirectMessage();
		// Give the listener time to see (and ignore) the invite.
		await new Promise((r) => setTimeout(r, 1500));
		expect(hs.membership(dm, bot.userId)).toBe('invite');
		const mod = hs.createUser('mod');
		const room = hs.createRoom({ creator: mod.userId, members: [bot.userId] });
		hs.setPowerLevel(room, mod.userId, 50);
		const emitted = await listen({});
		hs.say(mod.userId, room, '!claim A B');
		await until(() => emitted.length === 1);
		expect('direct' in emitted[0]).toBe(false);
	});

	test('a non-direct invite from a stranger is not joined even with the option', async () => {
		await listen({ directMessages: true });
		const room = hs.createRoom({ creator: attendee.userId });
		hs.setMembership(room, bot.userId, 'invite', { sender: attendee.userId });
		await new Promise((r) => setTimeout(r, 1500));
		expect(hs.membership(room, bot.userId)).toBe('invite');
	});
});
